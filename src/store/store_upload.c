// SPDX-License-Identifier: MIT
/*
 * The uploads table: one row per bundle that the uploader (src/upload) took
 * on, with its state. Written by the uploader's own connection, a statement
 * at a time (a few per bundle, so they are prepared per call); read back at
 * start (what is still pending) and by `aod bundles` (read-only).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"

static int prepare(struct aod_store *st, const char *sql, sqlite3_stmt **s)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);

	return rc == SQLITE_OK ? 0 : store_fail(st, rc);
}

static int run_once(struct aod_store *st, sqlite3_stmt *s)
{
	int err = store_exec_stmt(st, s);

	sqlite3_finalize(s);
	return err;
}

int aod_store_upload_put(struct aod_store *st, const struct aod_store_upload *u)
{
	sqlite3_stmt *s;
	int err = prepare(st,
			  "INSERT INTO uploads(bundle, anomaly_id, path, object_key, url, size, md5,"
			  " state, attempts, queued_ns, updated_ns) VALUES (:bundle, :anomaly, :path,"
			  " :key, :url, :size, :md5, :state, :attempts, :queued, :updated)"
			  " ON CONFLICT(bundle) DO UPDATE SET path = excluded.path,"
			  " object_key = excluded.object_key, url = excluded.url,"
			  " size = excluded.size, md5 = COALESCE(excluded.md5, md5),"
			  " state = excluded.state, updated_ns = excluded.updated_ns"
			  " WHERE state <> 'uploaded'",
			  &s);

	if (err)
		return err;
	store_bind_text(s, ":bundle", u->bundle);
	store_bind_u64(s, ":anomaly", u->anomaly_id);
	store_bind_text(s, ":path", u->path);
	store_bind_text(s, ":key", u->key);
	store_bind_text(s, ":url", u->url);
	store_bind_u64(s, ":size", u->size);
	store_bind_text(s, ":md5", u->md5);
	store_bind_text(s, ":state", u->state);
	store_bind_i64(s, ":attempts", u->attempts);
	store_bind_u64(s, ":queued", u->queued_ns);
	store_bind_u64(s, ":updated", u->updated_ns);
	return run_once(st, s);
}

int aod_store_upload_update(struct aod_store *st, const struct aod_store_upload *u)
{
	sqlite3_stmt *s;
	int err = prepare(st,
			  "UPDATE uploads SET state = :state, attempts = :attempts,"
			  " md5 = COALESCE(:md5, md5), etag = COALESCE(:etag, etag), error = :error,"
			  " uploaded_ns = :uploaded, deleted = :deleted, updated_ns = :updated"
			  " WHERE bundle = :bundle",
			  &s);

	if (err)
		return err;
	store_bind_text(s, ":state", u->state);
	store_bind_i64(s, ":attempts", u->attempts);
	store_bind_text(s, ":md5", u->md5);
	store_bind_text(s, ":etag", u->etag);
	store_bind_text(s, ":error", u->error);
	store_bind_nz(s, ":uploaded", u->uploaded_ns);
	store_bind_i64(s, ":deleted", u->deleted);
	store_bind_u64(s, ":updated", u->updated_ns);
	store_bind_text(s, ":bundle", u->bundle);
	err = run_once(st, s);
	if (!err && sqlite3_changes(st->db) == 0)
		return -ENOENT;
	return err;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

#define ROW_COLUMNS                                                                         \
	"bundle, anomaly_id, path, object_key, url, size, md5, state, attempts, queued_ns,"    \
	" updated_ns, uploaded_ns, etag, error, deleted"

/* Rows of a prepared SELECT ROW_COLUMNS to fn. */
static int each_row(sqlite3 *db, sqlite3_stmt *s,
		    int (*fn)(void *ctx, const struct aod_store_upload *u), void *ctx)
{
	int rc, stop = 0;

	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct aod_store_upload u = {
			.bundle = col_text(s, 0),
			.anomaly_id = (uint64_t)sqlite3_column_int64(s, 1),
			.path = col_text(s, 2),
			.key = col_text(s, 3),
			.url = col_text(s, 4),
			.size = (uint64_t)sqlite3_column_int64(s, 5),
			.md5 = col_text(s, 6),
			.state = col_text(s, 7),
			.attempts = (uint32_t)sqlite3_column_int(s, 8),
			.queued_ns = (uint64_t)sqlite3_column_int64(s, 9),
			.updated_ns = (uint64_t)sqlite3_column_int64(s, 10),
			.uploaded_ns = (uint64_t)sqlite3_column_int64(s, 11),
			.etag = col_text(s, 12),
			.error = col_text(s, 13),
			.deleted = sqlite3_column_int(s, 14) != 0,
		};

		if (!u.bundle || !u.state || !u.path || !u.key)
			continue; /* NOT NULL columns: only a hand-edited file gets here */
		stop = fn(ctx, &u);
	}
	(void)db;
	return stop ? stop : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int aod_store_upload_pending(struct aod_store *st,
			     int (*fn)(void *ctx, const struct aod_store_upload *u), void *ctx)
{
	sqlite3_stmt *s;
	int err = prepare(st,
			  "SELECT " ROW_COLUMNS " FROM uploads WHERE state IN ('queued', 'uploading')"
			  " ORDER BY queued_ns, id",
			  &s);

	if (err)
		return err;
	err = each_row(st->db, s, fn, ctx);
	if (err < 0)
		store_fail(st, sqlite3_errcode(st->db));
	sqlite3_finalize(s);
	return err;
}

int aod_store_uploads_read(const char *path,
			   int (*fn)(void *ctx, const struct aod_store_upload *u), void *ctx,
			   char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc;

	if (access(path, F_OK))
		return -errno;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 2000);
		rc = sqlite3_prepare_v2(db, "SELECT " ROW_COLUMNS " FROM uploads"
					" ORDER BY queued_ns DESC, id DESC", -1, &s, NULL);
	}
	if (rc != SQLITE_OK) {
		const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
		bool no_table = db && strstr(msg, "no such table");

		if (!no_table)
			snprintf(err, errlen, "%s: %s", path, msg);
		sqlite3_close(db);
		return no_table ? 0 : store_errno(rc);
	}
	rc = each_row(db, s, fn, ctx);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}
