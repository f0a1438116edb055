// SPDX-License-Identifier: MIT
/*
 * Health history and scoring on synthetic reports: median/MAD baselines, a
 * unit that doubles its memory is flagged and steady noise is not, learning
 * below min_samples, rates never cumulative counters; history save, list,
 * load and retention (max_files 0 keeps everything); diff; metrics.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "health/health.h"
#include "health/history.h"
#include "health/hjson.h"
#include "health/rule.h"
#include "health/score.h"

#define MIB (1024.0 * 1024.0)
#define NPAST 20

/* A report with one unit in resources.units (and in boot.blame), at time t seconds. */
static json_t *report(unsigned i, const char *unit, double mem, double cpu_rate, double cpu_usage_usec,
		      double restarts)
{
	char id[40];

	snprintf(id, sizeof(id), "20250101T%02u%02u%02u.000Z", i / 3600, i / 60 % 60, i % 60);
	return json_pack("{s:s,s:s,s:I,s:{s:[{s:s,s:f,s:f,s:f,s:f,s:i,s:f}]},s:{s:[{s:s,s:i}]},"
			 "s:{s:[]},s:{s:s}}",
			 "id", id, "boot_id", "b1", "time_usec", (json_int_t)i * 3600 * 1000000,
			 "resources", "units", "name", unit, "memory_current_bytes", mem, "cpu_rate", cpu_rate,
			 "cpu_usage_usec", cpu_usage_usec, "io_rate_bytes_per_sec", 0.0, "tasks", 4,
			 "n_restarts", restarts,
			 "boot", "blame", "unit", unit, "usec", 200000,
			 "units", "failed",
			 "summary", "status", "healthy");
}

static struct aod_health_config cfg(void)
{
	struct aod_config c;

	aod_config_defaults(&c);
	return c.health;
}

static double noise(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return ((double)((*seed >> 16) % 2001) - 1000.0) / 1000.0;  /* -1 .. 1 */
}

static const json_t *anomaly(const json_t *rep, const char *unit, const char *feature)
{
	size_t i;
	json_t *a;

	json_array_foreach(hj_path(rep, "scores.anomalies"), i, a)
		if (!strcmp(hj_gets(a, "unit"), unit) && !strcmp(hj_gets(a, "feature"), feature))
			return a;
	return NULL;
}

static const char *unit_state(const json_t *rep, const char *unit)
{
	size_t i;
	json_t *u;

	json_array_foreach(hj_path(rep, "scores.units"), i, u)
		if (!strcmp(hj_gets(u, "unit"), unit))
			return hj_gets(u, "state");
	return NULL;
}

static void free_past(json_t **past, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(past[i]);
}

static void test_baseline_math(void **state)
{
	double v[] = { 5, 1, 3, 2, 4 }, w[] = { 1, 2, 3, 4 }, x[] = { NAN, 10, NAN };
	struct aod_baseline b;

	assert_true(aod_median(v, 5) == 3);
	assert_true(aod_median(w, 4) == 2.5);
	double z[] = { 10, 10, 10, 10, 12, 8, 10 };
	assert_int_equal(aod_baseline(z, 7, 0.5, &b), 0);
	assert_true(b.median == 10 && b.mad == 0);
	/* MAD 0: the scale is the larger of the floor and 10 % of the median */
	assert_true(b.scale == 1.0);
	assert_true(aod_score(&b, 14) == 4.0);
	assert_true(aod_score(&b, 6) == 0.0);           /* decreases do not score */
	assert_int_equal(aod_score_judge(&b, 4.0, 5, 3.5), AOD_SCORE_ANOMALY);
	assert_int_equal(aod_score_judge(&b, 3.5, 5, 3.5), AOD_SCORE_NORMAL);   /* > threshold, not >= */
	assert_int_equal(aod_score_judge(&b, 99, 8, 3.5), AOD_SCORE_LEARNING);  /* 7 samples < 8 */
	assert_int_equal(aod_baseline(x, 3, 1, &b), 0);
	assert_int_equal(b.n, 1);
	double none[] = { NAN };
	assert_int_equal(aod_baseline(none, 1, 1, &b), -22);
}

static void test_memory_doubling_flagged(void **state)
{
	struct aod_health_config c = cfg();
	json_t *past[NPAST], *now;
	unsigned seed = 7;
	const json_t *a;

	for (unsigned i = 0; i < NPAST; i++)
		past[i] = report(i, "app.service", 100 * MIB * (1 + 0.03 * noise(&seed)), 0.2, i * 1e6, 0);
	now = report(NPAST, "app.service", 200 * MIB, 0.2, NPAST * 1e6, 0);
	assert_int_equal(aod_health_score(now, past, NPAST, &c), 0);
	a = anomaly(now, "app.service", "memory_bytes");
	assert_non_null(a);
	assert_true(hj_getn(a, "score", 0) > c.threshold);
	assert_true(fabs(hj_getn(a, "median", 0) - 100 * MIB) < 4 * MIB);
	assert_string_equal(unit_state(now, "app.service"), "anomaly");
	/* only memory moved */
	assert_int_equal(hj_len(hj_path(now, "scores.anomalies")), 1);
	json_decref(now);
	free_past(past, NPAST);
}

static void test_steady_noise_not_flagged(void **state)
{
	struct aod_health_config c = cfg();
	json_t *past[NPAST], *now;
	unsigned seed = 99;

	for (int round = 0; round < 50; round++) {
		for (unsigned i = 0; i < NPAST; i++)
			past[i] = report(i, "noisy.service", 80 * MIB * (1 + 0.08 * noise(&seed)),
					 0.5 * (1 + 0.3 * noise(&seed)), i * 1e6, 0);
		now = report(NPAST, "noisy.service", 80 * MIB * (1 + 0.08 * noise(&seed)),
			     0.5 * (1 + 0.3 * noise(&seed)), NPAST * 1e6, 0);
		assert_int_equal(aod_health_score(now, past, NPAST, &c), 0);
		assert_int_equal(hj_len(hj_path(now, "scores.anomalies")), 0);
		assert_string_equal(unit_state(now, "noisy.service"), "normal");
		json_decref(now);
		free_past(past, NPAST);
	}
}

static void test_learning_below_min_samples(void **state)
{
	struct aod_health_config c = cfg();
	json_t *past[4], *now;

	for (unsigned i = 0; i < 4; i++)
		past[i] = report(i, "new.service", 10 * MIB, 0.1, 0, 0);
	now = report(4, "new.service", 500 * MIB, 0.1, 0, 0);   /* a huge jump, but only 4 < 5 samples */
	assert_int_equal(aod_health_score(now, past, 4, &c), 0);
	assert_string_equal(unit_state(now, "new.service"), "learning");
	assert_int_equal(hj_len(hj_path(now, "scores.anomalies")), 0);
	json_decref(now);
	free_past(past, 4);
	/* no history at all */
	now = report(0, "new.service", 500 * MIB, 0.1, 0, 0);
	assert_int_equal(aod_health_score(now, NULL, 0, &c), 0);
	assert_string_equal(unit_state(now, "new.service"), "learning");
	json_decref(now);
}

static void test_cumulative_counters_not_scored(void **state)
{
	struct aod_health_config c = cfg();
	json_t *past[NPAST], *now;

	/* cpu_usage_usec grows without end while the rate stays: nothing is anomalous */
	for (unsigned i = 0; i < NPAST; i++)
		past[i] = report(i, "busy.service", 50 * MIB, 1.0, i * 3.6e9, 0);
	now = report(NPAST, "busy.service", 50 * MIB, 1.0, NPAST * 3.6e9 * 10, 0);
	assert_int_equal(aod_health_score(now, past, NPAST, &c), 0);
	assert_int_equal(hj_len(hj_path(now, "scores.anomalies")), 0);
	json_decref(now);
	free_past(past, NPAST);
}

static void test_restarts_are_a_rate(void **state)
{
	struct aod_health_config c = cfg();
	json_t *past[NPAST], *now;
	const json_t *a;

	/* NRestarts 100 and steady (100 per report means 0 per hour); then 12 in the last hour */
	for (unsigned i = 0; i < NPAST; i++)
		past[i] = report(i, "flappy.service", 5 * MIB, 0.0, 0, 100);
	now = report(NPAST, "flappy.service", 5 * MIB, 0.0, 0, 112);
	assert_int_equal(aod_health_score(now, past, NPAST, &c), 0);
	a = anomaly(now, "flappy.service", "restarts_per_hour");
	assert_non_null(a);
	assert_true(hj_getn(a, "value", 0) == 12);
	json_decref(now);
	free_past(past, NPAST);
	/* after a reboot (another boot id) the counter restarts: no rate */
	for (unsigned i = 0; i < NPAST; i++)
		past[i] = report(i, "flappy.service", 5 * MIB, 0.0, 0, 50);
	now = report(NPAST, "flappy.service", 5 * MIB, 0.0, 0, 3);
	json_object_set_new(now, "boot_id", json_string("b2"));
	assert_int_equal(aod_health_score(now, past, NPAST, &c), 0);
	assert_null(anomaly(now, "flappy.service", "restarts_per_hour"));
	json_decref(now);
	free_past(past, NPAST);
}

static void test_window_is_last_n(void **state)
{
	struct aod_health_config c = cfg();
	json_t *past[NPAST], *now;

	/* old reports at 1 GiB, the last baseline_reports (8) at 100 MiB: 200 MiB is a jump */
	c.baseline_reports = 8;
	for (unsigned i = 0; i < NPAST; i++)
		past[i] = report(i, "w.service", (i < NPAST - 8 ? 1024 : 100) * MIB, 0, 0, 0);
	now = report(NPAST, "w.service", 200 * MIB, 0, 0, 0);
	assert_int_equal(aod_health_score(now, past, NPAST, &c), 0);
	assert_non_null(anomaly(now, "w.service", "memory_bytes"));
	assert_int_equal((int)hj_getn(hj_path(now, "scores"), "history_reports", 0), 8);
	json_decref(now);
	free_past(past, NPAST);
}

/* ---- history on disk ---- */

static char *tmpdir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/aod-hist-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void rmrf(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void save_n(const char *dir, unsigned n, uint32_t max_files)
{
	size_t deleted;

	for (unsigned i = 0; i < n; i++) {
		json_t *r = report(i, "a.service", 1, 0, 0, 0);

		assert_int_equal(aod_history_save(dir, r, max_files, 3, &deleted), 0);
		json_decref(r);
	}
}

static void test_retention_plan(void **state)
{
	assert_int_equal(aod_history_to_delete(100, 0), 0);  /* 0 keeps everything */
	assert_int_equal(aod_history_to_delete(100, 50), 50);
	assert_int_equal(aod_history_to_delete(50, 50), 0);
	assert_int_equal(aod_history_to_delete(3, 50), 0);
	assert_int_equal(aod_history_to_delete(0, 0), 0);
}

static void test_history_max_files_zero_keeps_all(void **state)
{
	char *dir = tmpdir(), sub[128];
	struct aod_hist_entry *list;
	struct stat st;
	size_t n;

	snprintf(sub, sizeof(sub), "%s/a/b/health", dir);
	save_n(sub, 60, 0);
	assert_int_equal(aod_history_list(sub, &list, &n), 0);
	assert_int_equal(n, 60);
	/* newest first, by id */
	assert_string_equal(list[0].id, "20250101T000059.000Z");
	assert_string_equal(list[59].id, "20250101T000000.000Z");
	free(list);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	rmrf(dir);
}

static void test_history_max_files_keeps_newest(void **state)
{
	char *dir = tmpdir(), path[256];
	struct aod_hist_entry *list;
	size_t n, deleted;
	FILE *f;

	save_n(dir, 7, 3);
	assert_int_equal(aod_history_list(dir, &list, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].id, "20250101T000006.000Z");
	assert_string_equal(list[2].id, "20250101T000004.000Z");
	free(list);
	/* files that are not reports are never touched nor counted */
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	f = fopen(path, "w");
	fclose(f);
	snprintf(path, sizeof(path), "%s/.report-20250101T000009.000Z.json.zst.tmp", dir);
	f = fopen(path, "w");
	fclose(f);
	assert_int_equal(aod_history_retain(dir, 1, &deleted), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	assert_int_equal(access(path, F_OK), 0);
	rmrf(dir);
}

static void test_history_roundtrip_resolve(void **state)
{
	char *dir = tmpdir(), id[AOD_HEALTH_ID_LEN];
	json_t *r, **recent;
	size_t n, bad;
	char path[256];
	FILE *f;

	save_n(dir, 4, 0);
	assert_int_equal(aod_history_resolve(dir, "1", id, sizeof(id)), 0);
	assert_string_equal(id, "20250101T000003.000Z");
	assert_int_equal(aod_history_resolve(dir, "latest", id, sizeof(id)), 0);
	assert_string_equal(id, "20250101T000003.000Z");
	assert_int_equal(aod_history_resolve(dir, "4", id, sizeof(id)), 0);
	assert_string_equal(id, "20250101T000000.000Z");
	assert_int_equal(aod_history_resolve(dir, "5", id, sizeof(id)), -2);
	assert_int_equal(aod_history_resolve(dir, "20250101T000002.000Z", id, sizeof(id)), 0);
	assert_int_equal(aod_history_resolve(dir, "report-20250101T000001.000Z.json.zst", id, sizeof(id)), 0);
	assert_string_equal(id, "20250101T000001.000Z");
	assert_int_equal(aod_history_resolve(dir, "../etc/passwd", id, sizeof(id)), -2);
	assert_int_equal(aod_history_load(dir, "20250101T000002.000Z", &r), 0);
	assert_string_equal(hj_gets(r, "id"), "20250101T000002.000Z");
	assert_string_equal(json_string_value(hj_path(r, "summary.status")), "healthy");
	json_decref(r);
	/* a corrupt file is skipped and counted by load_recent */
	snprintf(path, sizeof(path), "%s/report-20250101T000009.000Z.json.zst", dir);
	f = fopen(path, "w");
	fputs("not zstd", f);
	fclose(f);
	assert_int_equal(aod_history_load_recent(dir, 3, &recent, &n, &bad), 0);
	assert_int_equal(n, 2);
	assert_int_equal(bad, 1);
	assert_string_equal(hj_gets(recent[0], "id"), "20250101T000002.000Z");  /* oldest first */
	assert_string_equal(hj_gets(recent[1], "id"), "20250101T000003.000Z");
	aod_history_free_reports(recent, n);
	/* saving the same id twice does not overwrite */
	r = report(3, "a.service", 1, 0, 0, 0);
	assert_int_equal(aod_history_save(dir, r, 0, 3, &n), -17);
	json_decref(r);
	assert_false(aod_history_name_parse("report-.json.zst", NULL, 0));
	assert_false(aod_history_name_parse("report-x/y.json.zst", NULL, 0));
	assert_false(aod_history_name_parse("report-20250101T000001.000Z.json", NULL, 0));
	rmrf(dir);
}

/* ---- diff ---- */

static json_t *diff_report(const char *id, const char *failed_unit, double mem, const char *cycle_b)
{
	return json_pack("{s:s,s:{s:[{s:s,s:s,s:s}],s:[]},s:{s:[{s:s,s:f,s:f,s:f,s:i}]},"
			 "s:{s:[{s:s,s:i}]},s:{s:[{s:[sss]}]},s:{s:s}}",
			 "id", id,
			 "units", "failed", "name", failed_unit, "problem", "failed", "reason", "exit-code",
			 "flapping",
			 "resources", "units", "name", "mem.service", "memory_current_bytes", mem, "cpu_rate", 0.1,
			 "io_rate_bytes_per_sec", 0.0, "tasks", 1,
			 "logs", "patterns", "name", "segfault", "count", (int)(mem / MIB),
			 "deps", "cycles", "path", "a.service", cycle_b, "a.service",
			 "summary", "status", "failed");
}

static void test_diff(void **state)
{
	json_t *a = diff_report("A", "old.service", 20 * MIB, "b.service");
	json_t *b = diff_report("B", "new.service", 80 * MIB, "c.service"), *d;

	d = aod_health_diff(a, b);
	assert_int_equal(hj_len(json_object_get(d, "new_problems")), 1);
	assert_string_equal(hj_gets(json_array_get(json_object_get(d, "new_problems"), 0), "unit"), "new.service");
	assert_int_equal(hj_len(json_object_get(d, "resolved")), 1);
	assert_string_equal(hj_gets(json_array_get(json_object_get(d, "resolved"), 0), "unit"), "old.service");
	assert_int_equal(hj_len(json_object_get(d, "resource_changes")), 1);
	assert_string_equal(hj_gets(json_array_get(json_object_get(d, "resource_changes"), 0), "feature"),
			    "memory_bytes");
	assert_true(hj_getn(json_array_get(json_object_get(d, "resource_changes"), 0), "change_percent", 0) == 300);
	assert_int_equal(hj_len(json_object_get(d, "log_patterns")), 1);
	assert_string_equal(json_string_value(json_array_get(hj_path(d, "cycles.new"), 0)),
			    "a.service -> c.service -> a.service");
	assert_int_equal(hj_len(hj_path(d, "cycles.resolved")), 1);
	json_decref(d);
	/* a report against itself: nothing changed */
	d = aod_health_diff(a, a);
	assert_int_equal(hj_len(json_object_get(d, "new_problems")) + hj_len(json_object_get(d, "resolved")) +
			 hj_len(json_object_get(d, "resource_changes")) + hj_len(json_object_get(d, "log_patterns")) +
			 hj_len(hj_path(d, "cycles.new")), 0);
	json_decref(d);
	/* a small move (20 -> 22 MiB) is below the floor and 20 % */
	json_decref(b);
	b = diff_report("B", "old.service", 22 * MIB, "b.service");
	d = aod_health_diff(a, b);
	assert_int_equal(hj_len(json_object_get(d, "resource_changes")), 0);
	json_decref(d);
	json_decref(a);
	json_decref(b);
}

/* ---- metrics ---- */

static void test_metrics(void **state)
{
	json_t *r = json_pack("{s:{s:[{s:s,s:s}],s:[{s:s,s:s}]},s:{s:[{s:s,s:f},{s:s,s:n}]},"
			      "s:{s:[{s:s,s:i}]},s:{s:i}}",
			      "units", "failed", "name", "we\"ird\\.service", "problem", "failed",
			      "sockets", "name", "s.socket", "problem", "socket",
			      "scores", "units", "unit", "a.service", "score", 4.25, "unit", "l.service", "score",
			      "logs", "patterns", "name", "segfault", "count", 3,
			      "deps", "cycles_found", 2);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(aod_health_metrics_render(r, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "# TYPE aod_health_unit_problem gauge\n"));
	assert_non_null(strstr(buf, "aod_health_unit_problem{unit=\"we\\\"ird\\\\.service\",problem=\"failed\"} 1\n"));
	assert_non_null(strstr(buf, "aod_health_unit_problem{unit=\"s.socket\",problem=\"socket\"} 1\n"));
	assert_non_null(strstr(buf, "aod_health_unit_anomaly_score{unit=\"a.service\"} 4.25\n"));
	assert_null(strstr(buf, "l.service"));   /* learning: no score */
	assert_non_null(strstr(buf, "# TYPE aod_health_log_patterns_total counter\n"));
	assert_non_null(strstr(buf, "aod_health_log_patterns_total{pattern=\"segfault\"} 3\n"));
	assert_non_null(strstr(buf, "aod_health_dependency_cycles 2\n"));
	free(buf);
	json_decref(r);
}

/* ---- Health rules ---- */

static json_t *rule_report(const char *failed1, const char *failed2, const char *anomalous)
{
	json_t *r = json_pack("{s:I,s:{s:[]},s:{s:[]}}", "time_usec", (json_int_t)1700000000000000,
			      "units", "failed", "scores", "anomalies");

	if (failed1)
		hj_push(hj_path(r, "units.failed"), json_pack("{s:s}", "name", failed1));
	if (failed2)
		hj_push(hj_path(r, "units.failed"), json_pack("{s:s}", "name", failed2));
	if (anomalous)
		hj_push(hj_path(r, "scores.anomalies"),
			json_pack("{s:s,s:s,s:f}", "unit", anomalous, "feature", "memory_bytes", "score", 12.4));
	return r;
}

static struct aod_rule health_rule(bool on_failed, bool on_anomaly, const char *glob)
{
	struct aod_rule r = { .type = AOD_RULE_HEALTH, .source = AOD_SOURCE_HEALTH };

	snprintf(r.name, sizeof(r.name), "down");
	r.health.on_failed = on_failed;
	r.health.on_anomaly = on_anomaly;
	if (glob) {
		snprintf(r.health.units[0], sizeof(r.health.units[0]), "%s", glob);
		r.health.nunits = 1;
	}
	return r;
}

static void test_health_rule(void **state)
{
	json_t *prev = rule_report("a.service", NULL, NULL);
	json_t *now = rule_report("a.service", "b.service", "m.service");
	struct aod_rule r = health_rule(true, true, NULL);
	struct aod_anomaly a;

	/* a.service was failed already: only what is new fires */
	assert_int_equal(aod_health_rule_eval(&r, now, prev, 42, &a), 2);
	assert_string_equal(a.keys[0].key, "b.service/failed");
	assert_string_equal(a.keys[1].key, "m.service/memory_bytes");
	assert_int_equal(a.keys[1].count, 12);
	assert_int_equal(a.source, AOD_SOURCE_HEALTH);
	assert_int_equal(a.type, AOD_RULE_HEALTH);
	assert_string_equal(a.rule, "down");
	assert_int_equal(a.id, 42);
	assert_int_equal(a.total, 2);
	assert_int_equal(a.window_end_ns, 1700000000000000ULL * 1000);
	/* the first report: everything present is new */
	assert_int_equal(aod_health_rule_eval(&r, now, NULL, 42, &a), 3);
	/* the same report twice: nothing new */
	assert_int_equal(aod_health_rule_eval(&r, now, now, 42, &a), 0);
	/* on: [failed] only; units limited by a glob */
	r = health_rule(true, false, NULL);
	assert_int_equal(aod_health_rule_eval(&r, now, prev, 42, &a), 1);
	r = health_rule(true, true, "m.*");
	assert_int_equal(aod_health_rule_eval(&r, now, prev, 42, &a), 1);
	assert_string_equal(a.keys[0].key, "m.service/memory_bytes");
	/* not a Health rule: never */
	r.type = AOD_RULE_LATENCY;
	assert_int_equal(aod_health_rule_eval(&r, now, NULL, 42, &a), 0);
	json_decref(prev);
	json_decref(now);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline_math),
		cmocka_unit_test(test_memory_doubling_flagged),
		cmocka_unit_test(test_steady_noise_not_flagged),
		cmocka_unit_test(test_learning_below_min_samples),
		cmocka_unit_test(test_cumulative_counters_not_scored),
		cmocka_unit_test(test_restarts_are_a_rate),
		cmocka_unit_test(test_window_is_last_n),
		cmocka_unit_test(test_retention_plan),
		cmocka_unit_test(test_history_max_files_zero_keeps_all),
		cmocka_unit_test(test_history_max_files_keeps_newest),
		cmocka_unit_test(test_history_roundtrip_resolve),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_health_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
