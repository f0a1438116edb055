// SPDX-License-Identifier: MIT
/*
 * The event store's writing side: schema versions and migrations, values
 * stored verbatim through bound parameters, process records in any order,
 * the seeds' metrics_stream view, retention, the record queue, the process
 * probe's records (a failed exec) as store records. Every
 * expected value is computed here from the synthetic input, and read back
 * through a separate plain SQLite connection.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "config/config.h"
#include "probe/proc_probe.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store/store_queue.h"
#include "unit/store_fx.h"

#define NS 1000000000ULL
#define T0 STORE_FX_T0

struct fx {
	struct store_fx x;
	struct aod_store *st; /* = x.st */
	int64_t run;
	const char *path, *dir;
	sqlite3 *db; /* an independent reader */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	store_fx_open(&f->x, "store");
	f->st = f->x.st;
	f->run = f->x.run;
	f->path = f->x.path;
	f->dir = f->x.dir;
	assert_int_equal(sqlite3_open_v2(f->path, &f->db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sqlite3_close(f->db);
	f->x.st = f->st; /* a test may have reopened it (or left it closed) */
	store_fx_close(&f->x);
	free(f);
	return 0;
}

/* One integer from the reader connection. */
static int64_t q_int(struct fx *f, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* One text (malloc'd, may hold NULs: *len) from the reader connection. */
static char *q_text(struct fx *f, const char *sql, size_t *len)
{
	sqlite3_stmt *s;
	char *v = NULL;

	assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
		const void *p = sqlite3_column_blob(s, 0);
		int n = sqlite3_column_bytes(s, 0);

		v = calloc(1, (size_t)n + 1);
		memcpy(v, p, (size_t)n);
		if (len)
			*len = (size_t)n;
	}
	sqlite3_finalize(s);
	return v;
}

static void test_new_store_has_version_2(void **state)
{
	struct fx *f = *state;
	char *v = q_text(f, "SELECT value FROM meta WHERE key = 'schema_version'", NULL);

	assert_string_equal(v, "2");
	free(v);
	assert_int_equal(AOD_STORE_SCHEMA_VERSION, 2);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('runs',"
			       " 'processes', 'events', 'anomalies', 'bundles', 'probe_states',"
			       " 'metrics_stream', 'meta', 'uploads')"), 9);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM runs WHERE kind = 'test'"), 1);
	v = q_text(f, "PRAGMA journal_mode", NULL);
	assert_string_equal(v, "wal");
	free(v);
}

/* A step 3 that this build does not have: a test-only schema change. */
static const struct store_migration steps_v3[] = {
	{ 1, NULL }, /* filled from the real v1 */
	{ 2, NULL }, /* and v2 */
	{ 3, "ALTER TABLE events ADD COLUMN tcp_state TEXT;" },
};

static void test_older_store_migrates_newer_refused(void **state)
{
	struct fx *f = *state;
	struct store_migration steps[3] = { steps_v3[0], steps_v3[1], steps_v3[2] };
	char err[AOD_STORE_ERR_LEN] = "";
	struct aod_store *again;
	sqlite3 *db;

	steps[0].sql = store_migrations[0].sql;
	steps[1].sql = store_migrations[1].sql;
	aod_store_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	/* v2 -> v3: only step 3 runs, the rows stay */
	assert_int_equal(store_migrate(db, steps, 3, f->path, err, sizeof(err)), 0);
	assert_int_equal(store_schema_version(db), 3);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM pragma_table_info('events')"
			       " WHERE name = 'tcp_state'"), 1);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM runs"), 1);
	/* migrating again is a no-op */
	assert_int_equal(store_migrate(db, steps, 3, f->path, err, sizeof(err)), 0);
	sqlite3_close(db);
	/* this build knows version 2 only: a v3 store is refused, untouched */
	assert_int_equal(aod_store_open(f->path, &again, err, sizeof(err)), -EPROTO);
	assert_null(again);
	assert_non_null(strstr(err, "schema version 3 is newer"));
	assert_non_null(strstr(err, f->path));
	assert_int_equal(q_int(f, "SELECT value FROM meta WHERE key = 'schema_version'"), 3);
	assert_int_equal(aod_store_open(f->path, &f->st, err, sizeof(err)), -EPROTO);
}

/* A version 1 store (before uploads) is migrated to 2 by opening it. */
static void test_v1_store_gets_uploads(void **state)
{
	struct fx *f = *state;
	char err[AOD_STORE_ERR_LEN] = "";
	sqlite3 *db;

	char side[PATH_MAX];

	aod_store_close(f->st);
	f->st = NULL;
	sqlite3_close(f->db);
	unlink(f->path);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", f->path);
	unlink(side);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(store_migrate(db, store_migrations, 1, f->path, err, sizeof(err)), 0);
	assert_int_equal(store_schema_version(db), 1);
	sqlite3_close(db);
	assert_int_equal(sqlite3_open_v2(f->path, &f->db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'uploads'"), 0);
	assert_int_equal(aod_store_open(f->path, &f->st, err, sizeof(err)), 0);
	assert_int_equal(q_int(f, "SELECT value FROM meta WHERE key = 'schema_version'"), 2);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'uploads'"), 1);
}

static void test_foreign_database_refused(void **state)
{
	struct fx *f = *state;
	char path[160], err[AOD_STORE_ERR_LEN] = "";
	struct aod_store *st;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(aod_store_open(path, &st, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "not an aod store"));
}

static void fill_smb(struct aod_event *ev, const char *comm, uint64_t wall, uint64_t lat)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = AOD_EVENT_SMB_SLOW;
	ev->wall_ns = wall;
	ev->mono_ns = 77;
	ev->pid = 4243;
	ev->tgid = 4242;
	memcpy(ev->comm, comm, strnlen(comm, sizeof(ev->comm)));
	ev->smb.cmd = 9; /* SMB2_WRITE */
	ev->smb.sesid = 0xFFFFFFFFFFFFFFF0ULL; /* above INT64_MAX */
	ev->smb.mid = 7;
	ev->smb.tid = 3;
	ev->smb.latency_ns = lat;
}

static void test_sql_looking_values_stored_verbatim(void **state)
{
	struct fx *f = *state;
	static const char comm[] = "');DROP TABLE e"; /* 15 bytes: a full comm */
	static const char share[] = "x'); DELETE FROM events; --\"\n\\";
	struct aod_event ev;
	char *v;

	fill_smb(&ev, comm, T0, 25 * 1000000);
	assert_int_equal(aod_store_put_event(f->st, f->run, &ev, share), 0);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM events"), 1);
	v = q_text(f, "SELECT comm FROM events", NULL);
	assert_string_equal(v, comm);
	free(v);
	v = q_text(f, "SELECT share FROM events", NULL);
	assert_string_equal(v, share);
	free(v);
	v = q_text(f, "SELECT cmd || '|' || kind || '|' || source || '|' || printf('%x', sesid)"
		   " FROM events", NULL);
	assert_string_equal(v, "SMB2_WRITE|smb_slow|smb|fffffffffffffff0");
	free(v);
	assert_int_equal(q_int(f, "SELECT latency_ns FROM events"), 25 * 1000000);
	assert_int_equal(q_int(f, "SELECT tgid * 10000 + pid - 4243 FROM events"), 42420000);
}

static void test_event_kinds_and_flags(void **state)
{
	struct fx *f = *state;
	struct aod_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = AOD_EVENT_BLK_STUCK;
	ev.wall_ns = T0;
	ev.batch = 5;
	ev.blk.dev = 7u << 20 | 3;
	snprintf(ev.blk.disk, sizeof(ev.blk.disk), "loop3");
	ev.blk.op = 1; /* write */
	ev.blk.bytes = 4096;
	ev.blk.latency_ns = 2 * NS;
	assert_int_equal(aod_store_put_event(f->st, f->run, &ev, NULL), 0);
	ev.kind = AOD_EVENT_BLK_SLOW;
	ev.batch = 0;
	ev.flags = AOD_EVF_WAS_STUCK | AOD_EVF_LATE;
	assert_int_equal(aod_store_put_event(f->st, f->run, &ev, NULL), 0);
	ev.kind = AOD_EVENT_BLK_ERR;
	ev.flags = 0;
	ev.blk.error = -5;
	assert_int_equal(aod_store_put_event(f->st, f->run, &ev, NULL), 0);
	memset(&ev, 0, sizeof(ev));
	ev.kind = AOD_EVENT_SMB_RECONNECT;
	ev.conn.conn_id = 9;
	snprintf(ev.conn.server, sizeof(ev.conn.server), "srv1");
	assert_int_equal(aod_store_put_event(f->st, f->run, &ev, NULL), 0);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM events WHERE kind = 'blk_stuck'"
			       " AND batch = 5 AND dev = '7:3' AND disk = 'loop3' AND op = 'write'"
			       " AND latency_ns = 2000000000 AND error IS NULL"), 1);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM events WHERE kind = 'blk_slow'"
			       " AND was_stuck = 1 AND late = 1 AND batch IS NULL"), 1);
	assert_int_equal(q_int(f, "SELECT error FROM events WHERE kind = 'blk_err'"), -5);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM events WHERE kind = 'smb_reconnect'"
			       " AND server = 'srv1' AND conn_id = 9 AND latency_ns IS NULL"), 1);
}

static void test_anomaly_bundle_probe_state(void **state)
{
	struct fx *f = *state;
	struct aod_anomaly a = { .id = T0 + 5, .source = AOD_SOURCE_BLOCK,
				 .type = AOD_RULE_LATENCY, .total = 12, .acceptable_count = 10 };
	struct aod_store_bundle b = { .anomaly_id = T0 + 5, .wall_ns = T0 + 6, .rule = "blk",
				      .source = AOD_SOURCE_BLOCK, .type = AOD_RULE_LATENCY,
				      .path = "/x/aod_1_block_latency.tar.zst", .size = 1234 };
	struct aod_store_probe_state ps = { .wall_ns = T0, .probe = "smb", .state = "waiting",
					    .mode = "", .reason = "no cifs module" };

	snprintf(a.rule, sizeof(a.rule), "blk");
	assert_int_equal(aod_store_put_anomaly(f->st, f->run, &a, "{\"id\":1}"), 0);
	assert_int_equal(aod_store_put_bundle(f->st, f->run, &b), 0);
	b.result = AOD_STORE_BUNDLE_FAILED;
	b.path = NULL;
	b.error = "No space left on device";
	assert_int_equal(aod_store_put_bundle(f->st, f->run, &b), 0);
	assert_int_equal(aod_store_put_probe_state(f->st, f->run, &ps), 0);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM anomalies WHERE rule = 'blk' AND"
			       " source = 'block' AND type = 'latency' AND total = 12"), 1);
	assert_int_equal(q_int(f, "SELECT size FROM bundles WHERE result = 'ok'"), 1234);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM bundles WHERE result = 'failed' AND"
			       " size IS NULL AND path IS NULL AND error LIKE 'No space%'"), 1);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM probe_states WHERE mode IS NULL AND"
			       " reason = 'no cifs module'"), 1);
}

static struct aod_store_proc proc(uint64_t start, uint32_t tgid, uint32_t ppid, const char *comm)
{
	struct aod_store_proc p = { .id = { start, tgid }, .parent = { start - 1, ppid },
				    .start_wall_ns = T0 + start, .uid = 1000, .in_tree = -1 };

	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	return p;
}

static void test_process_lifecycle_any_order(void **state)
{
	struct fx *f = *state;
	static const char argv[] = "sh\0-c\0echo 'a; DROP TABLE processes;--'\n\"b\"\0";
	struct aod_store_proc p = proc(100, 50, 1, "bash");
	struct aod_store_proc_exit x = { .id = { 100, 50 }, .exit_wall_ns = T0 + 900,
					 .duration_ns = 800, .exit_code = 3, .cpu_user_ns = 11,
					 .cpu_sys_ns = 22, .peak_rss_bytes = 1 << 20 };
	size_t len = 0;
	char *v;

	/* fork, exec, oom, exit */
	assert_int_equal(aod_store_proc_start(f->st, f->run, &p), 0);
	snprintf(p.comm, sizeof(p.comm), "sh");
	p.argv = argv;
	p.argv_len = sizeof(argv) - 1;
	p.filename = "/bin/sh";
	p.exec_wall_ns = T0 + 150;
	assert_int_equal(aod_store_proc_exec(f->st, f->run, &p), 0);
	assert_int_equal(aod_store_proc_oom(f->st, f->run, p.id), 0);
	assert_int_equal(aod_store_proc_exit(f->st, f->run, &x), 0);
	/* a late start (a /proc seed racing the probe) changes nothing */
	p = proc(100, 50, 77, "other");
	assert_int_equal(aod_store_proc_start(f->st, f->run, &p), 0);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM processes"), 1);
	v = q_text(f, "SELECT comm || '|' || filename || '|' || ppid || '|' || execs || '|' ||"
		   " oom_killed || '|' || exit_code || '|' || duration_ns FROM processes", NULL);
	assert_string_equal(v, "sh|/bin/sh|1|1|1|3|800");
	free(v);
	v = q_text(f, "SELECT argv FROM processes", &len);
	assert_int_equal(len, sizeof(argv) - 1);
	assert_memory_equal(v, argv, len);
	free(v);
	v = q_text(f, "SELECT cmdline FROM processes", NULL);
	assert_string_equal(v, "sh -c echo 'a; DROP TABLE processes;--'\n\"b\"");
	free(v);
	/* an exit with no start or exec seen makes a row of its own */
	x.id.tgid = 51;
	assert_int_equal(aod_store_proc_exit(f->st, f->run, &x), 0);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM processes WHERE tgid = 51 AND"
			       " comm IS NULL AND exit_code = 3 AND execs = 0"), 1);
}

/* Synthetic processes for the seeds' two queries: durations and CPU known. */
static void put_exited(struct fx *f, uint32_t tgid, const char *comm, const char *argv,
		       size_t argv_len, uint64_t dur, uint64_t cpu_user, uint64_t cpu_sys)
{
	struct aod_store_proc p = proc(1000 + tgid, tgid, 1, comm);
	struct aod_store_proc_exit x = { .id = p.id, .exit_wall_ns = T0 + 2 * NS,
					 .duration_ns = dur, .cpu_user_ns = cpu_user,
					 .cpu_sys_ns = cpu_sys };

	p.argv = argv;
	p.argv_len = argv_len;
	p.exec_wall_ns = T0 + NS;
	assert_int_equal(aod_store_proc_exec(f->st, f->run, &p), 0);
	assert_int_equal(aod_store_proc_exit(f->st, f->run, &x), 0);
}

static void test_metrics_stream_view(void **state)
{
	struct fx *f = *state;
	char *v;

	put_exited(f, 10, "sleep", "sleep\0" "1", 7, 1 * NS, 5, 5);
	assert_int_equal(q_int(f, "SELECT COUNT(*) FROM metrics_stream"), 4);
	v = q_text(f, "SELECT group_concat(type || ':' || time || ':' || CAST(metric AS INTEGER)"
		   " || ':' || full_command || ':' || pid || ':' || ppid || ':' || command, ',')"
		   " FROM (SELECT * FROM metrics_stream ORDER BY id)", NULL);
	assert_string_equal(v, "START:1795459679:0:sleep 1:10:1:sleep,"
			       "EXECVE:1795459680:0:sleep 1:10:1:sleep,"
			       "CPU:1795459681:10:sleep 1:10:1:sleep,"
			       "EXIT:1795459681:1000000000:sleep 1:10:1:sleep");
	free(v);
}

/* The agent's path: records through the queue, written by aod_store_write_rec. */
static void test_records_through_the_queue(void **state)
{
	struct fx *f = *state;
	static const char argv[] = "make\0-j4\0";
	struct aod_store_proc p = proc(500, 60, 1, "make");
	struct aod_store_exec_failed xf = { .wall_ns = T0, .id = { 500, 60 }, .pid = 60,
					    .filename = "/tmp/'; DROP TABLE events; --",
					    .error = -2 };
	struct aod_store_queue *q = aod_store_queue_new(8);
	struct aod_store_rec rec, out[8];
	size_t n;
	char *v;

	p.argv = argv;
	p.argv_len = sizeof(argv) - 1;
	p.filename = "/usr/bin/make";
	assert_int_equal(aod_store_rec_proc(&rec, AOD_STORE_REC_PROC_EXEC, &p), 0);
	p.argv = NULL; /* the record has its own copies */
	assert_int_equal(aod_store_queue_push(q, &rec), 0);
	rec = (struct aod_store_rec){ .kind = AOD_STORE_REC_PROC_OOM, .proc_oom = { 500, 60 } };
	assert_int_equal(aod_store_queue_push(q, &rec), 0);
	rec = (struct aod_store_rec){ .kind = AOD_STORE_REC_PROC_EXIT,
				      .proc_exit = { .id = { 500, 60 }, .signal = 9,
						     .exit_wall_ns = T0 + 9 } };
	assert_int_equal(aod_store_queue_push(q, &rec), 0);
	rec = (struct aod_store_rec){ .kind = AOD_STORE_REC_EXEC_FAILED, .exec_failed = xf };
	rec.exec_failed.filename = strdup(xf.filename);
	assert_int_equal(aod_store_queue_push(q, &rec), 0);
	n = aod_store_queue_pop(q, out, 8, 0);
	assert_int_equal(n, 4);
	assert_int_equal(aod_store_begin(f->st), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(aod_store_write_rec(f->st, f->run, &out[i], NULL), 0);
		aod_store_rec_release(&out[i]);
	}
	assert_int_equal(aod_store_commit(f->st), 0);
	aod_store_queue_free(q);
	v = q_text(f, "SELECT cmdline || '|' || filename || '|' || oom_killed || '|' || exit_signal"
		   " FROM processes WHERE tgid = 60", NULL);
	assert_string_equal(v, "make -j4|/usr/bin/make|1|9");
	free(v);
	v = q_text(f, "SELECT path || '|' || error || '|' || kind || '|' || source FROM events", NULL);
	assert_string_equal(v, "/tmp/'; DROP TABLE events; --|-2|exec_failed|process");
	free(v);
}

/* The agent's path for a failed exec (probes.proc.failed_execs): the probe's
 * record -> aod_store_rec_from_proc -> the queue -> an exec_failed event with
 * the process's identity, the thread, comm, path and errno. */
static void test_failed_exec_from_probe_record(void **state)
{
	struct fx *f = *state;
	char path[] = "/no/such/dir/prog";
	struct aod_proc_hdr h = { .kind = AOD_PROC_EXEC_FAILED, .tgid = 4321, .pid = 4325,
				  .start_ns = 777 * NS, .ppid = 1, .comm = "worker" };
	struct aod_proc_event ev = { .h = &h, .wall_ns = T0 + 5, .filename = path,
				     .exec_error = -ENOENT };
	struct aod_store_queue *q = aod_store_queue_new(4);
	struct aod_store_rec rec, out[4];
	char *v;

	assert_int_equal(aod_store_rec_from_proc(&rec, &ev), 0);
	assert_int_equal(rec.kind, AOD_STORE_REC_EXEC_FAILED);
	path[1] = 'X'; /* the record has its own copy of the path */
	assert_int_equal(aod_store_queue_push(q, &rec), 0);
	h.kind = 99; /* a kind the store does not know */
	assert_int_equal(aod_store_rec_from_proc(&rec, &ev), -EINVAL);
	assert_int_equal(aod_store_queue_pop(q, out, 4, 0), 1);
	assert_int_equal(aod_store_begin(f->st), 0);
	assert_int_equal(aod_store_write_rec(f->st, f->run, &out[0], NULL), 0);
	aod_store_rec_release(&out[0]);
	assert_int_equal(aod_store_commit(f->st), 0);
	aod_store_queue_free(q);
	v = q_text(f, "SELECT kind || '|' || source || '|' || tgid || '|' || pid || '|' || comm"
		   " || '|' || proc_start_ns || '|' || path || '|' || error || '|' || wall_ns"
		   " || '|' || (mono_ns > 0) FROM events", NULL);
	assert_string_equal(v, "exec_failed|process|4321|4325|worker|777000000000|"
			       "/no/such/dir/prog|-2|1795459679000000005|1");
	free(v);
}

static void test_store_config(void **state)
{
	static const char yaml[] = "watch_interval_sec: 1\naod_output_dir: /var/x\n"
				   "cleanup: {max_total_log_size_mb: 100, max_log_age_days: 3}\n"
				   "store: {path: sub/s.db, batch_ms: 100}\n";
	static const char bad[] = "watch_interval_sec: 1\naod_output_dir: /var/x\n"
				  "store:\n  max_mb: -1\n";
	struct aod_config *c = malloc(sizeof(*c)), *back = malloc(sizeof(*back));
	struct aod_config_error err;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;

	(void)state;
	assert_int_equal(aod_config_load_buffer(c, "t.yaml", yaml, sizeof(yaml) - 1, &err), 0);
	assert_true(c->store.enabled);
	assert_string_equal(c->store.path, "/var/x/sub/s.db");
	assert_int_equal(c->store.batch_ms, 100);
	assert_int_equal(c->store.queue_size, 16384);
	assert_int_equal(aod_config_store_max_bytes(c), 25ULL << 20); /* a quarter of 100 MiB */
	assert_int_equal(aod_config_store_max_age_ns(c), 3ULL * 86400 * NS);
	/* the printed config loads back to the same store section */
	mem = open_memstream(&text, &len);
	assert_int_equal(aod_config_print(c, mem), 0);
	fclose(mem);
	assert_int_equal(aod_config_load_buffer(back, "p.yaml", text, len, &err), 0);
	assert_memory_equal(&back->store, &c->store, sizeof(c->store));
	free(text);
	assert_int_equal(aod_config_load_buffer(c, "b.yaml", bad, sizeof(bad) - 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "b.yaml:4:11: store.max_mb: expected"));
	free(c);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_store_has_version_2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_store_gets_uploads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_store_migrates_newer_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_foreign_database_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sql_looking_values_stored_verbatim, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_event_kinds_and_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anomaly_bundle_probe_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process_lifecycle_any_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_stream_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_through_the_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_exec_from_probe_record, setup, teardown),
		cmocka_unit_test(test_store_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
