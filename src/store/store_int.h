/* SPDX-License-Identifier: MIT */
/*
 * Private to src/store: the writer's connection, its prepared statements
 * and the schema steps. Every statement is prepared once at open
 * (SQLITE_PREPARE_PERSISTENT) and only ever gets values through binds.
 */
#ifndef AOD_STORE_STORE_INT_H
#define AOD_STORE_STORE_INT_H

#include <limits.h>
#include <sqlite3.h>

#include "store/store.h"

enum store_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_RUN_BEGIN,
	ST_RUN_END,
	ST_EVENT,
	ST_ANOMALY,
	ST_BUNDLE,
	ST_PROBE_STATE,
	ST_PROC_START,
	ST_PROC_EXEC,
	ST_PROC_EXIT,
	ST_PROC_OOM,
	ST_COUNT,
};

struct aod_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	char path[PATH_MAX];
	char errmsg[AOD_STORE_ERR_LEN];
};

/* One schema step: the SQL that takes version `to - 1` to `to`. */
struct store_migration {
	int to;
	const char *sql;
};

/* The steps of this build: creating a store is migrating from version 0. */
extern const struct store_migration store_migrations[];
extern const size_t store_nmigrations;

/*
 * Bring db to the last step's version inside one transaction. A store
 * newer than the steps know is refused (-EPROTO, err says so); a database
 * with tables but no aod meta table is refused too (-EPROTO). Returns 0 or
 * -errno.
 */
int store_migrate(sqlite3 *db, const struct store_migration *steps, size_t n, const char *path,
		  char *err, size_t errlen);
/* The schema version recorded in db's meta table: 0 for an empty database,
 * -EPROTO if it is not an aod store, -errno. */
int store_schema_version(sqlite3 *db);

/* SQLite result code -> negative errno. */
int store_errno(int rc);
/* Record the connection's error message and return store_errno(rc). */
int store_fail(struct aod_store *st, int rc);
/* Step a bound statement to completion, then reset and clear it. */
int store_exec_stmt(struct aod_store *st, sqlite3_stmt *s);

/* Binds: NULL text / 0-length stays NULL where the helper says so. */
void store_bind_text(sqlite3_stmt *s, const char *name, const char *v);   /* NULL -> NULL */
void store_bind_textn(sqlite3_stmt *s, const char *name, const char *v, size_t n);
void store_bind_i64(sqlite3_stmt *s, const char *name, int64_t v);
void store_bind_u64(sqlite3_stmt *s, const char *name, uint64_t v);      /* bit pattern */
void store_bind_nz(sqlite3_stmt *s, const char *name, uint64_t v);       /* 0 -> NULL */

#endif /* AOD_STORE_STORE_INT_H */
