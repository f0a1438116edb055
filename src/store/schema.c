// SPDX-License-Identifier: MIT
/*
 * The store's schema, as numbered steps (version N-1 -> N), and the
 * migration that applies them: a new store is migrated from version 0, an
 * older one from its version, in one transaction; a newer one is refused.
 * docs/store.md describes every table; a change of schema is a new step
 * appended here (never an edit of an old one) and a line in docs/store.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* Version 1. Times are ns (wall: UTC since the epoch); flags are 0/1. */
static const char schema_v1[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT) WITHOUT ROWID;"
	"CREATE TABLE runs("
	" id INTEGER PRIMARY KEY,"
	" kind TEXT NOT NULL,"            /* agent | trace */
	" started_ns INTEGER NOT NULL,"
	" ended_ns INTEGER,"
	" host TEXT, kernel TEXT, boot_id TEXT, aod_version TEXT,"
	" command TEXT,"                  /* trace: the traced command line */
	" config_path TEXT, config_hash TEXT,"
	" exit_code INTEGER,"
	" root_start_ns INTEGER, root_tgid INTEGER);"
	"CREATE TABLE processes("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL,"
	" start_ns INTEGER NOT NULL,"      /* identity: kernel start time ... */
	" tgid INTEGER NOT NULL,"          /* ... and process id */
	" parent_start_ns INTEGER, ppid INTEGER,"
	" uid INTEGER, cgroup_id INTEGER, unit TEXT,"
	" comm TEXT, filename TEXT, cmdline TEXT, argv BLOB,"
	" argv_truncated INTEGER NOT NULL DEFAULT 0, cwd TEXT,"
	" execs INTEGER NOT NULL DEFAULT 0,"
	" start_wall_ns INTEGER, exec_wall_ns INTEGER, exit_wall_ns INTEGER,"
	" duration_ns INTEGER, exit_code INTEGER, exit_signal INTEGER, core_dumped INTEGER,"
	" cpu_user_ns INTEGER, cpu_sys_ns INTEGER, peak_rss_bytes INTEGER,"
	" minflt INTEGER, majflt INTEGER, nvcsw INTEGER, nivcsw INTEGER,"
	" oom_killed INTEGER NOT NULL DEFAULT 0,"
	" seeded INTEGER NOT NULL DEFAULT 0,"
	" in_tree INTEGER,"
	" UNIQUE(run_id, start_ns, tgid));"
	"CREATE INDEX processes_parent ON processes(run_id, ppid, parent_start_ns);"
	"CREATE INDEX processes_exit ON processes(exit_wall_ns);"
	"CREATE TABLE events("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL,"
	" wall_ns INTEGER NOT NULL, mono_ns INTEGER NOT NULL,"
	" kind TEXT NOT NULL, source TEXT NOT NULL,"
	" pid INTEGER, tgid INTEGER, comm TEXT, proc_start_ns INTEGER,"
	" latency_ns INTEGER,"             /* slow ops: latency; stuck ops: age when found */
	" was_stuck INTEGER NOT NULL DEFAULT 0, late INTEGER NOT NULL DEFAULT 0, batch INTEGER,"
	" cmd TEXT, share TEXT, sesid INTEGER, mid INTEGER, tid INTEGER,"
	" status INTEGER, status_name TEXT, rc INTEGER,"
	" dev TEXT, disk TEXT, op TEXT, sector INTEGER, bytes INTEGER, error INTEGER,"
	" conn_id INTEGER, currmid INTEGER, server TEXT,"
	" path TEXT, detail TEXT);"
	"CREATE INDEX events_time ON events(wall_ns);"
	"CREATE INDEX events_kind_time ON events(kind, wall_ns);"
	"CREATE TABLE anomalies("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL,"
	" anomaly_id INTEGER NOT NULL,"    /* the agent's id: wall ns when it fired */
	" wall_ns INTEGER NOT NULL,"
	" rule TEXT NOT NULL, source TEXT NOT NULL, type TEXT NOT NULL,"
	" emergency INTEGER NOT NULL,"
	" window_start_ns INTEGER, window_end_ns INTEGER,"
	" total INTEGER, acceptable_count INTEGER, dropped INTEGER,"
	" json TEXT);"
	"CREATE INDEX anomalies_time ON anomalies(wall_ns);"
	"CREATE INDEX anomalies_rule ON anomalies(rule, wall_ns);"
	"CREATE TABLE bundles("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL,"
	" anomaly_id INTEGER NOT NULL,"
	" wall_ns INTEGER NOT NULL,"
	" rule TEXT, source TEXT, type TEXT,"
	" path TEXT, size INTEGER,"
	" result TEXT NOT NULL,"           /* ok | partial | failed */
	" error TEXT, duration_ms INTEGER);"
	"CREATE INDEX bundles_time ON bundles(wall_ns);"
	"CREATE INDEX bundles_anomaly ON bundles(anomaly_id);"
	"CREATE TABLE probe_states("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL,"
	" wall_ns INTEGER NOT NULL,"
	" probe TEXT NOT NULL, state TEXT NOT NULL, mode TEXT, reason TEXT);"
	"CREATE INDEX probe_states_time ON probe_states(wall_ns);"
	/* Seeds 002/004: their DuckDB table, one row per START, EXECVE, CPU and
	 * EXIT of a process. metric is REAL so that the seeds' SUM(metric)/3600000
	 * divides as DuckDB's '/' does. */
	"CREATE VIEW metrics_stream(id, pid, ppid, time, command, type, metric, full_command) AS"
	" SELECT id * 4, tgid, ppid, start_wall_ns / 1000000000, comm, 'START', 0.0, cmdline"
	"  FROM processes"
	" UNION ALL SELECT id * 4 + 1, tgid, ppid, exec_wall_ns / 1000000000, comm, 'EXECVE', 0.0,"
	"  cmdline FROM processes WHERE exec_wall_ns IS NOT NULL"
	" UNION ALL SELECT id * 4 + 2, tgid, ppid, exit_wall_ns / 1000000000, comm, 'CPU',"
	"  CAST(COALESCE(cpu_user_ns, 0) + COALESCE(cpu_sys_ns, 0) AS REAL), cmdline"
	"  FROM processes WHERE exit_wall_ns IS NOT NULL"
	" UNION ALL SELECT id * 4 + 3, tgid, ppid, exit_wall_ns / 1000000000, comm, 'EXIT',"
	"  CAST(duration_ns AS REAL), cmdline FROM processes WHERE exit_wall_ns IS NOT NULL;";

/* Version 2: the upload state of each bundle (src/upload). One row per
 * bundle file name; state is queued | uploading | uploaded | failed | dropped. */
static const char schema_v2[] =
	"CREATE TABLE uploads("
	" id INTEGER PRIMARY KEY,"
	" bundle TEXT NOT NULL UNIQUE,"    /* file name: aod_<id>_<source>_<type>.tar.zst */
	" anomaly_id INTEGER NOT NULL,"
	" path TEXT NOT NULL,"             /* the local file it is uploaded from */
	" object_key TEXT NOT NULL,"       /* where it goes in the bucket */
	" url TEXT,"                       /* endpoint/bucket/key, without credentials */
	" size INTEGER, md5 TEXT,"         /* of the file; md5 in hex, as S3's ETag */
	" state TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" queued_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL, uploaded_ns INTEGER,"
	" etag TEXT, error TEXT,"
	" deleted INTEGER NOT NULL DEFAULT 0);"   /* the local file was deleted after upload */
	"CREATE INDEX uploads_state ON uploads(state, queued_ns);";

const struct store_migration store_migrations[] = {
	{ 1, schema_v1 },
	{ 2, schema_v2 },
};
const size_t store_nmigrations = sizeof(store_migrations) / sizeof(store_migrations[0]);

int store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return 0;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_CORRUPT: case SQLITE_NOTADB: return -EBADMSG;
	case SQLITE_CONSTRAINT: return -EEXIST;
	case SQLITE_INTERRUPT: return -EINTR;
	case SQLITE_TOOBIG: return -E2BIG;
	case SQLITE_MISUSE: case SQLITE_RANGE: case SQLITE_ERROR: return -EINVAL;
	default: return -EIO;
	}
}

/* Run SQL with no result rows; err gets the message on failure. */
static int exec_sql(sqlite3 *db, const char *sql, const char *path, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK && err)
		snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return store_errno(rc);
}

static int count_tables(sqlite3 *db, bool *has_meta)
{
	sqlite3_stmt *s;
	int n = 0, rc;

	*has_meta = false;
	rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table'", -1, &s,
				NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		n++;
		*has_meta |= !strcmp((const char *)sqlite3_column_text(s, 0), "meta");
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? n : store_errno(rc);
}

int store_schema_version(sqlite3 *db)
{
	sqlite3_stmt *s;
	bool has_meta;
	int n = count_tables(db, &has_meta), rc, v = -EPROTO;

	if (n <= 0)
		return n;
	if (!has_meta)
		return -EPROTO;
	rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &s,
				NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = atoi((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return v > 0 ? v : -EPROTO;
}

static int set_version(sqlite3 *db, int version)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db,
				    "INSERT INTO meta(key, value) VALUES ('schema_version', ?1)"
				    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
				    -1, &s, NULL);

	if (rc != SQLITE_OK)
		return store_errno(rc);
	sqlite3_bind_int(s, 1, version);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int version_error(int have, int want, const char *path, char *err, size_t errlen)
{
	if (have == -EPROTO)
		snprintf(err, errlen,
			 "%s: not an aod store (an SQLite database without aod's meta table); "
			 "give aod a path of its own", path);
	else if (have > want)
		snprintf(err, errlen,
			 "%s: store schema version %d is newer than this aod (%s) understands (%d); "
			 "use a newer aod, or move the file away to start a new store",
			 path, have, AOD_VERSION, want);
	else
		snprintf(err, errlen, "%s: cannot read the schema version: %s", path,
			 strerror(-have));
	return have > want ? -EPROTO : have;
}

int store_migrate(sqlite3 *db, const struct store_migration *steps, size_t n, const char *path,
		  char *err, size_t errlen)
{
	int want = n ? steps[n - 1].to : 0, have, rc;

	rc = exec_sql(db, "BEGIN IMMEDIATE", path, err, errlen);
	if (rc)
		return rc;
	have = store_schema_version(db);
	if (have < 0 || have > want) {
		exec_sql(db, "ROLLBACK", path, NULL, 0);
		return version_error(have, want, path, err, errlen);
	}
	for (size_t i = 0; i < n && !rc; i++) {
		if (steps[i].to <= have)
			continue;
		rc = exec_sql(db, steps[i].sql, path, err, errlen);
		if (!rc)
			rc = set_version(db, steps[i].to);
	}
	if (!rc && have == 0)
		rc = exec_sql(db, "INSERT INTO meta(key, value) VALUES ('created_by', 'aod " AOD_VERSION
				  "'), ('application', 'aod event store')",
			      path, err, errlen);
	if (!rc)
		rc = exec_sql(db, "COMMIT", path, err, errlen);
	if (rc)
		exec_sql(db, "ROLLBACK", path, NULL, 0);
	return rc;
}
