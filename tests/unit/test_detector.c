// SPDX-License-Identifier: MIT
/* Detector: windows, boundaries, emergencies, modes, consumption, reload. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "detect/detector.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define T0 (1000 * SEC)               /* mono origin of every test */
#define WALL_OFF 1795459679000000000ULL /* wall = mono + WALL_OFF */

#define SMB2_CREATE 5
#define SMB2_READ 8
#define SMB2_WRITE 9

/* ---- collecting anomalies ---- */

#define MAX_SEEN 16

struct seen {
	int n;
	struct aod_anomaly a[MAX_SEEN];
};

static void collect(const struct aod_anomaly *a, void *ctx)
{
	struct seen *s = ctx;

	assert_true(s->n < MAX_SEEN);
	s->a[s->n++] = *a;
}

static bool feed(struct aod_detector *d, struct aod_event ev)
{
	return aod_detector_add(d, &ev);
}

static int eval(struct aod_detector *d, uint64_t now, struct seen *s)
{
	return aod_detector_evaluate(d, now, now + WALL_OFF, collect, s);
}

/* ---- events ---- */

static struct aod_event base(enum aod_event_kind kind, uint64_t mono, uint32_t pid,
			     const char *comm)
{
	struct aod_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.mono_ns = mono;
	ev.wall_ns = mono + WALL_OFF;
	ev.pid = pid;
	ev.tgid = pid;
	snprintf(ev.comm, sizeof(ev.comm), "%s", comm);
	return ev;
}

static struct aod_event smb_slow(uint64_t mono, unsigned cmd, uint64_t lat)
{
	struct aod_event ev = base(AOD_EVENT_SMB_SLOW, mono, 100 + cmd, "dd");

	ev.smb.cmd = (uint16_t)cmd;
	ev.smb.sesid = 0x1c00000001ULL;
	ev.smb.mid = mono / MS;
	ev.smb.tid = 1;
	ev.smb.latency_ns = lat;
	return ev;
}

static struct aod_event smb_err(uint64_t mono, unsigned cmd, uint32_t status, int32_t rc)
{
	struct aod_event ev = base(AOD_EVENT_SMB_ERR, mono, 200, "touch");

	ev.smb.cmd = (uint16_t)cmd;
	ev.smb.status = status;
	ev.smb.rc = rc;
	ev.smb.mid = mono / MS;
	return ev;
}

static struct aod_event blk_slow(uint64_t mono, const char *disk, uint32_t dev, uint64_t lat)
{
	struct aod_event ev = base(AOD_EVENT_BLK_SLOW, mono, 300, "fio");

	snprintf(ev.blk.disk, sizeof(ev.blk.disk), "%s", disk);
	ev.blk.dev = dev;
	ev.blk.op = 1;
	ev.blk.bytes = 4096;
	ev.blk.latency_ns = lat;
	return ev;
}

static struct aod_event blk_err(uint64_t mono, const char *disk, int32_t error)
{
	struct aod_event ev = blk_slow(mono, disk, 253 << 20, 0);

	ev.kind = AOD_EVENT_BLK_ERR;
	ev.blk.error = error;
	return ev;
}

/* ---- configs ---- */

static struct aod_config *new_config(void)
{
	struct aod_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	aod_config_defaults(cfg);
	cfg->watch_interval_sec = 1;
	cfg->nrules = 0;
	return cfg;
}

/* An SMB latency rule in mode all: every command at threshold_ms. */
static struct aod_rule *add_smb_latency(struct aod_config *cfg, const char *name,
					uint32_t acceptable, uint64_t threshold_ms)
{
	struct aod_rule *r = &cfg->rules[cfg->nrules++];

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->type = AOD_RULE_LATENCY;
	r->tool = AOD_TOOL_SMBSLOWER;
	r->source = AOD_SOURCE_SMB;
	r->mode = AOD_MODE_ALL;
	r->acceptable_count = acceptable;
	r->default_threshold_ns = threshold_ms * MS;
	r->emergency_threshold_ns = 1000 * MS;
	for (int i = 0; i < AOD_SMB_NCMDS_CFG; i++) {
		r->cmd_tracked[i] = true;
		r->cmd_threshold_ns[i] = threshold_ms * MS;
	}
	return r;
}

static struct aod_config *load_yaml(const char *rules)
{
	struct aod_config *cfg = calloc(1, sizeof(*cfg));
	struct aod_config_error err = { { 0 } };
	char yaml[4096];
	int rc;

	assert_non_null(cfg);
	snprintf(yaml, sizeof(yaml),
		 "watch_interval_sec: 1\naod_output_dir: /tmp/aod-test\n"
		 "guardian:\n  anomalies:\n%s", rules);
	rc = aod_config_load_buffer(cfg, "<test>", yaml, strlen(yaml), &err);
	if (rc)
		fail_msg("config did not load: %s\n%s", err.msg, yaml);
	return cfg;
}

/* ---- windows and counts ---- */

static void test_below_at_above(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector *d;
	struct seen s = { 0 };

	add_smb_latency(cfg, "latency", 3, 20);
	d = aod_detector_new(cfg);
	assert_non_null(d);

	feed(d, (struct aod_event){ .kind = 0 }); /* kind 0: never counts */
	assert_false(feed(d, smb_slow(T0 + 100 * MS, SMB2_WRITE, 30 * MS)));
	feed(d, smb_slow(T0 + 200 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(eval(d, T0 + 500 * MS, &s), 0); /* 2 < 3 */
	feed(d, smb_slow(T0 + 600 * MS, SMB2_READ, 20 * MS)); /* == threshold counts */
	feed(d, smb_slow(T0 + 650 * MS, SMB2_READ, 19 * MS)); /* below: not counted */
	assert_int_equal(eval(d, T0 + 900 * MS, &s), 1); /* 3 >= 3 */
	assert_int_equal(s.a[0].total, 3);
	assert_string_equal(s.a[0].rule, "latency");
	assert_int_equal(s.a[0].source, AOD_SOURCE_SMB);
	assert_int_equal(s.a[0].type, AOD_RULE_LATENCY);
	assert_false(s.a[0].emergency);
	assert_int_equal(s.a[0].acceptable_count, 3);

	/* above: 4 in one window */
	for (int i = 0; i < 4; i++)
		feed(d, smb_slow(T0 + 2 * SEC + i * MS, SMB2_WRITE, 50 * MS));
	assert_int_equal(eval(d, T0 + 2 * SEC + 500 * MS, &s), 1);
	assert_int_equal(s.a[1].total, 4);

	struct aod_detector_stats st;

	aod_detector_get_stats(d, &st);
	assert_int_equal(st.events_in, 9);
	assert_int_equal(st.events_counted, 7);
	assert_int_equal(st.anomalies, 2);
	assert_int_equal(st.events_dropped, 0);
	aod_detector_free(d);
	free(cfg);
}

static void test_count_boundary(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector *d;
	struct seen s = { 0 };

	add_smb_latency(cfg, "latency", 10, 20);
	d = aod_detector_new(cfg);
	for (int i = 0; i < 9; i++)
		feed(d, smb_slow(T0 + i * 10 * MS, SMB2_WRITE, 25 * MS));
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 0);
	feed(d, smb_slow(T0 + 150 * MS, SMB2_WRITE, 25 * MS));
	assert_int_equal(eval(d, T0 + 200 * MS, &s), 1);
	assert_int_equal(s.a[0].total, 10);
	assert_int_equal(s.a[0].nkeys, 1);
	assert_int_equal(s.a[0].keys[0].count, 10);
	aod_detector_free(d);
	free(cfg);
}

static void test_window_edges(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector *d;
	struct seen s = { 0 };
	uint64_t now = T0 + SEC;

	add_smb_latency(cfg, "latency", 2, 20);
	d = aod_detector_new(cfg);
	/* exactly now - W: outside (now - W, now] */
	feed(d, smb_slow(now - SEC, SMB2_WRITE, 30 * MS));
	/* exactly now: inside */
	feed(d, smb_slow(now, SMB2_WRITE, 30 * MS));
	assert_int_equal(eval(d, now, &s), 0);
	/* one ns after now - W: inside */
	feed(d, smb_slow(now - SEC + 1, SMB2_WRITE, 30 * MS));
	assert_int_equal(eval(d, now, &s), 1);
	assert_int_equal(s.a[0].total, 2);
	assert_int_equal(s.a[0].window_end_ns, now + WALL_OFF);
	assert_int_equal(s.a[0].window_start_ns, now - SEC + WALL_OFF);
	aod_detector_free(d);
	free(cfg);
}

static void test_old_events_pruned(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector *d;
	struct seen s = { 0 };

	add_smb_latency(cfg, "latency", 3, 20);
	d = aod_detector_new(cfg);
	feed(d, smb_slow(T0, SMB2_WRITE, 30 * MS));
	feed(d, smb_slow(T0 + 10 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(eval(d, T0 + 500 * MS, &s), 0);
	feed(d, smb_slow(T0 + 1500 * MS, SMB2_WRITE, 30 * MS));
	feed(d, smb_slow(T0 + 1600 * MS, SMB2_WRITE, 30 * MS));
	/* 4 counted in total, but only 2 within (now - 1 s, now] */
	assert_int_equal(eval(d, T0 + 1700 * MS, &s), 0);
	/* no evaluation in between: stale events still do not count */
	feed(d, smb_slow(T0 + 3000 * MS, SMB2_WRITE, 30 * MS));
	feed(d, smb_slow(T0 + 3100 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(eval(d, T0 + 3200 * MS, &s), 0);
	feed(d, smb_slow(T0 + 3150 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(eval(d, T0 + 3200 * MS, &s), 1);
	assert_int_equal(s.a[0].total, 3);
	aod_detector_free(d);
	free(cfg);
}

/* Events newer than now wait for their own evaluation; they are not consumed. */
static void test_future_events_kept(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector *d;
	struct seen s = { 0 };

	add_smb_latency(cfg, "latency", 2, 20);
	d = aod_detector_new(cfg);
	feed(d, smb_slow(T0 + 100 * MS, SMB2_WRITE, 30 * MS));
	feed(d, smb_slow(T0 + 200 * MS, SMB2_WRITE, 30 * MS));
	feed(d, smb_slow(T0 + 1200 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(eval(d, T0 + 500 * MS, &s), 1);
	assert_int_equal(s.a[0].total, 2);
	feed(d, smb_slow(T0 + 1300 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(eval(d, T0 + 1500 * MS, &s), 1);
	assert_int_equal(s.a[1].total, 2);
	aod_detector_free(d);
	free(cfg);
}

static void test_consumed_no_double_fire(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector *d;
	struct seen s = { 0 };

	add_smb_latency(cfg, "latency", 2, 20);
	d = aod_detector_new(cfg);
	feed(d, smb_slow(T0 + 100 * MS, SMB2_WRITE, 30 * MS));
	feed(d, smb_slow(T0 + 200 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(eval(d, T0 + 300 * MS, &s), 1);
	assert_int_equal(eval(d, T0 + 300 * MS, &s), 0);
	assert_int_equal(eval(d, T0 + 800 * MS, &s), 0);
	/* one more: the consumed two do not help it reach 2 */
	feed(d, smb_slow(T0 + 900 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(eval(d, T0 + 950 * MS, &s), 0);
	feed(d, smb_slow(T0 + 960 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(eval(d, T0 + 970 * MS, &s), 1);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.a[1].total, 2);
	aod_detector_free(d);
	free(cfg);
}

/* ---- emergencies ---- */

static void test_emergency_fires_at_once(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector *d;
	struct seen s = { 0 };
	struct aod_event ev;

	add_smb_latency(cfg, "latency", 999, 20);
	d = aod_detector_new(cfg);
	/* just below the emergency threshold: nothing */
	assert_false(feed(d, smb_slow(T0, SMB2_READ, 999 * MS)));
	assert_int_equal(aod_detector_evaluate_emergency(d, T0, T0 + WALL_OFF, collect, &s), 0);
	/* one op at 1.5 s */
	ev = smb_slow(T0 + 10 * MS, SMB2_WRITE, 1500 * MS);
	assert_true(aod_detector_add(d, &ev));
	assert_int_equal(aod_detector_evaluate_emergency(d, T0 + 10 * MS, T0 + 10 * MS + WALL_OFF,
							 collect, &s), 1);
	assert_int_equal(s.n, 1);
	assert_true(s.a[0].emergency);
	assert_int_equal(s.a[0].total, 2); /* whatever the window holds */
	assert_int_equal(s.a[0].emergency_threshold_ns, 1000 * MS);
	assert_int_equal(s.a[0].worst[0].smb.latency_ns, 1500 * MS);
	/* consumed: a regular evaluation finds nothing */
	assert_int_equal(eval(d, T0 + 500 * MS, &s), 0);
	/* exactly at the threshold is an emergency too */
	assert_true(feed(d, smb_slow(T0 + 600 * MS, SMB2_READ, 1000 * MS)));
	/* a regular evaluation also honours a pending emergency */
	assert_int_equal(eval(d, T0 + 700 * MS, &s), 1);
	assert_true(s.a[1].emergency);
	/* an emergency event stamped a little after "now" (another CPU's clock read) is included */
	assert_true(feed(d, smb_slow(T0 + 800 * MS, SMB2_READ, 2 * SEC)));
	assert_int_equal(aod_detector_evaluate_emergency(d, T0 + 790 * MS, T0 + 790 * MS + WALL_OFF,
							 collect, &s), 1);
	assert_int_equal(s.a[2].total, 1);
	assert_int_equal(s.a[2].window_end_ns, T0 + 800 * MS + WALL_OFF);
	aod_detector_free(d);
	free(cfg);
}

static void test_emergency_needs_counted_event(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector *d;
	struct aod_rule *r;

	r = add_smb_latency(cfg, "latency", 999, 20);
	r->cmd_tracked[SMB2_CREATE] = false;
	d = aod_detector_new(cfg);
	/* an untracked command, however slow, is no emergency */
	assert_false(feed(d, smb_slow(T0, SMB2_CREATE, 5 * SEC)));
	/* block events are not for an SMB rule */
	assert_false(feed(d, blk_slow(T0, "vda", 253 << 20, 5 * SEC)));
	aod_detector_free(d);
	free(cfg);
}

/* ---- the window cap ---- */

static void test_window_cap_dropped(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector_stats st;
	struct aod_detector *d;
	struct seen s = { 0 };
	uint32_t n = AOD_DETECTOR_WINDOW_CAP + 100;
	uint32_t sum = 0;

	add_smb_latency(cfg, "latency", 10, 20);
	d = aod_detector_new(cfg);
	for (uint32_t i = 0; i < n; i++)
		feed(d, smb_slow(T0 + i * 10000ULL, i % 2 ? SMB2_READ : SMB2_WRITE,
							 (30 + i % 7) * MS));
	/* the overflowed events carry the slowest one */
	feed(d, smb_slow(T0 + n * 10000ULL, SMB2_CREATE, 900 * MS));
	aod_detector_get_stats(d, &st);
	assert_int_equal(st.events_dropped, 101);
	assert_int_equal(eval(d, T0 + 900 * MS, &s), 1);
	assert_int_equal(s.a[0].total, n + 1);
	assert_int_equal(s.a[0].dropped, 101);
	for (uint32_t i = 0; i < s.a[0].nkeys; i++)
		sum += s.a[0].keys[i].count;
	assert_int_equal(sum, n + 1);
	assert_int_equal(s.a[0].worst[0].smb.latency_ns, 900 * MS);
	assert_int_equal(s.a[0].nworst, AOD_ANOMALY_WORST);
	/* all consumed, the ring is usable again */
	assert_int_equal(eval(d, T0 + 950 * MS, &s), 0);
	aod_detector_free(d);
	free(cfg);
}

/* A full ring makes room from events no future window can hold. */
static void test_window_cap_prunes_old(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector_stats st;
	struct aod_detector *d;
	struct seen s = { 0 };

	add_smb_latency(cfg, "latency", 100000, 20);
	d = aod_detector_new(cfg);
	for (uint32_t i = 0; i < AOD_DETECTOR_WINDOW_CAP; i++)
		feed(d, smb_slow(T0 + i, SMB2_WRITE, 30 * MS));
	for (uint32_t i = 0; i < AOD_DETECTOR_WINDOW_CAP; i++)
		feed(d, smb_slow(T0 + 2 * SEC + i, SMB2_WRITE, 30 * MS));
	aod_detector_get_stats(d, &st);
	assert_int_equal(st.events_dropped, 0);
	assert_int_equal(eval(d, T0 + 2 * SEC + 10 * MS, &s), 0);
	aod_detector_free(d);
	free(cfg);
}

/* ---- anomaly content ---- */

static void test_keys_and_worst_latency(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector *d;
	struct seen s = { 0 };
	struct aod_rule *r;
	const struct aod_anomaly *a;

	r = add_smb_latency(cfg, "latency", 5, 20);
	r->cmd_threshold_ns[SMB2_WRITE] = 50 * MS;
	d = aod_detector_new(cfg);
	for (int i = 0; i < 12; i++) /* WRITE 50..160 ms */
		feed(d, smb_slow(T0 + i * MS, SMB2_WRITE, (50 + 10 * i) * MS));
	for (int i = 0; i < 3; i++) /* READ 25, 26, 27 ms */
		feed(d, smb_slow(T0 + 50 * MS + i * MS, SMB2_READ, (25 + i) * MS));
	feed(d, smb_slow(T0 + 60 * MS, SMB2_WRITE, 45 * MS)); /* < 50 */
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 1);
	a = &s.a[0];
	assert_int_equal(a->total, 15);
	assert_int_equal(a->nkeys, 2);
	assert_string_equal(a->keys[0].key, "SMB2_WRITE");
	assert_int_equal(a->keys[0].count, 12);
	assert_int_equal(a->keys[0].threshold_ns, 50 * MS);
	assert_int_equal(a->keys[0].max_latency_ns, 160 * MS);
	assert_string_equal(a->keys[1].key, "SMB2_READ");
	assert_int_equal(a->keys[1].count, 3);
	assert_int_equal(a->keys[1].threshold_ns, 20 * MS);
	assert_int_equal(a->keys[1].max_latency_ns, 27 * MS);
	assert_int_equal(a->nworst, AOD_ANOMALY_WORST);
	for (int i = 0; i < AOD_ANOMALY_WORST; i++)
		assert_int_equal(a->worst[i].smb.latency_ns, (160 - 10 * i) * MS);
	assert_string_equal(a->worst[0].comm, "dd");
	aod_detector_free(d);
	free(cfg);
}

static void test_ids_unique(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector *d;
	struct seen s = { 0 };

	add_smb_latency(cfg, "a", 1, 20);
	add_smb_latency(cfg, "b", 1, 20);
	d = aod_detector_new(cfg);
	feed(d, smb_slow(T0, SMB2_WRITE, 30 * MS));
	/* both rules fire at the same instant */
	assert_int_equal(eval(d, T0 + 10 * MS, &s), 2);
	assert_string_equal(s.a[0].rule, "a");
	assert_string_equal(s.a[1].rule, "b");
	assert_int_equal(s.a[0].id, T0 + 10 * MS + WALL_OFF);
	assert_true(s.a[1].id > s.a[0].id);
	/* the wall clock stepped back: ids still increase */
	feed(d, smb_slow(T0 + 20 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(aod_detector_evaluate(d, T0 + 30 * MS, WALL_OFF, collect, &s), 2);
	assert_true(s.a[2].id > s.a[1].id);
	assert_true(s.a[3].id > s.a[2].id);
	aod_detector_free(d);
	free(cfg);
}

/* ---- reload ---- */

static void test_set_config_keeps_windows(void **state)
{
	struct aod_config *cfg = new_config();
	struct aod_detector *d;
	struct seen s = { 0 };

	add_smb_latency(cfg, "latency", 3, 20);
	add_smb_latency(cfg, "other", 3, 20);
	d = aod_detector_new(cfg);
	feed(d, smb_slow(T0, SMB2_WRITE, 30 * MS));
	feed(d, smb_slow(T0 + MS, SMB2_WRITE, 30 * MS));

	/* "latency" persists (lower acceptable_count), "other" is renamed */
	cfg->rules[0].acceptable_count = 2;
	snprintf(cfg->rules[1].name, sizeof(cfg->rules[1].name), "renamed");
	cfg->rules[1].acceptable_count = 2;
	assert_int_equal(aod_detector_set_config(d, cfg), 0);
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 1);
	assert_string_equal(s.a[0].rule, "latency");
	assert_int_equal(s.a[0].total, 2);
	assert_int_equal(s.a[0].acceptable_count, 2);

	/* a rule that disappears takes its window with it */
	feed(d, smb_slow(T0 + 200 * MS, SMB2_WRITE, 30 * MS));
	feed(d, smb_slow(T0 + 210 * MS, SMB2_WRITE, 30 * MS));
	cfg->nrules = 1;
	snprintf(cfg->rules[0].name, sizeof(cfg->rules[0].name), "fresh");
	assert_int_equal(aod_detector_set_config(d, cfg), 0);
	assert_int_equal(eval(d, T0 + 300 * MS, &s), 0);
	aod_detector_free(d);
	free(cfg);
}

/* ---- modes, through the real config loader ---- */

static void feed_each_cmd(struct aod_detector *d, uint64_t lat)
{
	for (unsigned c = 0; c < AOD_SMB_NCMDS_CFG; c++)
		feed(d, smb_slow(T0 + c * MS, c, lat));
}

/* key names of the only anomaly in s, comma separated */
static const char *keys_of(const struct seen *s, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	assert_int_equal(s->n, 1);
	for (uint32_t i = 0; i < s->a[0].nkeys; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s:%u", i ? "," : "",
					s->a[0].keys[i].key, s->a[0].keys[i].count);
	return buf;
}

static void test_smb_trackonly(void **state)
{
	struct aod_config *cfg = load_yaml(
		"    latency:\n      type: Latency\n      tool: smbslower\n      mode: trackonly\n"
		"      acceptable_count: 1\n      default_threshold_ms: 20\n"
		"      track_commands:\n        - command: SMB2_WRITE\n          threshold: 50\n"
		"        - command: SMB2_READ\n");
	struct aod_detector *d = aod_detector_new(cfg);
	struct aod_detector_stats st;
	struct seen s = { 0 };
	char buf[256];

	/* the seed's threshold-0 bug: untracked commands must never count */
	feed(d, smb_slow(T0, SMB2_CREATE, 5 * SEC));
	feed(d, smb_slow(T0, SMB2_CREATE, 0));
	aod_detector_get_stats(d, &st);
	assert_int_equal(st.events_counted, 0);
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 0);

	feed_each_cmd(d, 30 * MS); /* READ counts (20 ms default); WRITE does not (50 ms) */
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 1);
	assert_string_equal(keys_of(&s, buf, sizeof(buf)), "SMB2_READ:1");
	assert_int_equal(s.a[0].keys[0].threshold_ns, 20 * MS);
	s.n = 0;
	feed(d, smb_slow(T0 + 200 * MS, SMB2_WRITE, 50 * MS));
	assert_int_equal(eval(d, T0 + 300 * MS, &s), 1);
	assert_string_equal(keys_of(&s, buf, sizeof(buf)), "SMB2_WRITE:1");
	assert_int_equal(s.a[0].keys[0].threshold_ns, 50 * MS);
	aod_detector_free(d);
	free(cfg);
}

static void test_smb_excludeonly_and_all(void **state)
{
	struct aod_config *cfg = load_yaml(
		"    ex:\n      type: Latency\n      tool: smbslower\n      mode: excludeonly\n"
		"      acceptable_count: 1\n      default_threshold_ms: 20\n"
		"      exclude_commands: [SMB2_ECHO, SMB2_CHANGE_NOTIFY]\n"
		"    al:\n      type: Latency\n      tool: smbslower\n      mode: all\n"
		"      acceptable_count: 1\n      default_threshold_ms: 100\n"
		"      track_commands:\n        - command: SMB2_WRITE\n          threshold: 10\n"
		"      exclude_commands: [SMB2_READ]\n");
	struct aod_detector *d = aod_detector_new(cfg);
	struct seen s = { 0 };

	feed_each_cmd(d, 30 * MS);
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 2);
	/* ex: 20 commands minus ECHO and CHANGE_NOTIFY */
	assert_string_equal(s.a[0].rule, "ex");
	assert_int_equal(s.a[0].total, 18);
	for (uint32_t i = 0; i < s.a[0].nkeys; i++) {
		assert_string_not_equal(s.a[0].keys[i].key, "SMB2_ECHO");
		assert_string_not_equal(s.a[0].keys[i].key, "SMB2_CHANGE_NOTIFY");
	}
	/* al: only WRITE is over its (overridden) threshold; READ is excluded */
	assert_string_equal(s.a[1].rule, "al");
	assert_int_equal(s.a[1].total, 1);
	assert_string_equal(s.a[1].keys[0].key, "SMB2_WRITE");
	s.n = 0;
	feed(d, smb_slow(T0 + 200 * MS, SMB2_READ, 5 * SEC));
	feed(d, smb_slow(T0 + 210 * MS, SMB2_CREATE, 150 * MS));
	assert_int_equal(eval(d, T0 + 300 * MS, &s), 2);
	assert_int_equal(s.a[1].total, 1);
	assert_string_equal(s.a[1].keys[0].key, "SMB2_CREATE");
	aod_detector_free(d);
	free(cfg);
}

static void test_block_devices(void **state)
{
	struct aod_config *cfg = load_yaml(
		"    tr:\n      type: Latency\n      tool: biolatency\n      mode: trackonly\n"
		"      acceptable_count: 1\n      default_threshold_ms: 200\n"
		"      track_devices:\n        - device: vda\n          threshold: 20\n"
		"    ex:\n      type: Latency\n      tool: biolatency\n      mode: excludeonly\n"
		"      acceptable_count: 1\n      default_threshold_ms: 20\n"
		"      exclude_devices: [sr0]\n"
		"    al:\n      type: Latency\n      tool: biolatency\n      mode: all\n"
		"      acceptable_count: 1\n      default_threshold_ms: 200\n"
		"      track_devices:\n        - device: vda\n          threshold: 20\n");
	struct aod_detector *d = aod_detector_new(cfg);
	struct seen s = { 0 };
	char buf[256];

	feed(d, blk_slow(T0, "vda", 253 << 20, 30 * MS));
	feed(d, blk_slow(T0, "sda", 8 << 20, 30 * MS));
	feed(d, blk_slow(T0, "sr0", 11 << 20, 30 * MS));
	feed(d, smb_slow(T0, SMB2_WRITE, 5 * SEC)); /* not block */
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 3);
	s.n = 1;
	assert_string_equal(keys_of(&s, buf, sizeof(buf)), "vda:1"); /* tr */
	assert_int_equal(s.a[0].keys[0].threshold_ns, 20 * MS);
	assert_int_equal(s.a[0].source, AOD_SOURCE_BLOCK);
	s.a[0] = s.a[1];
	assert_string_equal(s.a[0].rule, "ex");
	assert_string_equal(keys_of(&s, buf, sizeof(buf)), "sda:1,vda:1");
	s.a[0] = s.a[2];
	assert_string_equal(s.a[0].rule, "al");
	assert_string_equal(keys_of(&s, buf, sizeof(buf)), "vda:1"); /* others under 200 ms */

	/* a device without a name is shown as MAJ:MIN */
	s.n = 0;
	feed(d, blk_slow(T0 + 200 * MS, "", 259 << 20 | 3, 300 * MS));
	assert_int_equal(eval(d, T0 + 300 * MS, &s), 2);
	s.a[0] = s.a[1];
	s.n = 1;
	assert_string_equal(keys_of(&s, buf, sizeof(buf)), "259:3:1");
	aod_detector_free(d);
	free(cfg);
}

#define ACCESS_DENIED 0xC0000022u
#define NOT_FOUND 0xC0000034u

static void test_error_codes(void **state)
{
	struct aod_config *cfg = load_yaml(
		"    tr:\n      type: Error\n      tool: smbiosnoop\n      mode: trackonly\n"
		"      acceptable_count: 1\n      track_codes: [EACCES]\n"
		"    al:\n      type: Error\n      tool: smbiosnoop\n      mode: all\n"
		"      acceptable_count: 1\n"
		"    ex:\n      type: Error\n      tool: smbiosnoop\n      mode: excludeonly\n"
		"      acceptable_count: 1\n      exclude_codes: [STATUS_ACCESS_DENIED]\n");
	struct aod_detector *d = aod_detector_new(cfg);
	struct seen s = { 0 };
	char buf[256];

	feed(d, smb_err(T0, SMB2_CREATE, ACCESS_DENIED, -13));
	feed(d, smb_err(T0, SMB2_CREATE, NOT_FOUND, -2));
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 2);
	assert_string_equal(s.a[0].rule, "tr");
	assert_int_equal(s.a[0].type, AOD_RULE_ERROR);
	assert_string_equal(keys_of(&(struct seen){ 1, { s.a[0] } }, buf, sizeof(buf)),
			    "STATUS_ACCESS_DENIED:1");
	assert_int_equal(s.a[0].worst[0].smb.status, ACCESS_DENIED);
	/* mode all: access denied counts, not found (0xC0000034) is benign by default */
	assert_string_equal(s.a[1].rule, "al");
	assert_string_equal(keys_of(&(struct seen){ 1, { s.a[1] } }, buf, sizeof(buf)),
			    "STATUS_ACCESS_DENIED:1");

	/* benign statuses never count, in any mode */
	s.n = 0;
	feed(d, smb_err(T0 + 200 * MS, 1 /* SESSION_SETUP */, 0xC0000016u, 0));
	feed(d, smb_err(T0 + 200 * MS, 14, 0x80000006u, -61));
	feed(d, smb_err(T0 + 200 * MS, SMB2_READ, 0xC0000011u, -61));
	assert_int_equal(eval(d, T0 + 300 * MS, &s), 0);

	/* excludeonly: another status counts, the excluded one does not */
	feed(d, smb_err(T0 + 400 * MS, SMB2_WRITE, ACCESS_DENIED, -13));
	feed(d, smb_err(T0 + 400 * MS, SMB2_WRITE, 0xC000007Fu, -28)); /* DISK_FULL */
	assert_int_equal(eval(d, T0 + 500 * MS, &s), 3);
	assert_string_equal(s.a[2].rule, "ex");
	assert_int_equal(s.a[2].total, 1);
	assert_int_equal(s.a[2].worst[0].smb.status, 0xC000007Fu);
	aod_detector_free(d);
	free(cfg);
}

/* Reconnects are context for bundles: no rule, of any type, counts them. */
static void test_reconnect_never_counts(void **state)
{
	struct aod_config *cfg = load_yaml(
		"    al:\n      type: Error\n      tool: smbiosnoop\n      mode: all\n"
		"      acceptable_count: 1\n"
		"    lat:\n      type: Latency\n      tool: smbslower\n      acceptable_count: 1\n"
		"      default_threshold_ms: 0\n");
	struct aod_detector *d = aod_detector_new(cfg);
	struct aod_detector_stats st;
	struct seen s = { 0 };
	struct aod_event ev = base(AOD_EVENT_SMB_RECONNECT, T0, 7, "cifsd");

	ev.conn.conn_id = 1;
	ev.conn.currmid = 45;
	assert_false(feed(d, ev));
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 0);
	aod_detector_get_stats(d, &st);
	assert_int_equal(st.events_in, 1);
	assert_int_equal(st.events_counted, 0);
	aod_detector_free(d);
	free(cfg);
}

static void test_not_found_when_configured(void **state)
{
	struct aod_config *cfg = load_yaml(
		"    tr:\n      type: Error\n      tool: smbiosnoop\n      mode: trackonly\n"
		"      acceptable_count: 2\n      track_codes: [STATUS_OBJECT_NAME_NOT_FOUND]\n");
	struct aod_detector *d = aod_detector_new(cfg);
	struct seen s = { 0 };

	feed(d, smb_err(T0, SMB2_CREATE, NOT_FOUND, -2));
	feed(d, smb_err(T0 + MS, SMB2_CREATE, NOT_FOUND, -2));
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 1);
	assert_string_equal(s.a[0].keys[0].key, "STATUS_OBJECT_NAME_NOT_FOUND");
	assert_int_equal(s.a[0].keys[0].count, 2);
	aod_detector_free(d);
	free(cfg);
}

/* Error worst list: the first N in time order. */
static void test_error_worst_first_in_time(void **state)
{
	struct aod_config *cfg = load_yaml(
		"    err:\n      type: Error\n      tool: smbiosnoop\n      mode: trackonly\n"
		"      acceptable_count: 12\n      track_codes: [EACCES, EIO]\n");
	struct aod_detector *d = aod_detector_new(cfg);
	struct seen s = { 0 };

	for (int i = 0; i < 12; i++)
		feed(d, smb_err(T0 + (uint64_t)(i + 1) * MS, SMB2_WRITE,
							 i < 9 ? ACCESS_DENIED : 0xC0000185u /* IO_DEVICE_ERROR */,
							 i < 9 ? -13 : -5));
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 1);
	assert_int_equal(s.a[0].nworst, AOD_ANOMALY_WORST);
	for (int i = 0; i < AOD_ANOMALY_WORST; i++)
		assert_int_equal(s.a[0].worst[i].mono_ns, T0 + (uint64_t)(i + 1) * MS);
	assert_int_equal(s.a[0].nkeys, 2);
	assert_string_equal(s.a[0].keys[0].key, "STATUS_ACCESS_DENIED");
	assert_int_equal(s.a[0].keys[0].count, 9);
	assert_int_equal(s.a[0].keys[1].count, 3);
	assert_int_equal(s.a[0].keys[0].threshold_ns, 0);
	assert_int_equal(s.a[0].emergency_threshold_ns, 0);
	aod_detector_free(d);
	free(cfg);
}

static void test_block_errors(void **state)
{
	struct aod_config *cfg = load_yaml(
		"    be:\n      type: Error\n      tool: bioerror\n      mode: all\n"
		"      acceptable_count: 2\n      exclude_codes: [EOPNOTSUPP]\n");
	struct aod_detector *d = aod_detector_new(cfg);
	struct seen s = { 0 };

	feed(d, blk_err(T0, "vda", -5));
	feed(d, blk_err(T0 + MS, "vda", -95)); /* EOPNOTSUPP */
	feed(d, smb_err(T0 + MS, SMB2_WRITE, ACCESS_DENIED, -13));
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 0);
	feed(d, blk_err(T0 + 2 * MS, "vdb", -5));
	assert_int_equal(eval(d, T0 + 100 * MS, &s), 1);
	assert_int_equal(s.a[0].source, AOD_SOURCE_BLOCK);
	assert_int_equal(s.a[0].nkeys, 1);
	assert_string_equal(s.a[0].keys[0].key, "EIO");
	assert_int_equal(s.a[0].keys[0].count, 2);
	aod_detector_free(d);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_below_at_above),
		cmocka_unit_test(test_reconnect_never_counts),
		cmocka_unit_test(test_count_boundary),
		cmocka_unit_test(test_window_edges),
		cmocka_unit_test(test_old_events_pruned),
		cmocka_unit_test(test_future_events_kept),
		cmocka_unit_test(test_consumed_no_double_fire),
		cmocka_unit_test(test_emergency_fires_at_once),
		cmocka_unit_test(test_emergency_needs_counted_event),
		cmocka_unit_test(test_window_cap_dropped),
		cmocka_unit_test(test_window_cap_prunes_old),
		cmocka_unit_test(test_keys_and_worst_latency),
		cmocka_unit_test(test_ids_unique),
		cmocka_unit_test(test_set_config_keeps_windows),
		cmocka_unit_test(test_smb_trackonly),
		cmocka_unit_test(test_smb_excludeonly_and_all),
		cmocka_unit_test(test_block_devices),
		cmocka_unit_test(test_error_codes),
		cmocka_unit_test(test_not_found_when_configured),
		cmocka_unit_test(test_error_worst_first_in_time),
		cmocka_unit_test(test_block_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
