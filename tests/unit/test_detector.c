// SPDX-License-Identifier: MIT
/* Detector: the sliding window, quiet periods, emergencies, stuck ops, modes,
 * consumption, reload; and a brute-force check of the window semantics on
 * random event streams. */
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
#define T0 (1000 * SEC)                 /* mono origin of every test */
#define WALL_OFF 1795459679000000000ULL /* wall = mono + WALL_OFF */

#define SMB2_CREATE 5
#define SMB2_READ 8
#define SMB2_WRITE 9

/* ---- collecting anomalies ---- */

#define MAX_SEEN 256

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

static struct aod_event smb_stuck(uint64_t found, uint32_t batch, unsigned cmd, uint64_t age)
{
	struct aod_event ev = smb_slow(found, cmd, age);

	ev.kind = AOD_EVENT_SMB_STUCK;
	ev.batch = batch;
	ev.smb.mid = (found - age) / MS;
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

/* ---- configs and the fixture ---- */

struct fix {
	struct aod_config *cfg;
	struct aod_detector *d;
	struct seen s;
};

static int fix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->cfg = calloc(1, sizeof(*f->cfg));
	assert_non_null(f->cfg);
	aod_config_defaults(f->cfg);
	f->cfg->watch_interval_sec = 1;
	f->cfg->nrules = 0;
	*state = f;
	return 0;
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;

	aod_detector_free(f->d);
	free(f->cfg);
	free(f);
	return 0;
}

static struct aod_detector *start(struct fix *f)
{
	f->d = aod_detector_new(f->cfg, collect, &f->s);
	assert_non_null(f->d);
	return f->d;
}

static int feed(struct fix *f, struct aod_event ev)
{
	return aod_detector_add(f->d, &ev);
}

static struct aod_detector_stats stats(struct fix *f)
{
	struct aod_detector_stats st;

	aod_detector_get_stats(f->d, &st);
	return st;
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

/* Load rules through the real config loader into f->cfg. */
static void load_yaml(struct fix *f, const char *rules)
{
	struct aod_config_error err = { { 0 } };
	char yaml[4096];
	int rc;

	snprintf(yaml, sizeof(yaml),
		 "watch_interval_sec: 1\naod_output_dir: /tmp/aod-test\n"
		 "guardian:\n  anomalies:\n%s", rules);
	rc = aod_config_load_buffer(f->cfg, "<test>", yaml, strlen(yaml), &err);
	if (rc)
		fail_msg("config did not load: %s\n%s", err.msg, yaml);
}

/* ---- the sliding window ---- */

static void test_below_at_above(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 3, 20);
	start(f);
	feed(f, (struct aod_event){ .kind = 0 }); /* kind 0: never counts */
	assert_int_equal(feed(f, smb_slow(T0 + 100 * MS, SMB2_WRITE, 30 * MS)), 0);
	assert_int_equal(feed(f, smb_slow(T0 + 200 * MS, SMB2_WRITE, 30 * MS)), 0);
	assert_int_equal(feed(f, smb_slow(T0 + 250 * MS, SMB2_READ, 19 * MS)), 0); /* below */
	/* the third counted op fires the rule, at its own time */
	assert_int_equal(feed(f, smb_slow(T0 + 600 * MS, SMB2_READ, 20 * MS)), 1); /* == thr */
	assert_int_equal(f->s.n, 1);
	assert_int_equal(f->s.a[0].total, 3);
	assert_string_equal(f->s.a[0].rule, "latency");
	assert_int_equal(f->s.a[0].source, AOD_SOURCE_SMB);
	assert_int_equal(f->s.a[0].type, AOD_RULE_LATENCY);
	assert_false(f->s.a[0].emergency);
	assert_int_equal(f->s.a[0].acceptable_count, 3);
	assert_int_equal(f->s.a[0].window_end_ns, T0 + 600 * MS + WALL_OFF);
	assert_int_equal(f->s.a[0].window_start_ns, T0 - 400 * MS + WALL_OFF);
	assert_int_equal(f->s.a[0].id, T0 + 600 * MS + WALL_OFF);

	struct aod_detector_stats st = stats(f);

	assert_int_equal(st.events_in, 5);
	assert_int_equal(st.events_counted, 3);
	assert_int_equal(st.anomalies, 1);
	assert_int_equal(st.events_dropped, 0);
}

/* The reproduction: a burst that straddles what used to be a tick. */
static void test_straddling_burst(void **state)
{
	struct fix *f = *state;
	static const uint64_t straddle[] = { 2800, 2900, 3100, 3200 };
	static const uint64_t inside[] = { 2100, 2200, 2300, 2400 };

	add_smb_latency(f->cfg, "latency", 3, 20);
	start(f);
	for (int i = 0; i < 4; i++)
		feed(f, smb_slow(T0 + straddle[i] * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(aod_detector_advance(f->d, T0 + 10 * SEC), 0);
	assert_int_equal(f->s.n, 1);
	assert_int_equal(f->s.a[0].total, 3);
	assert_int_equal(f->s.a[0].window_end_ns, T0 + 3100 * MS + WALL_OFF); /* the 3rd op */

	/* the same burst without the straddle: one anomaly too, at its 3rd op */
	for (int i = 0; i < 4; i++)
		feed(f, smb_slow(T0 + 20 * SEC + inside[i] * MS, SMB2_WRITE, 30 * MS));
	aod_detector_advance(f->d, T0 + 30 * SEC);
	assert_int_equal(f->s.n, 2);
	assert_int_equal(f->s.a[1].window_end_ns, T0 + 22300 * MS + WALL_OFF);
}

static void test_count_boundary(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 10, 20);
	start(f);
	for (int i = 0; i < 9; i++)
		assert_int_equal(feed(f, smb_slow(T0 + i * 10 * MS, SMB2_WRITE, 25 * MS)), 0);
	assert_int_equal(feed(f, smb_slow(T0 + 150 * MS, SMB2_WRITE, 25 * MS)), 1);
	assert_int_equal(f->s.a[0].total, 10);
	assert_int_equal(f->s.a[0].nkeys, 1);
	assert_int_equal(f->s.a[0].keys[0].count, 10);
}

/* At most N - 1 ops in every window of length W: never fires. */
static void test_never_n_in_any_window(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 3, 20);
	start(f);
	/* pairs 100 ms apart, pairs 1050 ms apart: any 1 s holds at most 2 */
	for (int i = 0; i < 20; i++) {
		feed(f, smb_slow(T0 + (uint64_t)i * 1050 * MS, SMB2_WRITE, 30 * MS));
		feed(f, smb_slow(T0 + (uint64_t)i * 1050 * MS + 100 * MS, SMB2_WRITE, 30 * MS));
	}
	aod_detector_advance(f->d, UINT64_MAX);
	assert_int_equal(f->s.n, 0);
	assert_int_equal(stats(f).events_counted, 40);
}

/* Ops spaced just over W never share a window. */
static void test_spaced_just_over_w(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 2, 20);
	start(f);
	for (uint64_t i = 0; i < 50; i++)
		feed(f, smb_slow(T0 + i * (SEC + 1), SMB2_WRITE, 30 * MS));
	aod_detector_advance(f->d, UINT64_MAX);
	assert_int_equal(f->s.n, 0);
	/* exactly W apart: (t - W, t] excludes t - W, so not together either */
	for (uint64_t i = 0; i < 10; i++)
		feed(f, smb_slow(T0 + 100 * SEC + i * SEC, SMB2_WRITE, 30 * MS));
	assert_int_equal(f->s.n, 0);
	assert_int_equal(f->s.n, 0);
	/* one ns less than W apart: together */
	assert_int_equal(feed(f, smb_slow(T0 + 120 * SEC, SMB2_WRITE, 30 * MS)), 0);
	assert_int_equal(feed(f, smb_slow(T0 + 121 * SEC - 1, SMB2_WRITE, 30 * MS)), 1);
	assert_int_equal(f->s.a[0].total, 2);
}

/* N ops anywhere inside some W fire, at the last of them. */
static void test_n_anywhere_fire_at_last(void **state)
{
	struct fix *f = *state;
	uint64_t t[] = { 0, 999 * MS, 1999 * MS - 1 };

	add_smb_latency(f->cfg, "latency", 2, 20);
	start(f);
	for (size_t i = 0; i < 3; i++)
		feed(f, smb_slow(T0 + 5 * SEC + t[i], SMB2_WRITE, 30 * MS));
	/* {0, 999 ms} fires at 999 ms; {1999 ms - 1} is alone */
	assert_int_equal(f->s.n, 1);
	assert_int_equal(f->s.a[0].window_end_ns, T0 + 5 * SEC + 999 * MS + WALL_OFF);
	assert_int_equal(f->s.a[0].total, 2);
}

static void test_old_events_pruned(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 3, 20);
	start(f);
	feed(f, smb_slow(T0, SMB2_WRITE, 30 * MS));
	feed(f, smb_slow(T0 + 10 * MS, SMB2_WRITE, 30 * MS));
	feed(f, smb_slow(T0 + 1500 * MS, SMB2_WRITE, 30 * MS));
	/* 4 counted, but only 2 within any 1 s */
	assert_int_equal(feed(f, smb_slow(T0 + 1600 * MS, SMB2_WRITE, 30 * MS)), 0);
	assert_int_equal(feed(f, smb_slow(T0 + 1650 * MS, SMB2_WRITE, 30 * MS)), 1);
	assert_int_equal(f->s.a[0].total, 3);
	assert_int_equal(f->s.a[0].worst[0].mono_ns, T0 + 1500 * MS); /* 0 and 10 ms pruned */
}

static void test_consumed_no_double_fire(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 2, 20);
	start(f);
	feed(f, smb_slow(T0 + 100 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(feed(f, smb_slow(T0 + 200 * MS, SMB2_WRITE, 30 * MS)), 1);
	/* the quiet period ends at 1.2 s: one more op alone does not fire */
	assert_int_equal(aod_detector_advance(f->d, T0 + 1500 * MS), 0);
	assert_int_equal(feed(f, smb_slow(T0 + 1300 * MS, SMB2_WRITE, 30 * MS)), 0);
	/* the consumed two do not help it reach 2; a fresh one does */
	assert_int_equal(feed(f, smb_slow(T0 + 1400 * MS, SMB2_WRITE, 30 * MS)), 1);
	assert_int_equal(f->s.n, 2);
	assert_int_equal(f->s.a[1].total, 2);
}

/* After a fire, the next window's anomaly waits for the quiet period to end
 * and then holds everything counted since. */
static void test_quiet_period_defers(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 3, 20);
	start(f);
	for (int i = 1; i <= 3; i++)
		feed(f, smb_slow(T0 + i * 100 * MS, SMB2_WRITE, 30 * MS));
	assert_int_equal(f->s.n, 1); /* at 300 ms */
	for (int i = 5; i <= 9; i++) /* 500..900 ms: 5 more, inside the quiet period */
		assert_int_equal(feed(f, smb_slow(T0 + i * 100 * MS, SMB2_WRITE, 30 * MS)), 0);
	assert_int_equal(aod_detector_next_due(f->d), T0 + 1300 * MS);
	assert_int_equal(aod_detector_advance(f->d, T0 + 1299 * MS), 0);
	assert_int_equal(aod_detector_advance(f->d, T0 + 1300 * MS), 1);
	assert_int_equal(f->s.a[1].total, 5);
	assert_int_equal(f->s.a[1].window_end_ns, T0 + 1300 * MS + WALL_OFF);
	assert_int_equal(aod_detector_next_due(f->d), UINT64_MAX);

	/* without advance(), the first event after the due time fires it first */
	for (int i = 14; i <= 16; i++)
		feed(f, smb_slow(T0 + i * 100 * MS, SMB2_WRITE, 30 * MS)); /* quiet until 2.3 s */
	assert_int_equal(f->s.n, 2);
	assert_int_equal(feed(f, smb_slow(T0 + 5 * SEC, SMB2_WRITE, 30 * MS)), 1);
	assert_int_equal(f->s.a[2].total, 3);
	assert_int_equal(f->s.a[2].window_end_ns, T0 + 2300 * MS + WALL_OFF);
}

/* Events arrive out of order by microseconds (CPUs race to the ring). */
static void test_out_of_order_and_late(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 3, 20);
	start(f);
	feed(f, smb_slow(T0 + 500 * MS, SMB2_WRITE, 30 * MS));
	feed(f, smb_slow(T0 + 499 * MS, SMB2_READ, 30 * MS));
	assert_int_equal(feed(f, smb_slow(T0 + 498 * MS, SMB2_READ, 40 * MS)), 1);
	assert_int_equal(f->s.a[0].total, 3);
	assert_int_equal(f->s.a[0].window_end_ns, T0 + 500 * MS + WALL_OFF);
	/* W or more older than the newest: can share no window with it */
	feed(f, smb_slow(T0 + 3 * SEC, SMB2_WRITE, 30 * MS));
	feed(f, smb_slow(T0 + 2 * SEC, SMB2_WRITE, 30 * MS));
	assert_int_equal(stats(f).events_late, 1);
}

/* ---- emergencies ---- */

static void test_emergency_fires_at_once(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 999, 20);
	start(f);
	/* just below the emergency threshold: nothing */
	assert_int_equal(feed(f, smb_slow(T0, SMB2_READ, 999 * MS)), 0);
	/* one op at 1.5 s: fires at once with whatever the window holds */
	assert_int_equal(feed(f, smb_slow(T0 + 10 * MS, SMB2_WRITE, 1500 * MS)), 1);
	assert_true(f->s.a[0].emergency);
	assert_int_equal(f->s.a[0].total, 2);
	assert_int_equal(f->s.a[0].emergency_threshold_ns, 1000 * MS);
	assert_int_equal(f->s.a[0].worst[0].smb.latency_ns, 1500 * MS);
	/* inside the quiet period an emergency is due at its end */
	assert_int_equal(feed(f, smb_slow(T0 + 600 * MS, SMB2_READ, 1000 * MS)), 0);
	assert_int_equal(aod_detector_advance(f->d, T0 + 1010 * MS), 1);
	assert_true(f->s.a[1].emergency);
	assert_int_equal(f->s.a[1].total, 1);
	/* after it, at once again */
	assert_int_equal(feed(f, smb_slow(T0 + 2100 * MS, SMB2_READ, 2 * SEC)), 1);
	assert_int_equal(f->s.a[2].window_end_ns, T0 + 2100 * MS + WALL_OFF);
}

static void test_emergency_needs_counted_event(void **state)
{
	struct fix *f = *state;
	struct aod_rule *r = add_smb_latency(f->cfg, "latency", 999, 20);

	r->cmd_tracked[SMB2_CREATE] = false;
	start(f);
	/* an untracked command, however slow, is no emergency */
	assert_int_equal(feed(f, smb_slow(T0, SMB2_CREATE, 5 * SEC)), 0);
	/* block events are not for an SMB rule */
	assert_int_equal(feed(f, blk_slow(T0, "vda", 253 << 20, 5 * SEC)), 0);
	assert_int_equal(f->s.n, 0);
}

/* ---- stuck ops ---- */

static void test_stuck_batch(void **state)
{
	struct fix *f = *state;
	struct aod_rule *r = add_smb_latency(f->cfg, "latency", 5, 20);
	struct aod_rule *strict = add_smb_latency(f->cfg, "strict", 5, 20);
	uint64_t found = T0 + 10 * SEC;

	r->cmd_tracked[SMB2_CREATE] = false;
	strict->emergency_threshold_ns = 5 * SEC;
	add_smb_latency(f->cfg, "noemerg", 5, 20)->emergency_threshold_ns = 0;
	start(f);
	/* one sweep: two WRITEs and a READ past 1 s, a CREATE (untracked by
	 * "latency"), and a READ only 500 ms old */
	feed(f, smb_stuck(found, 7, SMB2_WRITE, 6 * SEC));
	feed(f, smb_stuck(found, 7, SMB2_WRITE, 2 * SEC));
	feed(f, smb_stuck(found, 7, SMB2_READ, 1200 * MS));
	feed(f, smb_stuck(found, 7, SMB2_CREATE, 3 * SEC));
	feed(f, smb_stuck(found, 7, SMB2_READ, 500 * MS));
	assert_int_equal(f->s.n, 0); /* the batch is still open */
	assert_int_equal(aod_detector_next_due(f->d), found);
	assert_int_equal(aod_detector_flush(f->d), 2);
	assert_string_equal(f->s.a[0].rule, "latency");
	assert_int_equal(f->s.a[0].type, AOD_RULE_STUCK);
	assert_int_equal(f->s.a[0].total, 3);
	assert_int_equal(f->s.a[0].nkeys, 2);
	assert_string_equal(f->s.a[0].keys[0].key, "SMB2_WRITE");
	assert_int_equal(f->s.a[0].keys[0].count, 2);
	assert_int_equal(f->s.a[0].keys[0].max_latency_ns, 6 * SEC);
	assert_int_equal(f->s.a[0].worst[0].smb.latency_ns, 6 * SEC); /* oldest first */
	assert_int_equal(f->s.a[0].window_start_ns, found - 6 * SEC + WALL_OFF);
	assert_int_equal(f->s.a[0].window_end_ns, found + WALL_OFF);
	assert_string_equal(f->s.a[1].rule, "strict"); /* only the 6 s one */
	assert_int_equal(f->s.a[1].total, 1);
	assert_int_equal(stats(f).stuck_ops, 4);

	/* the next batch, or a later event, closes a batch on its own */
	feed(f, smb_stuck(found + 250 * MS, 8, SMB2_WRITE, 1100 * MS));
	feed(f, smb_stuck(found + 500 * MS, 9, SMB2_WRITE, 1200 * MS));
	assert_int_equal(f->s.n, 3);
	assert_int_equal(f->s.a[2].total, 1);
	assert_int_equal(aod_detector_advance(f->d, found + 501 * MS), 1);
	assert_int_equal(f->s.n, 4);

	/* a completion of an op already reported stuck never counts again */
	for (int i = 0; i < 6; i++) {
		struct aod_event ev = smb_slow(found + SEC + i * MS, SMB2_WRITE, 7 * SEC);

		ev.flags = AOD_EVF_WAS_STUCK;
		assert_int_equal(aod_detector_add(f->d, &ev), 0);
	}
	aod_detector_advance(f->d, UINT64_MAX);
	assert_int_equal(f->s.n, 4);
}

/* ---- the window cap ---- */

static void test_window_cap_dropped(void **state)
{
	struct fix *f = *state;
	uint32_t n = AOD_DETECTOR_WINDOW_CAP + 100;
	uint32_t sum = 0;

	add_smb_latency(f->cfg, "latency", n + 1, 20);
	f->cfg->rules[0].emergency_threshold_ns = 0;
	start(f);
	for (uint32_t i = 0; i < n; i++)
		feed(f, smb_slow(T0 + i * 10000ULL, i % 2 ? SMB2_READ : SMB2_WRITE,
				 (30 + i % 7) * MS));
	assert_int_equal(stats(f).events_dropped, 100);
	/* the last one makes n + 1, and carries the slowest latency */
	assert_int_equal(feed(f, smb_slow(T0 + n * 10000ULL, SMB2_CREATE, 900 * MS)), 1);
	assert_int_equal(f->s.a[0].total, n + 1);
	assert_int_equal(f->s.a[0].dropped, 101);
	for (uint32_t i = 0; i < f->s.a[0].nkeys; i++)
		sum += f->s.a[0].keys[i].count;
	assert_int_equal(sum, n + 1);
	assert_int_equal(f->s.a[0].worst[0].smb.latency_ns, 900 * MS);
	assert_int_equal(f->s.a[0].nworst, AOD_ANOMALY_WORST);
}

/* A full ring makes room from events no window can hold any more. */
static void test_window_cap_prunes_old(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 100000, 20);
	start(f);
	for (uint32_t i = 0; i < AOD_DETECTOR_WINDOW_CAP; i++)
		feed(f, smb_slow(T0 + i, SMB2_WRITE, 30 * MS));
	for (uint32_t i = 0; i < AOD_DETECTOR_WINDOW_CAP; i++)
		feed(f, smb_slow(T0 + 2 * SEC + i, SMB2_WRITE, 30 * MS));
	assert_int_equal(stats(f).events_dropped, 0);
	assert_int_equal(f->s.n, 0);
}

/* ---- anomaly content ---- */

static void test_keys_and_worst_latency(void **state)
{
	struct fix *f = *state;
	struct aod_rule *r = add_smb_latency(f->cfg, "latency", 15, 20);
	const struct aod_anomaly *a;

	r->cmd_threshold_ns[SMB2_WRITE] = 50 * MS;
	start(f);
	feed(f, smb_slow(T0, SMB2_WRITE, 45 * MS)); /* < 50 */
	for (int i = 0; i < 12; i++) /* WRITE 50..160 ms */
		feed(f, smb_slow(T0 + i * MS, SMB2_WRITE, (50 + 10 * i) * MS));
	for (int i = 0; i < 3; i++) /* READ 25, 26, 27 ms */
		feed(f, smb_slow(T0 + 50 * MS + i * MS, SMB2_READ, (25 + i) * MS));
	assert_int_equal(f->s.n, 1);
	a = &f->s.a[0];
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
}

static void test_ids_unique(void **state)
{
	struct fix *f = *state;
	struct aod_event ev;

	add_smb_latency(f->cfg, "a", 1, 20);
	add_smb_latency(f->cfg, "b", 1, 20);
	start(f);
	/* both rules fire at the same instant */
	assert_int_equal(feed(f, smb_slow(T0, SMB2_WRITE, 30 * MS)), 2);
	assert_string_equal(f->s.a[0].rule, "a");
	assert_string_equal(f->s.a[1].rule, "b");
	assert_int_equal(f->s.a[0].id, T0 + WALL_OFF);
	assert_true(f->s.a[1].id > f->s.a[0].id);
	/* the wall clock stepped back: ids still increase */
	ev = smb_slow(T0 + 2 * SEC, SMB2_WRITE, 30 * MS);
	ev.wall_ns = 1;
	assert_int_equal(aod_detector_add(f->d, &ev), 2);
	assert_true(f->s.a[2].id > f->s.a[1].id);
	assert_true(f->s.a[3].id > f->s.a[2].id);
}

/* ---- reload ---- */

static void test_reload_keeps_window(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 3, 20);
	add_smb_latency(f->cfg, "other", 3, 20);
	start(f);
	feed(f, smb_slow(T0, SMB2_WRITE, 30 * MS));
	feed(f, smb_slow(T0 + MS, SMB2_WRITE, 30 * MS));

	/* mid-window, same acceptable_count: the third op after the reload fires */
	assert_int_equal(aod_detector_set_config(f->d, f->cfg), 0);
	assert_int_equal(feed(f, smb_slow(T0 + 2 * MS, SMB2_WRITE, 30 * MS)), 2);
	assert_int_equal(f->s.a[0].total, 3);

	/* mid-window, "latency" lowers acceptable_count, "other" is renamed */
	feed(f, smb_slow(T0 + 2 * SEC, SMB2_WRITE, 30 * MS));
	feed(f, smb_slow(T0 + 2 * SEC + MS, SMB2_WRITE, 30 * MS));
	f->cfg->rules[0].acceptable_count = 2;
	snprintf(f->cfg->rules[1].name, sizeof(f->cfg->rules[1].name), "renamed");
	f->cfg->rules[1].acceptable_count = 2;
	assert_int_equal(aod_detector_set_config(f->d, f->cfg), 0);
	assert_int_equal(aod_detector_next_due(f->d), T0 + 2 * SEC + MS);
	assert_int_equal(aod_detector_advance(f->d, T0 + 2 * SEC + 100 * MS), 1);
	assert_string_equal(f->s.a[2].rule, "latency");
	assert_int_equal(f->s.a[2].total, 2);
	assert_int_equal(f->s.a[2].acceptable_count, 2);

	/* a rule that disappears takes its window with it */
	feed(f, smb_slow(T0 + 4 * SEC, SMB2_WRITE, 30 * MS));
	f->cfg->nrules = 1;
	snprintf(f->cfg->rules[0].name, sizeof(f->cfg->rules[0].name), "fresh");
	assert_int_equal(aod_detector_set_config(f->d, f->cfg), 0);
	assert_int_equal(feed(f, smb_slow(T0 + 4 * SEC + MS, SMB2_WRITE, 30 * MS)), 0);
	assert_int_equal(aod_detector_advance(f->d, UINT64_MAX), 0);
	assert_int_equal(f->s.n, 3);
}

/* A reload during a quiet period keeps it and the anomaly it holds. */
static void test_reload_keeps_due(void **state)
{
	struct fix *f = *state;

	add_smb_latency(f->cfg, "latency", 2, 20);
	start(f);
	feed(f, smb_slow(T0, SMB2_WRITE, 30 * MS));
	feed(f, smb_slow(T0 + MS, SMB2_WRITE, 30 * MS)); /* fires, quiet until 1.001 s */
	feed(f, smb_slow(T0 + 100 * MS, SMB2_WRITE, 30 * MS));
	feed(f, smb_slow(T0 + 200 * MS, SMB2_WRITE, 30 * MS)); /* due at 1.001 s */
	assert_int_equal(aod_detector_set_config(f->d, f->cfg), 0);
	assert_int_equal(aod_detector_next_due(f->d), T0 + SEC + MS);
	assert_int_equal(aod_detector_advance(f->d, T0 + 2 * SEC), 1);
	assert_int_equal(f->s.a[1].total, 2);

	/* a reload that raises the threshold drops what the window no longer counts:
	 * the pending anomaly goes with it */
	feed(f, smb_slow(T0 + 5 * SEC, SMB2_WRITE, 30 * MS));
	assert_int_equal(feed(f, smb_slow(T0 + 5 * SEC + MS, SMB2_WRITE, 30 * MS)), 1);
	feed(f, smb_slow(T0 + 5 * SEC + 100 * MS, SMB2_WRITE, 30 * MS));
	feed(f, smb_slow(T0 + 5 * SEC + 200 * MS, SMB2_WRITE, 90 * MS)); /* due */
	feed(f, smb_slow(T0 + 5 * SEC + 300 * MS, SMB2_WRITE, 95 * MS));
	assert_int_equal(aod_detector_next_due(f->d), T0 + 6 * SEC + MS);
	for (int c = 0; c < AOD_SMB_NCMDS_CFG; c++)
		f->cfg->rules[0].cmd_threshold_ns[c] = 80 * MS;
	assert_int_equal(aod_detector_set_config(f->d, f->cfg), 0);
	assert_int_equal(aod_detector_next_due(f->d), T0 + 6 * SEC + MS); /* 90, 95 still count */
	for (int c = 0; c < AOD_SMB_NCMDS_CFG; c++)
		f->cfg->rules[0].cmd_threshold_ns[c] = 92 * MS;
	assert_int_equal(aod_detector_set_config(f->d, f->cfg), 0);
	assert_int_equal(aod_detector_next_due(f->d), UINT64_MAX); /* only 95 does */
	assert_int_equal(aod_detector_advance(f->d, UINT64_MAX), 0);
	assert_int_equal(f->s.n, 3);
}

/* ---- the semantics, brute force, on random streams ---- */

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

#define RAND_EVENTS 300

struct stream {
	uint64_t t[RAND_EVENTS];
	int owner[RAND_EVENTS]; /* anomaly that consumed it, -1 none */
};

/* Which anomaly took event i: the one whose window (end - W, end] holds it.
 * With in-order events and quiet periods of W, windows never overlap, so
 * this is exact and independent of how the detector stores events. */
static void attribute(struct stream *st, const struct seen *s, uint64_t w)
{
	for (int i = 0; i < RAND_EVENTS; i++) {
		st->owner[i] = -1;
		for (int k = 0; k < s->n; k++) {
			uint64_t end = s->a[k].window_end_ns - WALL_OFF;

			if (st->t[i] <= end && end - st->t[i] < w)
				st->owner[i] = k;
		}
	}
}

static void check_random_stream(uint64_t seed, uint32_t n, struct fix *f)
{
	struct stream st;
	uint64_t x = seed, t = T0, w = SEC;
	int consumed = 0;

	for (int i = 0; i < RAND_EVENTS; i++) {
		t += rng_next(&x) % (400 * MS); /* bursts and gaps around W / n */
		st.t[i] = t;
		feed(f, smb_slow(t, SMB2_WRITE, 30 * MS));
	}
	aod_detector_advance(f->d, UINT64_MAX);
	attribute(&st, &f->s, w);
	for (int k = 0; k < f->s.n; k++) {
		const struct aod_anomaly *a = &f->s.a[k];
		uint64_t end = a->window_end_ns - WALL_OFF;
		uint32_t held = 0;

		/* fired at an event time (or at a quiet period's end), with >= n events */
		assert_true(a->total >= n);
		for (int i = 0; i < RAND_EVENTS; i++)
			held += st.owner[i] == k;
		assert_int_equal(held, a->total);
		consumed += (int)held;
		/* quiet period: the next anomaly is at least W later */
		if (k > 0)
			assert_true(end - (f->s.a[k - 1].window_end_ns - WALL_OFF) >= w);
	}
	/* nothing missed: the events no anomaly took never had n in one window */
	for (int i = 0; i < RAND_EVENTS; i++) {
		uint32_t free_in_window = 0;

		for (int j = 0; j <= i; j++)
			free_in_window += st.owner[j] < 0 && st.t[i] - st.t[j] < w;
		assert_true(free_in_window < n);
	}
	assert_true(consumed <= RAND_EVENTS);
}

static void test_random_streams(void **state)
{
	struct fix *f = *state;

	for (uint64_t seed = 1; seed <= 40; seed++) {
		uint32_t n = 2 + (uint32_t)(seed % 5);

		f->cfg->nrules = 0;
		add_smb_latency(f->cfg, "latency", n, 20)->emergency_threshold_ns = 0;
		aod_detector_free(f->d);
		memset(&f->s, 0, sizeof(f->s));
		start(f);
		check_random_stream(seed * 0x9E3779B97F4A7C15ULL, n, f);
	}
}

/* ---- modes, through the real config loader ---- */

static void feed_each_cmd(struct fix *f, uint64_t at, uint64_t lat)
{
	for (unsigned c = 0; c < AOD_SMB_NCMDS_CFG; c++)
		feed(f, smb_slow(at + c * MS, c, lat));
}

/* "KEY:COUNT,..." of anomaly k */
static const char *keys_of(const struct fix *f, int k, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	assert_true(k < f->s.n);
	for (uint32_t i = 0; i < f->s.a[k].nkeys; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s:%u", i ? "," : "",
					f->s.a[k].keys[i].key, f->s.a[k].keys[i].count);
	return buf;
}

static void test_smb_trackonly(void **state)
{
	struct fix *f = *state;
	char buf[256];

	load_yaml(f, "    latency:\n      type: Latency\n      tool: smbslower\n      mode: trackonly\n"
		     "      acceptable_count: 1\n      default_threshold_ms: 20\n"
		     "      track_commands:\n        - command: SMB2_WRITE\n          threshold: 50\n"
		     "        - command: SMB2_READ\n");
	start(f);
	/* the seed's threshold-0 bug: untracked commands must never count */
	feed(f, smb_slow(T0, SMB2_CREATE, 5 * SEC));
	feed(f, smb_slow(T0, SMB2_CREATE, 0));
	assert_int_equal(stats(f).events_counted, 0);
	assert_int_equal(f->s.n, 0);
	/* READ counts (20 ms default); WRITE does not (50 ms) */
	feed_each_cmd(f, T0, 30 * MS);
	assert_int_equal(f->s.n, 1);
	assert_string_equal(keys_of(f, 0, buf, sizeof(buf)), "SMB2_READ:1");
	assert_int_equal(f->s.a[0].keys[0].threshold_ns, 20 * MS);
	feed(f, smb_slow(T0 + 2 * SEC, SMB2_WRITE, 50 * MS));
	assert_int_equal(f->s.n, 2);
	assert_string_equal(keys_of(f, 1, buf, sizeof(buf)), "SMB2_WRITE:1");
	assert_int_equal(f->s.a[1].keys[0].threshold_ns, 50 * MS);
}

static void test_smb_excludeonly_and_all(void **state)
{
	struct fix *f = *state;

	load_yaml(f, "    ex:\n      type: Latency\n      tool: smbslower\n      mode: excludeonly\n"
		     "      acceptable_count: 18\n      default_threshold_ms: 20\n"
		     "      exclude_commands: [SMB2_ECHO, SMB2_CHANGE_NOTIFY]\n"
		     "    al:\n      type: Latency\n      tool: smbslower\n      mode: all\n"
		     "      acceptable_count: 1\n      default_threshold_ms: 100\n"
		     "      track_commands:\n        - command: SMB2_WRITE\n          threshold: 10\n"
		     "      exclude_commands: [SMB2_READ]\n");
	start(f);
	feed_each_cmd(f, T0, 30 * MS);
	assert_int_equal(f->s.n, 2);
	/* al: only WRITE is over its (overridden) threshold; READ is excluded */
	assert_string_equal(f->s.a[0].rule, "al");
	assert_int_equal(f->s.a[0].total, 1);
	assert_string_equal(f->s.a[0].keys[0].key, "SMB2_WRITE");
	/* ex: 20 commands minus ECHO and CHANGE_NOTIFY */
	assert_string_equal(f->s.a[1].rule, "ex");
	assert_int_equal(f->s.a[1].total, 18);
	for (uint32_t i = 0; i < f->s.a[1].nkeys; i++) {
		assert_string_not_equal(f->s.a[1].keys[i].key, "SMB2_ECHO");
		assert_string_not_equal(f->s.a[1].keys[i].key, "SMB2_CHANGE_NOTIFY");
	}
	feed(f, smb_slow(T0 + 2 * SEC, SMB2_READ, 5 * SEC));
	feed(f, smb_slow(T0 + 2 * SEC + MS, SMB2_CREATE, 150 * MS));
	assert_int_equal(f->s.n, 4); /* ex: READ's emergency; al: CREATE */
	assert_true(f->s.a[2].emergency);
	assert_string_equal(f->s.a[3].rule, "al");
	assert_string_equal(f->s.a[3].keys[0].key, "SMB2_CREATE");
}

static void test_block_devices(void **state)
{
	struct fix *f = *state;
	char buf[256];

	load_yaml(f, "    tr:\n      type: Latency\n      tool: biolatency\n      mode: trackonly\n"
		     "      acceptable_count: 1\n      default_threshold_ms: 200\n"
		     "      track_devices:\n        - device: vda\n          threshold: 20\n"
		     "    ex:\n      type: Latency\n      tool: biolatency\n      mode: excludeonly\n"
		     "      acceptable_count: 2\n      default_threshold_ms: 20\n"
		     "      exclude_devices: [sr0]\n"
		     "    al:\n      type: Latency\n      tool: biolatency\n      mode: all\n"
		     "      acceptable_count: 1\n      default_threshold_ms: 200\n"
		     "      track_devices:\n        - device: vda\n          threshold: 20\n");
	start(f);
	feed(f, smb_slow(T0, SMB2_WRITE, 5 * SEC)); /* not block */
	feed(f, blk_slow(T0, "sr0", 11 << 20, 30 * MS));
	feed(f, blk_slow(T0, "sda", 8 << 20, 30 * MS));
	feed(f, blk_slow(T0, "vda", 253 << 20, 30 * MS));
	assert_int_equal(f->s.n, 3);
	assert_string_equal(f->s.a[0].rule, "tr");
	assert_string_equal(keys_of(f, 0, buf, sizeof(buf)), "vda:1");
	assert_int_equal(f->s.a[0].keys[0].threshold_ns, 20 * MS);
	assert_int_equal(f->s.a[0].source, AOD_SOURCE_BLOCK);
	assert_string_equal(f->s.a[1].rule, "ex");
	assert_string_equal(keys_of(f, 1, buf, sizeof(buf)), "sda:1,vda:1");
	assert_string_equal(f->s.a[2].rule, "al");
	assert_string_equal(keys_of(f, 2, buf, sizeof(buf)), "vda:1"); /* others under 200 ms */
	/* a device without a name is shown as MAJ:MIN */
	feed(f, blk_slow(T0 + 2 * SEC, "", 259 << 20 | 3, 300 * MS));
	assert_int_equal(f->s.n, 4);
	assert_string_equal(f->s.a[3].rule, "al");
	assert_string_equal(keys_of(f, 3, buf, sizeof(buf)), "259:3:1");
}

#define ACCESS_DENIED 0xC0000022u
#define NOT_FOUND 0xC0000034u

static void test_error_codes(void **state)
{
	struct fix *f = *state;
	char buf[256];

	load_yaml(f, "    tr:\n      type: Error\n      tool: smbiosnoop\n      mode: trackonly\n"
		     "      acceptable_count: 1\n      track_codes: [EACCES]\n"
		     "    al:\n      type: Error\n      tool: smbiosnoop\n      mode: all\n"
		     "      acceptable_count: 1\n"
		     "    ex:\n      type: Error\n      tool: smbiosnoop\n      mode: excludeonly\n"
		     "      acceptable_count: 1\n      exclude_codes: [STATUS_ACCESS_DENIED]\n");
	start(f);
	feed(f, smb_err(T0, SMB2_CREATE, NOT_FOUND, -2));
	feed(f, smb_err(T0, SMB2_CREATE, ACCESS_DENIED, -13));
	assert_int_equal(f->s.n, 2);
	assert_string_equal(f->s.a[0].rule, "tr");
	assert_int_equal(f->s.a[0].type, AOD_RULE_ERROR);
	assert_string_equal(keys_of(f, 0, buf, sizeof(buf)), "STATUS_ACCESS_DENIED:1");
	assert_int_equal(f->s.a[0].worst[0].smb.status, ACCESS_DENIED);
	/* mode all: access denied counts, not found (0xC0000034) is benign by default */
	assert_string_equal(f->s.a[1].rule, "al");
	assert_string_equal(keys_of(f, 1, buf, sizeof(buf)), "STATUS_ACCESS_DENIED:1");
	/* benign statuses never count, in any mode */
	feed(f, smb_err(T0 + 2 * SEC, 1 /* SESSION_SETUP */, 0xC0000016u, 0));
	feed(f, smb_err(T0 + 2 * SEC, 14, 0x80000006u, -61));
	feed(f, smb_err(T0 + 2 * SEC, SMB2_READ, 0xC0000011u, -61));
	assert_int_equal(f->s.n, 2);
	/* excludeonly: another status counts, the excluded one does not */
	feed(f, smb_err(T0 + 4 * SEC, SMB2_WRITE, ACCESS_DENIED, -13));
	feed(f, smb_err(T0 + 4 * SEC, SMB2_WRITE, 0xC000007Fu, -28)); /* DISK_FULL */
	assert_int_equal(f->s.n, 5);
	assert_string_equal(f->s.a[4].rule, "ex");
	assert_int_equal(f->s.a[4].total, 1);
	assert_int_equal(f->s.a[4].worst[0].smb.status, 0xC000007Fu);
}

/* Error rules slide the same way: a straddling burst of errors fires. */
static void test_error_rule_slides(void **state)
{
	struct fix *f = *state;

	load_yaml(f, "    err:\n      type: Error\n      tool: smbiosnoop\n      mode: trackonly\n"
		     "      acceptable_count: 3\n      track_codes: [EACCES]\n");
	start(f);
	feed(f, smb_err(T0 + 2800 * MS, SMB2_CREATE, ACCESS_DENIED, -13));
	feed(f, smb_err(T0 + 2900 * MS, SMB2_CREATE, ACCESS_DENIED, -13));
	assert_int_equal(feed(f, smb_err(T0 + 3100 * MS, SMB2_CREATE, ACCESS_DENIED, -13)), 1);
	assert_int_equal(f->s.a[0].total, 3);
	/* two more, then nothing for a second: never 3 again */
	feed(f, smb_err(T0 + 5 * SEC, SMB2_CREATE, ACCESS_DENIED, -13));
	feed(f, smb_err(T0 + 6500 * MS, SMB2_CREATE, ACCESS_DENIED, -13));
	aod_detector_advance(f->d, UINT64_MAX);
	assert_int_equal(f->s.n, 1);
}

/* Reconnects are context for bundles: no rule, of any type, counts them. */
static void test_reconnect_never_counts(void **state)
{
	struct fix *f = *state;
	struct aod_event ev = base(AOD_EVENT_SMB_RECONNECT, T0, 7, "cifsd");

	load_yaml(f, "    al:\n      type: Error\n      tool: smbiosnoop\n      mode: all\n"
		     "      acceptable_count: 1\n"
		     "    lat:\n      type: Latency\n      tool: smbslower\n      acceptable_count: 1\n"
		     "      default_threshold_ms: 0\n");
	start(f);
	ev.conn.conn_id = 1;
	ev.conn.currmid = 45;
	assert_int_equal(feed(f, ev), 0);
	assert_int_equal(aod_detector_advance(f->d, UINT64_MAX), 0);
	assert_int_equal(stats(f).events_in, 1);
	assert_int_equal(stats(f).events_counted, 0);
}

static void test_not_found_when_configured(void **state)
{
	struct fix *f = *state;

	load_yaml(f, "    tr:\n      type: Error\n      tool: smbiosnoop\n      mode: trackonly\n"
		     "      acceptable_count: 2\n      track_codes: [STATUS_OBJECT_NAME_NOT_FOUND]\n");
	start(f);
	feed(f, smb_err(T0, SMB2_CREATE, NOT_FOUND, -2));
	feed(f, smb_err(T0 + MS, SMB2_CREATE, NOT_FOUND, -2));
	assert_int_equal(f->s.n, 1);
	assert_string_equal(f->s.a[0].keys[0].key, "STATUS_OBJECT_NAME_NOT_FOUND");
	assert_int_equal(f->s.a[0].keys[0].count, 2);
}

/* Error worst list: the first N in time order. */
static void test_error_worst_first_in_time(void **state)
{
	struct fix *f = *state;

	load_yaml(f, "    err:\n      type: Error\n      tool: smbiosnoop\n      mode: trackonly\n"
		     "      acceptable_count: 12\n      track_codes: [EACCES, EIO]\n");
	start(f);
	for (int i = 0; i < 12; i++)
		feed(f, smb_err(T0 + (uint64_t)(i + 1) * MS, SMB2_WRITE,
				i < 9 ? ACCESS_DENIED : 0xC0000185u /* IO_DEVICE_ERROR */,
				i < 9 ? -13 : -5));
	assert_int_equal(f->s.n, 1);
	assert_int_equal(f->s.a[0].nworst, AOD_ANOMALY_WORST);
	for (int i = 0; i < AOD_ANOMALY_WORST; i++)
		assert_int_equal(f->s.a[0].worst[i].mono_ns, T0 + (uint64_t)(i + 1) * MS);
	assert_int_equal(f->s.a[0].nkeys, 2);
	assert_string_equal(f->s.a[0].keys[0].key, "STATUS_ACCESS_DENIED");
	assert_int_equal(f->s.a[0].keys[0].count, 9);
	assert_int_equal(f->s.a[0].keys[1].count, 3);
	assert_int_equal(f->s.a[0].keys[0].threshold_ns, 0);
	assert_int_equal(f->s.a[0].emergency_threshold_ns, 0);
}

static void test_block_errors(void **state)
{
	struct fix *f = *state;

	load_yaml(f, "    be:\n      type: Error\n      tool: bioerror\n      mode: all\n"
		     "      acceptable_count: 2\n      exclude_codes: [EOPNOTSUPP]\n");
	start(f);
	feed(f, blk_err(T0, "vda", -5));
	feed(f, blk_err(T0 + MS, "vda", -95)); /* EOPNOTSUPP */
	feed(f, smb_err(T0 + MS, SMB2_WRITE, ACCESS_DENIED, -13));
	assert_int_equal(f->s.n, 0);
	assert_int_equal(feed(f, blk_err(T0 + 2 * MS, "vdb", -5)), 1);
	assert_int_equal(f->s.a[0].source, AOD_SOURCE_BLOCK);
	assert_int_equal(f->s.a[0].nkeys, 1);
	assert_string_equal(f->s.a[0].keys[0].key, "EIO");
	assert_int_equal(f->s.a[0].keys[0].count, 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fix_setup, fix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_below_at_above),
		T(test_straddling_burst),
		T(test_count_boundary),
		T(test_never_n_in_any_window),
		T(test_spaced_just_over_w),
		T(test_n_anywhere_fire_at_last),
		T(test_old_events_pruned),
		T(test_consumed_no_double_fire),
		T(test_quiet_period_defers),
		T(test_out_of_order_and_late),
		T(test_emergency_fires_at_once),
		T(test_emergency_needs_counted_event),
		T(test_stuck_batch),
		T(test_window_cap_dropped),
		T(test_window_cap_prunes_old),
		T(test_keys_and_worst_latency),
		T(test_ids_unique),
		T(test_reload_keeps_window),
		T(test_reload_keeps_due),
		T(test_random_streams),
		T(test_smb_trackonly),
		T(test_smb_excludeonly_and_all),
		T(test_block_devices),
		T(test_error_codes),
		T(test_error_rule_slides),
		T(test_reconnect_never_counts),
		T(test_not_found_when_configured),
		T(test_error_worst_first_in_time),
		T(test_block_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
