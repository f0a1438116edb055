// SPDX-License-Identifier: MIT
/* Replay: the virtual clock, recordings, bad lines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/evjson.h"
#include "agent/replay.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define WALL_OFF 1795459000000000000ULL

#define MAX_SEEN 32

struct seen {
	int n;
	struct aod_anomaly a[MAX_SEEN];
	int bad_lines;
	char last_bad[512];
};

static void collect(const struct aod_anomaly *a, void *ctx)
{
	struct seen *s = ctx;

	assert_true(s->n < MAX_SEEN);
	s->a[s->n++] = *a;
}

static void bad_line(const char *msg, void *ctx)
{
	struct seen *s = ctx;

	s->bad_lines++;
	snprintf(s->last_bad, sizeof(s->last_bad), "%s", msg);
}

static struct aod_config *load_yaml(const char *rules)
{
	struct aod_config *cfg = calloc(1, sizeof(*cfg));
	struct aod_config_error err = { { 0 } };
	char yaml[4096];

	assert_non_null(cfg);
	snprintf(yaml, sizeof(yaml),
		 "watch_interval_sec: 1\naod_output_dir: /tmp/aod-test\n"
		 "guardian:\n  anomalies:\n%s", rules);
	if (aod_config_load_buffer(cfg, "<test>", yaml, strlen(yaml), &err))
		fail_msg("config did not load: %s", err.msg);
	return cfg;
}

static const char smb20_rules[] =
	"    latency:\n      type: Latency\n      tool: smbslower\n      acceptable_count: 10\n"
	"      default_threshold_ms: 20\n"
	"    error:\n      type: Error\n      tool: smbiosnoop\n      mode: trackonly\n"
	"      acceptable_count: 5\n      track_codes: [STATUS_ACCESS_DENIED]\n";

static const char smb500_rules[] =
	"    latency:\n      type: Latency\n      tool: smbslower\n      acceptable_count: 10\n"
	"      default_threshold_ms: 500\n";

static struct aod_event slow(uint64_t mono, uint64_t lat)
{
	struct aod_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = AOD_EVENT_SMB_SLOW;
	ev.mono_ns = mono;
	ev.wall_ns = mono + WALL_OFF;
	ev.pid = ev.tgid = 42;
	snprintf(ev.comm, sizeof(ev.comm), "dd");
	ev.smb.cmd = 9;
	ev.smb.latency_ns = lat;
	return ev;
}

/* ---- the virtual clock ---- */

static void test_boundaries(void **state)
{
	struct aod_config *cfg = load_yaml(smb20_rules);
	struct aod_replay *r;
	struct seen s = { 0 };
	uint64_t t0 = 500 * SEC;

	r = aod_replay_new(cfg, collect, &s);
	assert_non_null(r);
	aod_replay_set_start(r, t0);
	/* 10 slow ops in [t0+0.2, t0+0.65]: nothing before the boundary t0+1 s */
	for (int i = 0; i < 10; i++) {
		struct aod_event ev = slow(t0 + 200 * MS + (uint64_t)i * 50 * MS, 30 * MS);

		assert_int_equal(aod_replay_feed(r, &ev), 0);
	}
	/* an event exactly at the boundary belongs to the window ending there */
	struct aod_event at = slow(t0 + SEC, 30 * MS);

	assert_int_equal(aod_replay_feed(r, &at), 0);
	assert_int_equal(s.n, 0);
	/* the next event, after the boundary, makes the boundary evaluate */
	struct aod_event next = slow(t0 + 1500 * MS, 1 * MS);

	assert_int_equal(aod_replay_feed(r, &next), 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.a[0].total, 11);
	assert_int_equal(s.a[0].id, t0 + SEC + WALL_OFF);
	assert_int_equal(s.a[0].window_end_ns, t0 + SEC + WALL_OFF);
	/* a long quiet gap, then a burst: found at its own boundary */
	for (int i = 0; i < 10; i++) {
		struct aod_event ev = slow(t0 + 3600 * SEC + 100 * MS + (uint64_t)i * MS, 40 * MS);

		aod_replay_feed(r, &ev);
	}
	assert_int_equal(s.n, 1);
	/* flushed at the end */
	assert_int_equal(aod_replay_finish(r), 1);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.a[1].window_end_ns, t0 + 3601 * SEC + WALL_OFF);
	assert_int_equal(s.a[1].total, 10);
	aod_replay_free(r);
	free(cfg);
}

static void test_emergency_at_event_time(void **state)
{
	struct aod_config *cfg = load_yaml(smb20_rules);
	struct aod_replay *r;
	struct seen s = { 0 };
	struct aod_event ev = slow(700 * SEC + 300 * MS, 1200 * MS);

	r = aod_replay_new(cfg, collect, &s);
	assert_int_equal(aod_replay_feed(r, &ev), 1);
	assert_int_equal(s.n, 1);
	assert_true(s.a[0].emergency);
	assert_int_equal(s.a[0].window_end_ns, ev.wall_ns);
	assert_int_equal(aod_replay_finish(r), 0);
	aod_replay_free(r);
	free(cfg);
}

/* ---- the recording in tests/data ---- */

static const char *data_path(const char *name, char *buf, size_t len)
{
	const char *top = getenv("AOD_TOP");

	snprintf(buf, len, "%s/tests/data/%s", top ? top : ".", name);
	return buf;
}

static void test_recording_20ms(void **state)
{
	struct aod_config *cfg = load_yaml(smb20_rules);
	struct seen s = { 0 };
	struct aod_replay_opts opts = { .on_anomaly = collect, .ctx = &s };
	struct aod_replay_stats st;
	char path[4096], err[512] = "", line[2048];

	if (aod_replay_file(data_path("smb-netem.jsonl", path, sizeof(path)), cfg, &opts, &st, err,
			    sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(st.lines, 60);
	assert_int_equal(st.events, 59);
	assert_int_equal(st.anomalies, 3);
	assert_int_equal(s.n, 3);

	/* the dd burst under netem: 14 writes */
	assert_string_equal(s.a[0].rule, "latency");
	assert_int_equal(s.a[0].total, 14);
	assert_int_equal(s.a[0].nkeys, 1);
	assert_string_equal(s.a[0].keys[0].key, "SMB2_WRITE");
	assert_true(s.a[0].worst[0].smb.latency_ns >= 106 * MS);
	assert_string_equal(s.a[0].worst[0].comm, "dd");
	assert_int_equal(s.a[0].window_end_ns, 1795459682000000000ULL); /* 18:48:02 */
	/* dd and cp: writes and reads named */
	assert_string_equal(s.a[1].rule, "latency");
	assert_int_equal(s.a[1].total, 13);
	assert_int_equal(s.a[1].nkeys, 2);
	assert_string_equal(s.a[1].keys[0].key, "SMB2_WRITE");
	assert_int_equal(s.a[1].keys[0].count, 7);
	assert_string_equal(s.a[1].keys[1].key, "SMB2_READ");
	assert_int_equal(s.a[1].keys[1].count, 6);
	/* the read-only share: 6 access denied; not-found lookups do not count */
	assert_string_equal(s.a[2].rule, "error");
	assert_int_equal(s.a[2].type, AOD_RULE_ERROR);
	assert_int_equal(s.a[2].total, 6);
	assert_string_equal(s.a[2].keys[0].key, "STATUS_ACCESS_DENIED");
	assert_string_equal(s.a[2].worst[0].comm, "touch");

	aod_anomaly_format_line(&s.a[2], line, sizeof(line));
	assert_non_null(strstr(line, "rule=error source=smb type=error count=6/5 "));
	assert_non_null(strstr(line, "keys=STATUS_ACCESS_DENIED:6 worst=4300/touch:SMB2_CREATE:STATUS_ACCESS_DENIED,"));
	free(cfg);
}

static void test_recording_500ms(void **state)
{
	struct aod_config *cfg = load_yaml(smb500_rules);
	struct seen s = { 0 };
	struct aod_replay_opts opts = { .on_anomaly = collect, .ctx = &s };
	struct aod_replay_stats st;
	char path[4096], err[512] = "";

	if (aod_replay_file(data_path("smb-netem.jsonl", path, sizeof(path)), cfg, &opts, &st, err,
			    sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(st.events, 59);
	assert_int_equal(st.anomalies, 0);
	assert_int_equal(s.n, 0);
	free(cfg);
}

/* ---- bad input ---- */

static int replay_text(const char *text, bool skip_bad, struct seen *s,
		       struct aod_replay_stats *st, char *err, size_t len)
{
	struct aod_config *cfg = load_yaml(smb20_rules);
	struct aod_replay_opts opts = {
		.skip_bad = skip_bad, .on_anomaly = collect, .ctx = s, .on_bad_line = bad_line,
	};
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	int rc;

	assert_non_null(in);
	rc = aod_replay_stream(in, "rec.jsonl", cfg, &opts, st, err, len);
	fclose(in);
	free(cfg);
	return rc;
}

static const char bad_text[] =
	"{\"aod_record\":1,\"started_mono_ns\":1000}\n"
	"\n"
	"{\"kind\":\"smb_slow\",\"mono_ns\":2000,\"wall_ns\":5,\"pid\":1,\"tgid\":1,\"comm\":\"a\","
	"\"cmd\":\"SMB2_READ\",\"sesid\":1,\"mid\":1,\"tid\":1,\"latency_ns\":30000000}\n"
	"{\"kind\":\"smb_slow\",\"mono_ns\":3000,\"wall_ns\":5,\"pid\":1,\"tgid\":1,\"comm\":\"a\","
	"\"cmd\":\"SMB2_READ\",\"sesid\":1,\"mid\":1,\"tid\":1}\n"
	"{\"kind\":\"smb_slow\", oops\n"
	"{\"aod_record\":1}\n"
	"[1,2]\n";

static void test_bad_line_stops(void **state)
{
	struct aod_replay_stats st;
	struct seen s = { 0 };
	char err[512] = "";

	assert_int_equal(replay_text(bad_text, false, &s, &st, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "rec.jsonl:4: missing field 'latency_ns' (expected an integer in "
				 "0..18446744073709551615)");
	assert_int_equal(st.events, 1);
}

static void test_skip_bad(void **state)
{
	struct aod_replay_stats st;
	struct seen s = { 0 };
	char err[512] = "";

	assert_int_equal(replay_text(bad_text, true, &s, &st, err, sizeof(err)), 0);
	assert_int_equal(st.lines, 7);
	assert_int_equal(st.events, 1);
	assert_int_equal(st.skipped, 4);
	assert_int_equal(s.bad_lines, 4);
	assert_string_equal(s.last_bad, "rec.jsonl:7: expected an event object, got an array");

	/* the specific messages */
	assert_int_equal(replay_text("{\"kind\":\"smb_slow\", oops\n", false, &s, &st, err,
				     sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rec.jsonl:1: invalid JSON at column"));
	assert_int_equal(replay_text("\n{\"kind\":\"blk_err\"}\n{\"aod_record\":1}\n", true, &s, &st,
				     err, sizeof(err)), 0);
	assert_string_equal(s.last_bad, "rec.jsonl:3: a recording header (\"aod_record\") is allowed "
					"only on the first line");
}

static void test_missing_file(void **state)
{
	struct aod_config *cfg = load_yaml(smb20_rules);
	struct aod_replay_stats st;
	char err[512] = "";

	assert_int_equal(aod_replay_file("/nonexistent/rec.jsonl", cfg, NULL, &st, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "/nonexistent/rec.jsonl: No such file or directory");
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_emergency_at_event_time),
		cmocka_unit_test(test_recording_20ms),
		cmocka_unit_test(test_recording_500ms),
		cmocka_unit_test(test_bad_line_stops),
		cmocka_unit_test(test_skip_bad),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
