// SPDX-License-Identifier: MIT
/*
 * The writer's connection to the store: open with WAL and the schema
 * migrated, the prepared statements, transactions, runs, and the bind
 * helpers every insert uses.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "store/store_int.h"

#define BUSY_TIMEOUT_MS 5000

/*
 * WAL: readers never block the writer; synchronous=NORMAL: a crash of aod
 * (kill -9) loses nothing committed, a power cut at most the last batches.
 * auto_vacuum=INCREMENTAL (set before the first table) lets retention give
 * pages back to the file system. A small page cache keeps the agent small.
 */
static const char pragmas[] =
	"PRAGMA auto_vacuum = INCREMENTAL;"
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = NORMAL;"
	"PRAGMA journal_size_limit = 4194304;"
	"PRAGMA cache_size = -512;"
	"PRAGMA temp_store = MEMORY;"
	"PRAGMA foreign_keys = OFF;";

/* start and exec bind the same values; they differ in what they overwrite */
#define PROC_UPSERT                                                                          \
	"INSERT INTO processes(run_id, start_ns, tgid, parent_start_ns, ppid, uid, cgroup_id,"  \
	" unit, comm, filename, cmdline, argv, argv_truncated, cwd, start_wall_ns, exec_wall_ns," \
	" seeded, in_tree, execs) VALUES (:run, :start, :tgid, :pstart, :ppid, :uid, :cgroup,"   \
	" :unit, :comm, :filename, :cmdline, :argv, :truncated, :cwd, :start_wall, :exec_wall,"  \
	" :seeded, :in_tree, :execs) ON CONFLICT(run_id, start_ns, tgid) DO UPDATE SET"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_RUN_BEGIN] =
		"INSERT INTO runs(kind, started_ns, host, kernel, boot_id, aod_version, command,"
		" config_path, config_hash, root_start_ns, root_tgid) VALUES (:kind, :started,"
		" :host, :kernel, :boot_id, :version, :command, :config_path, :config_hash,"
		" :root_start, :root_tgid)",
	[ST_RUN_END] = "UPDATE runs SET ended_ns = :ended, exit_code = :exit_code WHERE id = :id",
	[ST_EVENT] =
		"INSERT INTO events(run_id, wall_ns, mono_ns, kind, source, pid, tgid, comm,"
		" proc_start_ns, latency_ns, was_stuck, late, batch, cmd, share, sesid, mid, tid,"
		" status, status_name, rc, dev, disk, op, sector, bytes, error, conn_id, currmid,"
		" server, path, detail) VALUES (:run, :wall, :mono, :kind, :source, :pid, :tgid,"
		" :comm, :proc_start, :latency, :was_stuck, :late, :batch, :cmd, :share, :sesid,"
		" :mid, :tid, :status, :status_name, :rc, :dev, :disk, :op, :sector, :bytes,"
		" :error, :conn_id, :currmid, :server, :path, :detail)",
	[ST_ANOMALY] =
		"INSERT INTO anomalies(run_id, anomaly_id, wall_ns, rule, source, type, emergency,"
		" window_start_ns, window_end_ns, total, acceptable_count, dropped, json) VALUES"
		" (:run, :id, :wall, :rule, :source, :type, :emergency, :wstart, :wend, :total,"
		" :acceptable, :dropped, :json)",
	[ST_BUNDLE] =
		"INSERT INTO bundles(run_id, anomaly_id, wall_ns, rule, source, type, path, size,"
		" result, error, duration_ms) VALUES (:run, :id, :wall, :rule, :source, :type,"
		" :path, :size, :result, :error, :duration)",
	[ST_PROBE_STATE] =
		"INSERT INTO probe_states(run_id, wall_ns, probe, state, mode, reason) VALUES"
		" (:run, :wall, :probe, :state, :mode, :reason)",
	/* processes: see store_proc.c for what each call may and may not overwrite */
	[ST_PROC_START] =
		PROC_UPSERT
		" parent_start_ns = COALESCE(parent_start_ns, excluded.parent_start_ns),"
		" ppid = COALESCE(ppid, excluded.ppid), uid = COALESCE(uid, excluded.uid),"
		" cgroup_id = COALESCE(cgroup_id, excluded.cgroup_id),"
		" unit = COALESCE(unit, excluded.unit), comm = COALESCE(comm, excluded.comm),"
		" filename = COALESCE(filename, excluded.filename),"
		" cmdline = COALESCE(cmdline, excluded.cmdline), argv = COALESCE(argv, excluded.argv),"
		" argv_truncated = MAX(argv_truncated, excluded.argv_truncated),"
		" cwd = COALESCE(cwd, excluded.cwd),"
		" start_wall_ns = COALESCE(start_wall_ns, excluded.start_wall_ns),"
		" in_tree = COALESCE(in_tree, excluded.in_tree)",
	[ST_PROC_EXEC] =
		PROC_UPSERT
		" parent_start_ns = COALESCE(excluded.parent_start_ns, parent_start_ns),"
		" ppid = COALESCE(excluded.ppid, ppid), uid = COALESCE(excluded.uid, uid),"
		" cgroup_id = COALESCE(excluded.cgroup_id, cgroup_id),"
		" unit = COALESCE(excluded.unit, unit), comm = COALESCE(excluded.comm, comm),"
		" filename = COALESCE(excluded.filename, filename),"
		" cmdline = COALESCE(excluded.cmdline, cmdline), argv = COALESCE(excluded.argv, argv),"
		" argv_truncated = excluded.argv_truncated, cwd = COALESCE(excluded.cwd, cwd),"
		" start_wall_ns = COALESCE(start_wall_ns, excluded.start_wall_ns),"
		" exec_wall_ns = COALESCE(excluded.exec_wall_ns, exec_wall_ns),"
		" in_tree = COALESCE(in_tree, excluded.in_tree), execs = execs + 1",
	[ST_PROC_EXIT] =
		"INSERT INTO processes(run_id, start_ns, tgid, exit_wall_ns, duration_ns, exit_code,"
		" exit_signal, core_dumped, cpu_user_ns, cpu_sys_ns, peak_rss_bytes, minflt, majflt,"
		" nvcsw, nivcsw, oom_killed) VALUES (:run, :start, :tgid, :exit_wall, :duration,"
		" :code, :signal, :core, :utime, :stime, :rss, :minflt, :majflt, :nvcsw, :nivcsw,"
		" :oom) ON CONFLICT(run_id, start_ns, tgid) DO UPDATE SET"
		" exit_wall_ns = excluded.exit_wall_ns, duration_ns = excluded.duration_ns,"
		" exit_code = excluded.exit_code, exit_signal = excluded.exit_signal,"
		" core_dumped = excluded.core_dumped, cpu_user_ns = excluded.cpu_user_ns,"
		" cpu_sys_ns = excluded.cpu_sys_ns, peak_rss_bytes = excluded.peak_rss_bytes,"
		" minflt = excluded.minflt, majflt = excluded.majflt, nvcsw = excluded.nvcsw,"
		" nivcsw = excluded.nivcsw, oom_killed = MAX(oom_killed, excluded.oom_killed)",
	[ST_PROC_OOM] =
		"INSERT INTO processes(run_id, start_ns, tgid, oom_killed) VALUES (:run, :start,"
		" :tgid, 1) ON CONFLICT(run_id, start_ns, tgid) DO UPDATE SET oom_killed = 1",
};

int store_fail(struct aod_store *st, int rc)
{
	snprintf(st->errmsg, sizeof(st->errmsg), "%s", sqlite3_errmsg(st->db));
	return store_errno(rc);
}

int store_exec_stmt(struct aod_store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	int err = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_fail(st, rc);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return err;
}

static int param(sqlite3_stmt *s, const char *name)
{
	int i = sqlite3_bind_parameter_index(s, name);

	assert(i > 0); /* a parameter name the statement lacks is a bug, not data */
	return i;
}

void store_bind_text(sqlite3_stmt *s, const char *name, const char *v)
{
	if (v)
		sqlite3_bind_text(s, param(s, name), v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, param(s, name));
}

void store_bind_textn(sqlite3_stmt *s, const char *name, const char *v, size_t n)
{
	sqlite3_bind_text(s, param(s, name), v, (int)n, SQLITE_TRANSIENT);
}

void store_bind_i64(sqlite3_stmt *s, const char *name, int64_t v)
{
	sqlite3_bind_int64(s, param(s, name), v);
}

void store_bind_u64(sqlite3_stmt *s, const char *name, uint64_t v)
{
	sqlite3_bind_int64(s, param(s, name), (int64_t)v);
}

void store_bind_nz(sqlite3_stmt *s, const char *name, uint64_t v)
{
	if (v)
		sqlite3_bind_int64(s, param(s, name), (int64_t)v);
	else
		sqlite3_bind_null(s, param(s, name));
}

static int prepare_all(struct aod_store *st)
{
	for (int i = 0; i < ST_COUNT; i++) {
		int rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &st->stmt[i], NULL);

		if (rc != SQLITE_OK)
			return store_fail(st, rc);
	}
	return 0;
}

static int open_db(struct aod_store *st, char *err, size_t errlen)
{
	/* 0600 like the bundles: argv and paths are other users' business. SQLite
	 * gives its -wal and -shm files the main file's mode. */
	int fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	char *msg = NULL;
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot open the store: %s", st->path, strerror(-rc));
		return rc;
	}
	close(fd);
	rc = sqlite3_open_v2(st->path, &st->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
					 SQLITE_OPEN_EXRESCODE,
				 NULL);

	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
		rc = sqlite3_exec(st->db, pragmas, NULL, NULL, &msg);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open the store: %s", st->path,
			 msg ? msg : st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return store_errno(rc) == -ENOENT && sqlite3_system_errno(st->db)
			       ? -sqlite3_system_errno(st->db)
			       : store_errno(rc);
	}
	return 0;
}

int aod_store_open(const char *path, struct aod_store **out, char *err, size_t errlen)
{
	struct aod_store *st = calloc(1, sizeof(*st));
	int rc;

	*out = NULL;
	if (!st) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	snprintf(st->path, sizeof(st->path), "%s", path);
	rc = open_db(st, err, errlen);
	if (!rc)
		rc = store_migrate(st->db, store_migrations, store_nmigrations, path, err, errlen);
	if (!rc && (rc = prepare_all(st)))
		snprintf(err, errlen, "%s: %s", path, st->errmsg);
	if (rc) {
		aod_store_close(st);
		return rc;
	}
	*out = st;
	return 0;
}

void aod_store_close(struct aod_store *st)
{
	if (!st)
		return;
	if (st->db && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db)
		sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(st->db);
	free(st);
}

const char *aod_store_errmsg(const struct aod_store *st)
{
	return st->errmsg;
}

const char *aod_store_path(const struct aod_store *st)
{
	return st->path;
}

int aod_store_begin(struct aod_store *st)
{
	return store_exec_stmt(st, st->stmt[ST_BEGIN]);
}

int aod_store_commit(struct aod_store *st)
{
	int err = store_exec_stmt(st, st->stmt[ST_COMMIT]);

	if (err)
		aod_store_rollback(st);
	return err;
}

void aod_store_rollback(struct aod_store *st)
{
	if (!sqlite3_get_autocommit(st->db)) {
		sqlite3_step(st->stmt[ST_ROLLBACK]);
		sqlite3_reset(st->stmt[ST_ROLLBACK]);
	}
}

bool aod_store_in_transaction(const struct aod_store *st)
{
	return !sqlite3_get_autocommit(st->db);
}

static void read_line(const char *file, char *buf, size_t len)
{
	FILE *f = fopen(file, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

int aod_store_run_begin(struct aod_store *st, const struct aod_store_run *run, int64_t *run_id)
{
	sqlite3_stmt *s = st->stmt[ST_RUN_BEGIN];
	char boot_id[64], hash[20];
	struct utsname u;
	int err;

	if (uname(&u))
		memset(&u, 0, sizeof(u));
	read_line("/proc/sys/kernel/random/boot_id", boot_id, sizeof(boot_id));
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)run->config_hash);
	store_bind_text(s, ":kind", run->kind);
	store_bind_u64(s, ":started", run->started_wall_ns);
	store_bind_text(s, ":host", u.nodename);
	store_bind_text(s, ":kernel", u.release);
	store_bind_text(s, ":boot_id", boot_id[0] ? boot_id : NULL);
	store_bind_text(s, ":version", AOD_VERSION);
	store_bind_text(s, ":command", run->command);
	store_bind_text(s, ":config_path", run->config_path);
	store_bind_text(s, ":config_hash", run->config_path ? hash : NULL);
	store_bind_nz(s, ":root_start", run->root.start_ns);
	store_bind_nz(s, ":root_tgid", run->root.tgid);
	err = store_exec_stmt(st, s);
	if (!err)
		*run_id = sqlite3_last_insert_rowid(st->db);
	return err;
}

int aod_store_run_end(struct aod_store *st, int64_t run_id, uint64_t ended_wall_ns, int exit_code)
{
	sqlite3_stmt *s = st->stmt[ST_RUN_END];

	store_bind_u64(s, ":ended", ended_wall_ns);
	if (exit_code >= 0)
		store_bind_i64(s, ":exit_code", exit_code);
	store_bind_i64(s, ":id", run_id);
	return store_exec_stmt(st, s);
}

uint64_t aod_store_disk_bytes(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char file[PATH_MAX + 8];
	uint64_t total = 0;
	struct stat sb;

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(file, sizeof(file), "%s%s", path, suffix[i]);
		if (!stat(file, &sb))
			total += (uint64_t)sb.st_size;
	}
	return total;
}
