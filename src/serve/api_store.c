// SPDX-License-Identifier: MIT
/*
 * The API's views of the event store (docs/store.md): anomalies, events,
 * runs and processes. Read through a connection of the server thread's
 * own that cannot write (store/query.h: SQLITE_OPEN_READONLY plus an
 * authorizer), so the store's writer never waits for a reader; each
 * statement is fixed text with bound parameters (:since, :arg1, ...) and
 * runs under a time limit and a row limit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "serve/api_int.h"
#include "store/query.h"

static const char sql_anomalies[] =
	"SELECT CAST(anomaly_id AS TEXT) AS id, wall_ns, rule, source, type, emergency, window_start_ns, "
	"window_end_ns, total, acceptable_count, dropped, json FROM anomalies "
	"WHERE wall_ns >= :since AND (:arg1 IS NULL OR rule = :arg1) ORDER BY wall_ns DESC";

static const char sql_events[] =
	"SELECT id, run_id, wall_ns, mono_ns, kind, source, pid, tgid, comm, proc_start_ns, "
	"latency_ns, was_stuck, late, batch, cmd, share, sesid, mid, tid, status, status_name, "
	"rc, dev, disk, op, sector, bytes, error, conn_id, currmid, server, path, detail "
	"FROM events WHERE wall_ns >= :since AND (:arg1 IS NULL OR kind = :arg1) "
	"ORDER BY wall_ns DESC, id DESC";

static const char sql_runs[] =
	"SELECT id, kind, started_ns, ended_ns, host, kernel, boot_id, aod_version, command, "
	"config_path, printf('%016x', config_hash) AS config_hash, exit_code FROM runs "
	"WHERE coalesce(ended_ns, 9223372036854775807) >= :since ORDER BY started_ns DESC";

/* argv (a BLOB) is left out: cmdline is the same, as text. */
static const char sql_processes[] =
	"SELECT id, run_id, start_ns, tgid, ppid, uid, unit, comm, filename, cmdline, "
	"argv_truncated, cwd, execs, start_wall_ns, exec_wall_ns, exit_wall_ns, duration_ns, "
	"exit_code, exit_signal, core_dumped, cpu_user_ns, cpu_sys_ns, peak_rss_bytes, minflt, "
	"majflt, nvcsw, nivcsw, oom_killed, seeded FROM processes "
	"WHERE coalesce(exit_wall_ns, 9223372036854775807) >= :since "
	"AND (:arg1 IS NULL OR run_id = :arg1) ORDER BY start_wall_ns DESC, id DESC";

/* The server thread's connection to the store of the current config. */
static int store_db(struct api_req *r, char *why, size_t len)
{
	struct aod_api *a = r->api;
	int err;

	if (!r->cfg->store.enabled) {
		snprintf(why, len, "the event store is off (store.enabled: false)");
		return -ENOENT;
	}
	if (a->db && !strcmp(a->db_path, r->cfg->store.path))
		return 0;
	aod_query_close(a->db);
	a->db = NULL;
	err = aod_query_open(r->cfg->store.path, &a->db, why, len);
	if (!err)
		snprintf(a->db_path, sizeof(a->db_path), "%s", r->cfg->store.path);
	return err;
}

/* Rows of one statement as a JSON array (parsed back from the query sink). */
static int query_rows(struct api_req *r, const char *sql, const struct aod_query_opts *o,
		      json_t **rows, bool *truncated, char *why, size_t len)
{
	struct aod_query_result res;
	json_error_t jerr;
	char *text = NULL;
	size_t tlen = 0;
	FILE *mem;
	int err = store_db(r, why, len);

	if (err)
		return err;
	mem = open_memstream(&text, &tlen);
	if (!mem)
		return -ENOMEM;
	err = aod_query_run(r->api->db, sql, o, mem, &res, why, len);
	if (fclose(mem) && !err)
		err = -ENOMEM;
	if (!err) {
		*rows = json_loadb(text, tlen, 0, &jerr);
		if (!*rows || !json_is_array(*rows)) {
			snprintf(why, len, "the store's rows did not parse as JSON: %s", jerr.text);
			json_decref(*rows);
			*rows = NULL;
			err = -EIO;
		}
		*truncated = res.truncated;
	}
	free(text);
	return err;
}

/* A column holding a JSON object as text becomes that object. */
static void unpack_json_column(json_t *rows, const char *key)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row) {
		json_t *v = json_object_get(row, key);
		json_t *obj = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : NULL;

		if (obj)
			json_object_set_new(row, key, obj);
	}
}

/* A listing: ?since= and ?limit=, one optional filter argument (?NAME=). */
static enum MHD_Result listing(struct api_req *r, const char *sql, const char *filter,
			       const char *json_col)
{
	struct aod_query_opts o = { .timeout_ms = API_QUERY_TIMEOUT_MS,
				    .format = AOD_QUERY_JSON };
	const char *arg = filter ? MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
							       filter) : NULL;
	json_t *rows = NULL;
	bool truncated = false;
	char why[AOD_QUERY_ERR_LEN];
	int err;

	if (api_arg_time(r->conn, "since", &o.since_ns))
		return api_send_error(r->conn, MHD_HTTP_BAD_REQUEST,
				      "since: expected RFC 3339 (2026-11-23T18:47:59Z), a relative "
				      "time (-1h, -30s), now, or wall-clock ns");
	if (api_arg_limit(r->conn, &o.limit))
		return api_send_error(r->conn, MHD_HTTP_BAD_REQUEST,
				      "limit: expected an integer 1..%d", API_MAX_LIMIT);
	if (arg && *arg) {
		if (strlen(arg) > 256)
			return api_send_error(r->conn, MHD_HTTP_BAD_REQUEST,
					      "%s: longer than 256 bytes", filter);
		o.args[0] = arg;
		o.nargs = 1;
	}
	err = query_rows(r, sql, &o, &rows, &truncated, why, sizeof(why));
	if (err == -ENOENT || err == -EACCES || err == -EPERM || err == -ENOTDIR)
		return api_send_error(r->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "store: %s", why);
	if (err) {
		log_warn("http: store query for %s failed: %s", r->rest[0] ? r->rest : "api", why);
		return api_send_error(r->conn, err == -ETIME ? MHD_HTTP_SERVICE_UNAVAILABLE
							     : MHD_HTTP_INTERNAL_SERVER_ERROR,
				      "store: %s", why);
	}
	if (json_col)
		unpack_json_column(rows, json_col);
	return api_send_json(r->conn, MHD_HTTP_OK,
			     json_pack("{s:o, s:b, s:I}", "items", rows, "truncated", truncated,
				       "limit", (json_int_t)o.limit));
}

enum MHD_Result api_anomalies(struct api_req *r)
{
	return listing(r, sql_anomalies, "rule", "json");
}

enum MHD_Result api_events(struct api_req *r)
{
	return listing(r, sql_events, "kind", "detail");
}

enum MHD_Result api_runs(struct api_req *r)
{
	return listing(r, sql_runs, NULL, NULL);
}

enum MHD_Result api_processes(struct api_req *r)
{
	return listing(r, sql_processes, "run", NULL);
}
