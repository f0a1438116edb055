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

/* ---- timing: event time, never a tick ---- */

static const char smb3_rules[] =
	"    latency:\n      type: Latency\n      tool: smbslower\n      acceptable_count: 3\n"
	"      default_threshold_ms: 20\n";

/* A recording of SMB2_WRITEs at the given offsets (ms) after base, 30 ms each,
 * with a header that says it started at start_mono. */
static char *recording(uint64_t start_mono, uint64_t base, const uint64_t *ms, int n)
{
	size_t len = 0;
	char *text = NULL;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	fprintf(f, "{\"aod_record\":1,\"started_mono_ns\":%llu}\n", (unsigned long long)start_mono);
	for (int i = 0; i < n; i++) {
		uint64_t t = base + ms[i] * MS;

		fprintf(f, "{\"kind\":\"smb_slow\",\"mono_ns\":%llu,\"wall_ns\":%llu,\"pid\":7,"
			   "\"tgid\":7,\"comm\":\"dd\",\"cmd\":\"SMB2_WRITE\",\"sesid\":1,"
			   "\"mid\":%d,\"tid\":1,\"latency_ns\":30000000}\n",
			(unsigned long long)t, (unsigned long long)(t + WALL_OFF), i + 1);
	}
	fclose(f);
	return text;
}

static int replay_rules(const char *rules, const char *text, struct seen *s)
{
	struct aod_config *cfg = load_yaml(rules);
	struct aod_replay_opts opts = { .on_anomaly = collect, .ctx = s };
	struct aod_replay_stats st;
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	char err[512] = "";
	int rc;

	assert_non_null(in);
	rc = aod_replay_stream(in, "rec.jsonl", cfg, &opts, &st, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	fclose(in);
	free(cfg);
	return (int)st.anomalies;
}

/* The reproduction, replayed with the recording starting at every
 * phase of what used to be the evaluation tick: always one anomaly, at the
 * third op. */
static void test_burst_crossing_ticks(void **state)
{
	static const uint64_t straddle[] = { 2800, 2900, 3100, 3200 };
	static const uint64_t inside[] = { 2100, 2200, 2300, 2400 };
	static const uint64_t phases_ms[] = { 0, 100, 250, 370, 500, 900, 999 };
	uint64_t base = 500 * SEC;

	for (size_t p = 0; p < sizeof(phases_ms) / sizeof(phases_ms[0]); p++) {
		uint64_t start = base + phases_ms[p] * MS;
		char *a = recording(start, base, straddle, 4), *b = recording(start, base, inside, 4);
		struct seen s = { 0 };

		assert_int_equal(replay_rules(smb3_rules, a, &s), 1);
		assert_int_equal(s.a[0].total, 3);
		assert_int_equal(s.a[0].window_end_ns, base + 3100 * MS + WALL_OFF);
		assert_int_equal(replay_rules(smb3_rules, b, &s), 1);
		assert_int_equal(s.a[1].window_end_ns, base + 2300 * MS + WALL_OFF);
		free(a);
		free(b);
	}
}

/* What is due at the end of a quiet period fires at the end of the replay. */
static void test_due_fires_at_finish(void **state)
{
	static const uint64_t ms[] = { 100, 200, 300, 500, 600, 700 };
	uint64_t base = 900 * SEC;
	char *text = recording(base, base, ms, 6);
	struct seen s = { 0 };

	assert_int_equal(replay_rules(smb3_rules, text, &s), 2);
	assert_int_equal(s.a[0].window_end_ns, base + 300 * MS + WALL_OFF);
	assert_int_equal(s.a[1].window_end_ns, base + 1300 * MS + WALL_OFF);
	assert_int_equal(s.a[1].total, 3);
	free(text);
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

	/* Expected values from an independent model of detector.h's semantics
	 * run on the same file (a brute-force script, not this code). */
	/* the dd burst under netem: fires at its 10th slow write */
	assert_string_equal(s.a[0].rule, "latency");
	assert_int_equal(s.a[0].total, 10);
	assert_int_equal(s.a[0].nkeys, 1);
	assert_string_equal(s.a[0].keys[0].key, "SMB2_WRITE");
	assert_true(s.a[0].worst[0].smb.latency_ns >= 106 * MS);
	assert_string_equal(s.a[0].worst[0].comm, "dd");
	assert_int_equal(s.a[0].window_end_ns, 1795459681588420818ULL);
	/* the rest of dd's writes and cp's reads: due at the end of the quiet second */
	assert_string_equal(s.a[1].rule, "latency");
	assert_int_equal(s.a[1].total, 13);
	assert_int_equal(s.a[1].nkeys, 2);
	assert_string_equal(s.a[1].keys[0].key, "SMB2_WRITE");
	assert_int_equal(s.a[1].keys[0].count, 9);
	assert_string_equal(s.a[1].keys[1].key, "SMB2_READ");
	assert_int_equal(s.a[1].keys[1].count, 4);
	assert_int_equal(s.a[1].window_end_ns, 1795459682588420818ULL);
	/* the read-only share: fires at the 5th access denied; not-found lookups do not count */
	assert_string_equal(s.a[2].rule, "error");
	assert_int_equal(s.a[2].type, AOD_RULE_ERROR);
	assert_int_equal(s.a[2].total, 5);
	assert_int_equal(s.a[2].window_end_ns, 1795459685273004051ULL);
	assert_string_equal(s.a[2].keys[0].key, "STATUS_ACCESS_DENIED");
	assert_string_equal(s.a[2].worst[0].comm, "touch");

	aod_anomaly_format_line(&s.a[2], line, sizeof(line));
	assert_non_null(strstr(line, "rule=error source=smb type=error count=5/5 "));
	assert_non_null(strstr(line, "keys=STATUS_ACCESS_DENIED:5 worst=4300/touch:SMB2_CREATE:STATUS_ACCESS_DENIED,"));
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
		cmocka_unit_test(test_burst_crossing_ticks),
		cmocka_unit_test(test_due_fires_at_finish),
		cmocka_unit_test(test_emergency_at_event_time),
		cmocka_unit_test(test_recording_20ms),
		cmocka_unit_test(test_recording_500ms),
		cmocka_unit_test(test_bad_line_stops),
		cmocka_unit_test(test_skip_bad),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
