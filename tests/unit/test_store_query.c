// SPDX-License-Identifier: MIT
/*
 * Reading the store: the read-only rule (every kind of write refused, the
 * file unchanged), the time limit on a runaway query, SQL errors with
 * their place, the row limit, the named queries (the seeds' two among
 * them) on synthetic processes whose answers are computed here, CSV and
 * JSON read back by Python's csv and json modules (and pandas, if there),
 * --since/--until times,
 * retention and the record queue.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/timeparse.h"
#include "common/timeutil.h"
#include "store/query.h"
#include "store/store.h"
#include "store/store_queue.h"
#include "unit/store_fx.h"

#define NS 1000000000ULL
#define MS 1000000ULL
#define T0 STORE_FX_T0

struct fx {
	struct store_fx x;
	struct aod_store *st; /* = x.st */
	int64_t run;
	const char *dir;
	struct aod_query_db *q;
	char err[AOD_QUERY_ERR_LEN];
	char *out;
	size_t outlen;
};

static void put_proc(struct fx *f, uint32_t tgid, uint32_t ppid, const char *comm,
		     const char *argv, size_t argv_len, uint64_t dur, uint64_t cpu_user,
		     uint64_t cpu_sys, int code, int sig)
{
	struct aod_store_proc p = { .id = { 1000 + tgid, tgid }, .parent = { 1000 + ppid, ppid },
				    .start_wall_ns = T0, .exec_wall_ns = T0 + 1, .argv = argv,
				    .argv_len = argv_len, .uid = 0, .in_tree = 1 };
	struct aod_store_proc_exit x = { .id = p.id, .exit_wall_ns = T0 + dur,
					 .duration_ns = dur, .cpu_user_ns = cpu_user,
					 .cpu_sys_ns = cpu_sys, .exit_code = code, .signal = sig,
					 .peak_rss_bytes = (uint64_t)tgid << 20 };

	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	assert_int_equal(aod_store_proc_exec(f->st, f->run, &p), 0);
	if (dur)
		assert_int_equal(aod_store_proc_exit(f->st, f->run, &x), 0);
}

/*
 * The synthetic run: a tree 1 -> 10 (sh) -> 11, 12, 13 (sleep 1, sleep 1,
 * ls -la) and 12 -> 14 (burn, killed by signal 9), 15 (ls -la, exit 2).
 * Durations: sh 5 s, sleep 1: 1 s and 3 s, burn 2.5 s, ls -la: 0.5 s and 0.25 s.
 */
static void fill(struct fx *f)
{
	assert_int_equal(aod_store_begin(f->st), 0);
	put_proc(f, 10, 1, "sh", "sh\0run.sh", 9, 5 * NS, 0, 0, 0, 0);
	put_proc(f, 11, 10, "sleep", "sleep\0" "1", 7, 1 * NS, 1 * MS, 2 * MS, 0, 0);
	put_proc(f, 12, 10, "sleep", "sleep\0" "1", 7, 3 * NS, 3 * MS, 4 * MS, 0, 0);
	put_proc(f, 13, 10, "ls", "ls\0-la", 6, NS / 2, 10 * MS, 0, 0, 0);
	put_proc(f, 14, 12, "burn", "burn\0" "7200", 9, 5 * NS / 2, 7200 * MS, 0, 0, 9);
	put_proc(f, 15, 12, "ls", "ls\0-la", 6, NS / 4, 5 * MS, 5 * MS, 2, 0);
	assert_int_equal(aod_store_commit(f->st), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	store_fx_open(&f->x, "query");
	f->st = f->x.st;
	f->run = f->x.run;
	f->dir = f->x.dir;
	fill(f);
	assert_int_equal(aod_query_open(f->x.path, &f->q, f->err, sizeof(f->err)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	aod_query_close(f->q);
	store_fx_close(&f->x);
	free(f->out);
	free(f);
	return 0;
}

/* Run sql with opts, output in f->out. Returns aod_query_run's result. */
static int run_q(struct fx *f, const char *sql, struct aod_query_opts *o,
		 struct aod_query_result *res)
{
	struct aod_query_result r;
	FILE *mem;
	int rc;

	free(f->out);
	f->out = NULL;
	mem = open_memstream(&f->out, &f->outlen);
	f->err[0] = '\0';
	rc = aod_query_run(f->q, sql, o, mem, res ? res : &r, f->err, sizeof(f->err));
	fclose(mem);
	return rc;
}

static int run_named(struct fx *f, const char *name, enum aod_query_format fmt)
{
	struct aod_query_opts o = { .format = fmt };

	return run_q(f, aod_named_query_find(name)->sql, &o, NULL);
}

static void test_writes_refused(void **state)
{
	static const char *const writes[] = {
		"INSERT INTO events(run_id, wall_ns, mono_ns, kind, source) VALUES (1, 1, 1, 'x', 'y')",
		"UPDATE processes SET exit_code = 0",
		"DELETE FROM processes",
		"DROP TABLE processes",
		"CREATE TABLE t(x)",
		"CREATE TEMP TABLE t(x)",
		"ALTER TABLE runs ADD COLUMN y",
		"ATTACH DATABASE '/tmp/aod-test-attach.db' AS x",
		"PRAGMA user_version = 5",
		"PRAGMA journal_mode = DELETE",
		"VACUUM INTO '/tmp/aod-test-vacuum-into.db'",
		"SELECT load_extension('/tmp/nothing.so')",
		"BEGIN",
		"REPLACE INTO runs(id, kind, started_ns) VALUES (1, 'x', 0)",
		"WITH x AS (SELECT 1) DELETE FROM events",
	};
	struct fx *f = *state;
	struct aod_query_opts o = { .format = AOD_QUERY_CSV };
	struct stat sb;

	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		int rc = run_q(f, writes[i], &o, NULL);

		if (rc != -EACCES)
			fail_msg("'%s' gave %d: %s", writes[i], rc, f->err);
		assert_non_null(strstr(f->err, "refused"));
		assert_non_null(strstr(f->err, "only reads"));
	}
	assert_int_equal(stat("/tmp/aod-test-vacuum-into.db", &sb), -1);
	assert_int_equal(stat("/tmp/aod-test-attach.db", &sb), -1);
	/* nothing changed, and reading still works, pragmas that read included */
	assert_int_equal(run_q(f, "SELECT COUNT(*) FROM processes WHERE exit_code = 2", &o, NULL), 0);
	assert_string_equal(f->out, "COUNT(*)\r\n1\r\n");
	assert_int_equal(run_q(f, "PRAGMA table_info(runs)", &o, NULL), 0);
	assert_non_null(strstr(f->out, "started_ns"));
}

static void test_runaway_query_stops_at_time_limit(void **state)
{
	struct fx *f = *state;
	struct aod_query_opts o = { .format = AOD_QUERY_TABLE, .timeout_ms = 300 };
	uint64_t t0 = aod_mono_ns(), took;
	int rc = run_q(f, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
		       " SELECT COUNT(*) FROM c", &o, NULL);

	took = aod_mono_ns() - t0;
	assert_int_equal(rc, -ETIME);
	assert_non_null(strstr(f->err, "time limit of 0.3 s"));
	assert_true(took >= 300 * MS);
	assert_true(took < 10 * NS); /* generous: a loaded machine */
}

static void test_sql_error_says_where(void **state)
{
	struct fx *f = *state;
	struct aod_query_opts o = { .format = AOD_QUERY_TABLE };

	assert_int_equal(run_q(f, "SELECT tgid,\n  comm, FROM processes", &o, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "line 2, column 9"));
	assert_non_null(strstr(f->err, "near \"FROM\": syntax error"));
	assert_non_null(strstr(f->err, "\n    comm, FROM processes\n          ^"));
	assert_int_equal(run_q(f, "SELECT nosuch FROM processes", &o, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "no such column: nosuch"));
	assert_non_null(strstr(f->err, "column 8"));
	assert_int_equal(run_q(f, "SELECT 1; SELECT 2", &o, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "only one statement"));
	assert_int_equal(run_q(f, "SELECT 1; -- a comment\n", &o, NULL), 0);
}

static void test_row_limit(void **state)
{
	struct fx *f = *state;
	struct aod_query_opts o = { .format = AOD_QUERY_CSV, .limit = 4 };
	struct aod_query_result res;

	assert_int_equal(run_q(f, "SELECT tgid FROM processes ORDER BY tgid", &o, &res), 0);
	assert_int_equal(res.rows, 4);
	assert_true(res.truncated);
	assert_string_equal(f->out, "tgid\r\n10\r\n11\r\n12\r\n13\r\n");
	o.limit = 6;
	assert_int_equal(run_q(f, "SELECT tgid FROM processes", &o, &res), 0);
	assert_int_equal(res.rows, 6);
	assert_false(res.truncated);
}

static void test_seed_queries_give_the_right_numbers(void **state)
{
	struct fx *f = *state;

	/* average EXIT metric (ns) per command line, highest first */
	assert_int_equal(run_named(f, "seed-avg-exec-time", AOD_QUERY_CSV), 0);
	assert_string_equal(f->out, "full_command,AVG(metric)\r\n"
				    "sh run.sh,5000000000.0\r\n"
				    "burn 7200,2500000000.0\r\n"
				    "sleep 1,2000000000.0\r\n"
				    "ls -la,375000000.0\r\n");
	/* per (command, pid) max CPU, summed per command, / 3.6e6 (their unit) */
	assert_int_equal(run_named(f, "seed-top-cpu", AOD_QUERY_CSV), 0);
	assert_string_equal(f->out, "command,cpu_time\r\n"
				    "burn,2000.0\r\n"
				    "ls,5.5555555556\r\n"
				    "sleep,2.7777777778\r\n");
}

static void test_named_queries(void **state)
{
	struct fx *f = *state;

	/* sleep 1: 1 s and 3 s -> p50 rank ceil(1) = 1 s, p95 rank ceil(1.9) = 3 s */
	assert_int_equal(run_named(f, "slowest-commands", AOD_QUERY_CSV), 0);
	assert_string_equal(f->out, "command,count,avg_ms,p50_ms,p95_ms,max_ms\r\n"
				    "sh run.sh,1,5000.0,5000.0,5000.0,5000.0\r\n"
				    "burn 7200,1,2500.0,2500.0,2500.0,2500.0\r\n"
				    "sleep 1,2,2000.0,1000.0,3000.0,3000.0\r\n"
				    "ls -la,2,375.0,250.0,500.0,500.0\r\n");
	assert_int_equal(run_named(f, "top-cpu", AOD_QUERY_CSV), 0);
	assert_string_equal(f->out, "command,processes,cpu_s,user_s,sys_s\r\n"
				    "burn,1,7.2,7.2,0.0\r\n"
				    "ls,2,0.02,0.015,0.005\r\n"
				    "sleep,2,0.01,0.004,0.006\r\n"
				    "sh,1,0.0,0.0,0.0\r\n");
	assert_int_equal(run_named(f, "failed-commands", AOD_QUERY_CSV), 0);
	assert_non_null(strstr(f->out, ",14,12,burn,0,9,0,,burn 7200\r\n"));
	assert_non_null(strstr(f->out, ",15,12,ls,2,0,0,,ls -la\r\n"));
	assert_int_equal(run_named(f, "process-tree", AOD_QUERY_CSV), 0);
	assert_non_null(strstr(f->out, "process,pid,ppid,started,duration_ms,exit_code,signal,cmdline\r\n"
				       "sh,10,1,"));
	/* children under their parent, in start order, indented */
	assert_true(strstr(f->out, "\r\n  sleep,11,") < strstr(f->out, "\r\n  sleep,12,"));
	assert_true(strstr(f->out, "\r\n  sleep,12,") < strstr(f->out, "\r\n    burn,14,"));
	assert_true(strstr(f->out, "\r\n    ls,15,") < strstr(f->out, "\r\n  ls,13,"));
	assert_int_equal(run_named(f, "top-rss", AOD_QUERY_CSV), 0);
	assert_non_null(strstr(f->out, "peak_rss_mib,cmdline\r\n2026-11-23T18:47:59.250Z,15,ls,15.0,ls -la\r\n"));
}

static void test_since_until(void **state)
{
	struct fx *f = *state;
	struct aod_query_opts o = { .format = AOD_QUERY_CSV };

	/* exits at T0 + 0.25 s ... T0 + 5 s; from T0 + 1 s to T0 + 3 s: 11, 14, 12 */
	o.since_ns = (int64_t)(T0 + NS);
	o.until_ns = (int64_t)(T0 + 3 * NS);
	assert_int_equal(run_q(f, "SELECT group_concat(tgid) FROM (SELECT tgid FROM processes"
			       " WHERE exit_wall_ns BETWEEN :since AND :until ORDER BY tgid)", &o,
			       NULL), 0);
	assert_string_equal(f->out, "group_concat(tgid)\r\n\"11,12,14\"\r\n");
}

static void test_time_arguments(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(aod_parse_time("2026-11-23T18:47:59Z", 0, &t), 0);
	assert_int_equal(t, (int64_t)T0);
	assert_int_equal(aod_parse_time("2026-11-23 19:47:59.5+01:00", 0, &t), 0);
	assert_int_equal(t, (int64_t)(T0 + NS / 2));
	assert_int_equal(aod_parse_time("2026-11-23t10:47:59-08:00", 0, &t), 0);
	assert_int_equal(t, (int64_t)T0);
	assert_int_equal(aod_parse_time("2026-11-23", 0, &t), 0);
	assert_int_equal(t, (int64_t)(T0 - (18 * 3600 + 47 * 60 + 59) * NS));
	assert_int_equal(aod_parse_time("-1h", T0, &t), 0);
	assert_int_equal(t, (int64_t)(T0 - 3600 * NS));
	assert_int_equal(aod_parse_time("-30m", T0, &t), 0);
	assert_int_equal(t, (int64_t)(T0 - 1800 * NS));
	assert_int_equal(aod_parse_time("-2d", T0, &t), 0);
	assert_int_equal(t, (int64_t)(T0 - 2 * 86400 * NS));
	assert_int_equal(aod_parse_time("-500ms", T0, &t), 0);
	assert_int_equal(t, (int64_t)(T0 - NS / 2));
	assert_int_equal(aod_parse_time("now", T0, &t), 0);
	assert_int_equal(t, (int64_t)T0);
	assert_int_equal(aod_parse_time("-1y", T0, &t), -EINVAL);
	assert_int_equal(aod_parse_time("-h", T0, &t), -EINVAL);
	assert_int_equal(aod_parse_time("2026-13-01T00:00:00Z", T0, &t), -EINVAL);
	assert_int_equal(aod_parse_time("2026-11-23T18:47:59", T0, &t), -EINVAL); /* no zone */
	assert_int_equal(aod_parse_time("yesterday", T0, &t), -EINVAL);
}

/* Text no reader must mangle: quotes, commas, newlines, a CR, a tab, an
 * escape, non-ASCII, SQL, a leading space, an empty string, and one byte
 * that is not UTF-8 (written as U+FFFD). */
static const char tricky_argv[] = "x\0a,b\0\"q\" 'DROP TABLE x;--'\0line1\nline2\r\n\0\ttab\x1b[31m\0"
				  "\xc3\xa9t\xc3\xa9\0 lead\0\0bad\xff";

static void test_csv_json_read_back_by_python(void **state)
{
	static const char *const fmts[] = { "csv", "json", "jsonl" };
	struct fx *f = *state;
	char script[256], cmd[1024], file[160];
	struct aod_query_opts o;
	json_t *expect = json_array();
	FILE *fp;

	if (system("python3 -c 'import csv, json' 2>/dev/null")) {
		skip();
		return;
	}
	put_proc(f, 20, 1, "we\"ird,\n", tricky_argv, sizeof(tricky_argv) - 1, 7, 0, 0, 0, 0);
	/* what the readers must see: the cmdline with invalid UTF-8 as U+FFFD */
	json_array_append_new(expect, json_pack("{s:i, s:s, s:s, s:n, s:f}", "pid", 20, "comm",
						"we\"ird,\n", "cmdline",
						"x a,b \"q\" 'DROP TABLE x;--' line1\nline2\r\n \ttab"
						"\x1b[31m \xc3\xa9t\xc3\xa9  lead  bad\xef\xbf\xbd",
						"missing", "ratio", 0.1));
	snprintf(file, sizeof(file), "%s/expect.json", f->dir);
	assert_int_equal(json_dump_file(expect, file, 0), 0);
	json_decref(expect);
	snprintf(script, sizeof(script), "%s/check.py", f->dir);
	fp = fopen(script, "w");
	fputs("import csv, json, sys\n"
	      "fmt, data, expect = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))\n"
	      "if fmt == 'csv':\n"
	      "    rows = list(csv.DictReader(open(data, newline='', encoding='utf-8')))\n"
	      "    rows = [{k: (int(v) if k == 'pid' else None if k == 'missing' and v == '' else"
	      " float(v) if k == 'ratio' else v) for k, v in r.items()} for r in rows]\n"
	      "elif fmt == 'json':\n"
	      "    rows = json.load(open(data, encoding='utf-8'))\n"
	      "else:\n"
	      "    rows = [json.loads(l) for l in open(data, encoding='utf-8')]\n"
	      "if rows != expect:\n"
	      "    sys.exit(print(fmt, rows, expect) or 1)\n"
	      "try:\n"
	      "    import pandas as pd\n"
	      "except ImportError:\n"
	      "    sys.exit(0)\n"
	      "df = pd.read_csv(data) if fmt == 'csv' else pd.read_json(data, lines=fmt == 'jsonl')\n"
	      "rows = [{k: None if pd.isna(v) else v for k, v in r.items()} for r in df.to_dict('records')]\n"
	      "sys.exit(0 if rows == expect else print('pandas', fmt, rows, expect) or 1)\n", fp);
	fclose(fp);
	for (size_t i = 0; i < 3; i++) {
		memset(&o, 0, sizeof(o));
		o.format = (enum aod_query_format)aod_query_format_from_name(fmts[i]);
		assert_int_equal(run_q(f, "SELECT tgid AS pid, comm, cmdline, NULL AS missing,"
				       " 0.1 AS ratio FROM processes WHERE tgid = 20", &o, NULL), 0);
		snprintf(file, sizeof(file), "%s/out.%s", f->dir, fmts[i]);
		fp = fopen(file, "w");
		fwrite(f->out, 1, f->outlen, fp);
		fclose(fp);
		/* Debian's python3 has pandas when python3-pandas is installed */
		snprintf(cmd, sizeof(cmd), "%s %s %s %s %s/expect.json",
			 access("/usr/bin/python3", X_OK) ? "python3" : "/usr/bin/python3", script,
			 fmts[i], file, f->dir);
		if (system(cmd))
			fail_msg("python3 could not read back the %s output", fmts[i]);
	}
}

static void test_table_escapes_and_fits(void **state)
{
	struct fx *f = *state;
	struct aod_query_opts o = { .format = AOD_QUERY_TABLE, .width = 40 };

	put_proc(f, 21, 1, "\x1b]0;pwned\a", "a\0b", 3, 7, 0, 0, 0, 0);
	assert_int_equal(run_q(f, "SELECT tgid, comm, printf('%.60c', 'x') AS wide FROM processes"
			       " WHERE tgid = 21", &o, NULL), 0);
	assert_null(memchr(f->out, 0x1b, f->outlen));
	assert_null(memchr(f->out, '\a', f->outlen));
	assert_non_null(strstr(f->out, "\\x1b]0;pwned\\x07"));
	for (char *line = f->out, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		size_t cols = 0;

		for (char *p = line; p < nl; p++)
			cols += ((unsigned char)*p & 0xC0) != 0x80;
		assert_true(cols <= 40);
	}
	assert_non_null(strstr(f->out, "\xE2\x80\xA6")); /* the cut is marked */
}

static void test_retention_by_age_and_size(void **state)
{
	struct fx *f = *state;
	struct aod_store_retention_stats rs;
	struct aod_event ev = { .kind = AOD_EVENT_BLK_SLOW };
	uint64_t now = T0 + 1000 * NS, bytes;
	char sql[128];

	snprintf(ev.comm, sizeof(ev.comm), "dd");
	snprintf(ev.blk.disk, sizeof(ev.blk.disk), "vda");
	/* 20000 events, one every 50 ms over the 1000 s before now */
	assert_int_equal(aod_store_begin(f->st), 0);
	for (int i = 0; i < 20000; i++) {
		ev.wall_ns = T0 + (uint64_t)i * 50 * MS;
		ev.blk.latency_ns = (uint64_t)i;
		assert_int_equal(aod_store_put_event(f->st, f->run, &ev, NULL), 0);
	}
	assert_int_equal(aod_store_commit(f->st), 0);
	/* age: older than 500 s goes, with the processes that exited then */
	assert_int_equal(aod_store_retention(f->st, 0, 500 * NS, now, f->run, &rs), 0);
	assert_int_equal(rs.deleted, 10000 + 6);
	assert_false(rs.size_pruned);
	/* size: a limit of a quarter of what it takes; the newest stay */
	bytes = aod_store_disk_bytes(f->x.path);
	assert_int_equal(aod_store_retention(f->st, bytes / 4, 0, now, f->run, &rs), 0);
	assert_true(rs.size_pruned);
	assert_true(rs.bytes_after <= bytes / 4);
	assert_true(rs.deleted > 0 && rs.deleted < 10000);
	snprintf(sql, sizeof(sql), "SELECT MAX(latency_ns) FROM events");
	{
		struct aod_query_opts o = { .format = AOD_QUERY_CSV };

		assert_int_equal(run_q(f, sql, &o, NULL), 0);
		assert_string_equal(f->out, "MAX(latency_ns)\r\n19999\r\n");
		assert_int_equal(run_q(f, "SELECT COUNT(*) = 19999 - MIN(latency_ns) + 1 FROM events",
				       &o, NULL), 0);
		assert_string_equal(f->out, "COUNT(*) = 19999 - MIN(latency_ns) + 1\r\n1\r\n");
	}
}

static void test_queue_counts_overflow_and_frees(void **state)
{
	struct aod_store_queue *q = aod_store_queue_new(4);
	struct aod_event evs[6] = { { .kind = AOD_EVENT_SMB_SLOW } };
	struct aod_store_bundle b = { .rule = "r", .path = "/p" };
	struct aod_store_rec rec, out[8];

	(void)state;
	assert_non_null(q);
	assert_int_equal(aod_store_queue_push_events(q, evs, 3), 0);
	assert_int_equal(aod_store_rec_bundle(&rec, &b), 0);
	assert_int_equal(aod_store_queue_push(q, &rec), 0);
	assert_int_equal(aod_store_rec_bundle(&rec, &b), 0);
	assert_int_equal(aod_store_queue_push(q, &rec), -ENOSPC); /* released, not leaked */
	assert_int_equal(aod_store_queue_push_events(q, evs, 6), 6);
	assert_int_equal(aod_store_queue_overflows(q), 7);
	assert_int_equal(aod_store_queue_pop(q, out, 8, 0), 4);
	assert_int_equal(out[3].kind, AOD_STORE_REC_BUNDLE);
	assert_string_equal(out[3].bundle.path, "/p");
	for (int i = 0; i < 4; i++)
		aod_store_rec_release(&out[i]);
	assert_int_equal(aod_store_rec_bundle(&rec, &b), 0);
	assert_int_equal(aod_store_queue_push(q, &rec), 0);
	aod_store_queue_free(q); /* releases what is left */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_writes_refused),
		T(test_runaway_query_stops_at_time_limit),
		T(test_sql_error_says_where),
		T(test_row_limit),
		T(test_seed_queries_give_the_right_numbers),
		T(test_named_queries),
		T(test_since_until),
		cmocka_unit_test(test_time_arguments),
		T(test_csv_json_read_back_by_python),
		T(test_table_escapes_and_fits),
		T(test_retention_by_age_and_size),
		cmocka_unit_test(test_queue_counts_overflow_and_frees),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
