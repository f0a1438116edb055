// SPDX-License-Identifier: MIT
/*
 * Store retention: by age, then by size, oldest rows first across every
 * table, then the freed pages go back to the file system (incremental
 * vacuum, WAL truncated). The size pass deletes the oldest tenth of the
 * time span still stored, again and again, until the live pages fit in
 * 70 % of the limit, so the file does not hover at the limit and prune at
 * every check.
 */
#include <stdio.h>

#include "store/store_int.h"

#define TARGET_PCT 70
#define MAX_PASSES 64
#define WAL_MAX (4 << 20) /* SQLite's default checkpoint point, 1000 pages */

static const char *const delete_sql[] = {
	"DELETE FROM events WHERE wall_ns < :cut",
	"DELETE FROM anomalies WHERE wall_ns < :cut",
	"DELETE FROM bundles WHERE wall_ns < :cut",
	"DELETE FROM probe_states WHERE wall_ns < :cut",
	/* only finished uploads: a queued one is a promise to the fleet */
	"DELETE FROM uploads WHERE updated_ns < :cut AND state IN ('uploaded', 'failed', 'dropped')",
	/* exited before cut, or never seen exiting in a run that ended before cut */
	("DELETE FROM processes WHERE exit_wall_ns < :cut OR (exit_wall_ns IS NULL AND"
	 " run_id IN (SELECT id FROM runs WHERE ended_ns < :cut AND id <> :keep))"),
	"DELETE FROM runs WHERE ended_ns < :cut AND id <> :keep",
};

/* The time below which the oldest tenth of the events, or of the exited
 * processes, lies (whichever comes first); the oldest row of any table when
 * both are empty. Deleting below it always makes progress. */
#define OLDEST                                                                              \
	"SELECT MIN(t) FROM (SELECT MIN(wall_ns) AS t FROM events"                          \
	" UNION ALL SELECT MIN(wall_ns) FROM anomalies UNION ALL SELECT MIN(wall_ns) FROM bundles" \
	" UNION ALL SELECT MIN(wall_ns) FROM probe_states"                                  \
	" UNION ALL SELECT MIN(exit_wall_ns) FROM processes"                                \
	" UNION ALL SELECT MIN(ended_ns) FROM runs WHERE id <> :keep)"

static const char cut_sql[] =
	"SELECT COALESCE(MIN(t) + 1, (" OLDEST ") + 1) FROM ("
	" SELECT (SELECT wall_ns FROM events ORDER BY wall_ns LIMIT 1"
	"  OFFSET (SELECT COUNT(*) / 10 FROM events)) AS t"
	" UNION ALL SELECT (SELECT exit_wall_ns FROM processes WHERE exit_wall_ns IS NOT NULL"
	"  ORDER BY exit_wall_ns LIMIT 1 OFFSET (SELECT COUNT(exit_wall_ns) / 10 FROM processes)))";


/* One integer from a query with an optional :keep parameter; -1 if NULL. */
static int query_i64(struct aod_store *st, const char *sql, int64_t keep, int64_t *out)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), idx;

	if (rc != SQLITE_OK)
		return store_fail(st, rc);
	if ((idx = sqlite3_bind_parameter_index(s, ":keep")))
		sqlite3_bind_int64(s, idx, keep);
	rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL
		       ? sqlite3_column_int64(s, 0) : -1;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_fail(st, rc);
	sqlite3_finalize(s);
	return rc;
}

/* Delete every row older than cut (the live run's open rows excepted). */
static int delete_before(struct aod_store *st, int64_t cut, int64_t keep, uint64_t *deleted)
{
	int err = aod_store_begin(st);

	for (size_t i = 0; !err && i < sizeof(delete_sql) / sizeof(delete_sql[0]); i++) {
		sqlite3_stmt *s;
		int rc = sqlite3_prepare_v2(st->db, delete_sql[i], -1, &s, NULL), idx;

		if (rc != SQLITE_OK) {
			err = store_fail(st, rc);
			break;
		}
		sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":cut"), cut);
		if ((idx = sqlite3_bind_parameter_index(s, ":keep")))
			sqlite3_bind_int64(s, idx, keep);
		rc = sqlite3_step(s);
		err = rc == SQLITE_DONE ? 0 : store_fail(st, rc);
		*deleted += (uint64_t)sqlite3_changes(st->db);
		sqlite3_finalize(s);
	}
	if (err) {
		aod_store_rollback(st);
		return err;
	}
	return aod_store_commit(st);
}

/* Bytes of the pages that hold data (the file minus its free list). */
static int live_bytes(struct aod_store *st, uint64_t *out)
{
	int64_t pages, free_pages, page_size;
	int err = query_i64(st, "PRAGMA page_count", 0, &pages);

	if (!err)
		err = query_i64(st, "PRAGMA freelist_count", 0, &free_pages);
	if (!err)
		err = query_i64(st, "PRAGMA page_size", 0, &page_size);
	if (!err)
		*out = (uint64_t)((pages - free_pages) * page_size);
	return err;
}

static int prune_to_size(struct aod_store *st, uint64_t target, int64_t now, int64_t keep,
			 uint64_t *deleted)
{
	uint64_t used;
	int err = live_bytes(st, &used);

	for (int pass = 0; !err && used > target && pass < MAX_PASSES; pass++) {
		uint64_t before = *deleted;
		int64_t cut;

		err = query_i64(st, cut_sql, keep, &cut);
		if (err || cut < 0 || cut > now + 1)
			break;
		err = delete_before(st, cut, keep, deleted);
		if (!err && *deleted == before)
			break; /* only what must stay (the live run) is left */
		if (!err)
			err = live_bytes(st, &used);
	}
	return err;
}

void aod_store_set_limit(struct aod_store *st, uint64_t max_bytes)
{
	uint64_t wal = max_bytes / 8;
	char sql[64];

	wal = wal < 64 * 1024 ? 64 * 1024 : wal > WAL_MAX ? WAL_MAX : wal;
	sqlite3_wal_autocheckpoint(st->db, (int)(wal / 4096));
	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %llu", (unsigned long long)wal);
	sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

static void give_back(struct aod_store *st)
{
	sqlite3_exec(st->db, "PRAGMA incremental_vacuum", NULL, NULL, NULL);
	sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

int aod_store_retention(struct aod_store *st, uint64_t max_bytes, uint64_t max_age_ns,
			uint64_t now_wall_ns, int64_t run_keep, struct aod_store_retention_stats *rs)
{
	int64_t now = (int64_t)now_wall_ns;
	int err = 0;

	rs->deleted = 0;
	rs->size_pruned = false;
	rs->bytes_before = aod_store_disk_bytes(st->path);
	if (max_age_ns && (uint64_t)now > max_age_ns)
		err = delete_before(st, now - (int64_t)max_age_ns, run_keep, &rs->deleted);
	if (!err && max_bytes && (rs->deleted || rs->bytes_before > max_bytes)) {
		give_back(st);
		if (aod_store_disk_bytes(st->path) > max_bytes) {
			rs->size_pruned = true;
			err = prune_to_size(st, max_bytes / 100 * TARGET_PCT, now, run_keep,
					    &rs->deleted);
		}
	}
	if (rs->deleted)
		give_back(st);
	rs->bytes_after = aod_store_disk_bytes(st->path);
	return err;
}
