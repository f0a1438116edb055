// SPDX-License-Identifier: MIT
/*
 * `aod query`'s connection: read-only open, the authorizer that refuses
 * anything but reading, the time limit, parameter binding, and errors that
 * say what was wrong and where (query.h).
 */
#include "store/query.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/text.h"
#include "common/timeutil.h"

#define PROGRESS_OPS 10000
#define MAX_TEXT_BYTES (64 << 20)

struct aod_query_db {
	sqlite3 *db;
	char denied[256];          /* what the authorizer refused last */
	uint64_t deadline_mono_ns; /* 0: none */
	bool timed_out;
};

/* PRAGMAs that only read, whatever their argument. */
static const char *const read_pragmas[] = {
	"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
	"foreign_key_list", "collation_list", "function_list", NULL,
};

static bool is_read_pragma(const char *name)
{
	for (size_t i = 0; name && read_pragmas[i]; i++)
		if (!sqlite3_stricmp(name, read_pragmas[i]))
			return true;
	return false;
}

static const char *action_name(int action)
{
	switch (action) {
	case SQLITE_INSERT: return "INSERT into";
	case SQLITE_UPDATE: return "UPDATE of";
	case SQLITE_DELETE: return "DELETE from";
	case SQLITE_ATTACH: return "ATTACH of";
	case SQLITE_DETACH: return "DETACH of";
	case SQLITE_PRAGMA: return "PRAGMA";
	case SQLITE_TRANSACTION: return "transaction";
	case SQLITE_SAVEPOINT: return "SAVEPOINT";
	case SQLITE_ALTER_TABLE: return "ALTER TABLE of";
	case SQLITE_REINDEX: return "REINDEX of";
	case SQLITE_ANALYZE: return "ANALYZE of";
	case SQLITE_FUNCTION: return "function";
	default: return action <= SQLITE_DROP_VIEW || action == SQLITE_CREATE_VTABLE ||
				action == SQLITE_DROP_VTABLE
			       ? "CREATE/DROP of" : "operation";
	}
}

static int authorize(void *ctx, int action, const char *a1, const char *a2, const char *db,
		     const char *trigger)
{
	struct aod_query_db *q = ctx;

	switch (action) {
	case SQLITE_READ:
	case SQLITE_SELECT:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_FUNCTION:
		if (a2 && sqlite3_stricmp(a2, "load_extension"))
			return SQLITE_OK;
		break;
	case SQLITE_PRAGMA:
		if (is_read_pragma(a1))
			return SQLITE_OK;
		break;
	}
	snprintf(q->denied, sizeof(q->denied), "%s %s%s", action_name(action),
		 action == SQLITE_FUNCTION ? (a2 ? a2 : "?") : a1 ? a1 : "?",
		 action == SQLITE_PRAGMA && a2 ? " (with a value)" : "");
	return SQLITE_DENY;
}

static int progress(void *ctx)
{
	struct aod_query_db *q = ctx;

	if (!q->deadline_mono_ns || aod_mono_ns() < q->deadline_mono_ns)
		return 0;
	q->timed_out = true;
	return 1;
}

static void harden(sqlite3 *db)
{
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, MAX_TEXT_BYTES);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
}

int aod_query_open(const char *path, struct aod_query_db **out, char *err, size_t errlen)
{
	struct aod_query_db *q = calloc(1, sizeof(*q));
	struct stat sb;
	int rc;

	*out = NULL;
	if (!q)
		return -ENOMEM;
	if (stat(path, &sb)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(q);
		return rc;
	}
	rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
		aod_query_close(q);
		return -EIO;
	}
	harden(q->db);
	sqlite3_busy_timeout(q->db, 2000);
	sqlite3_set_authorizer(q->db, authorize, q);
	sqlite3_progress_handler(q->db, PROGRESS_OPS, progress, q);
	*out = q;
	return 0;
}

void aod_query_close(struct aod_query_db *q)
{
	if (!q)
		return;
	sqlite3_close(q->db);
	free(q);
}

int aod_query_format_from_name(const char *name)
{
	static const char *const names[] = { "table", "csv", "json", "jsonl" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

/* Line and column (1-based) of byte offset off in sql, and that line. */
static void locate(const char *sql, int off, int *line, int *col, const char **start, int *len)
{
	const char *ls = sql;

	*line = 1;
	for (const char *p = sql; p < sql + off; p++)
		if (*p == '\n') {
			(*line)++;
			ls = p + 1;
		}
	*col = (int)(sql + off - ls) + 1;
	*start = ls;
	*len = (int)strcspn(ls, "\n");
}

/* "SQL error at line L, column C: MSG" and the line with a caret under C. */
static void sql_error(const char *sql, int off, const char *msg, char *err, size_t errlen)
{
	char text[512], esc[2048];
	const char *ls;
	int line, col, len;

	if (off < 0 || (size_t)off > strlen(sql)) {
		snprintf(err, errlen, "SQL error: %s", msg);
		return;
	}
	locate(sql, off, &line, &col, &ls, &len);
	/* the caret is placed by counting bytes: keep the shown part of the line short */
	snprintf(text, sizeof(text), "%.*s", len < (int)sizeof(text) - 1 ? len : (int)sizeof(text) - 1,
		 ls);
	aod_text_escape(text, sizeof(text), esc, sizeof(esc), false);
	snprintf(err, errlen, "SQL error at line %d, column %d: %s\n  %s\n  %*s^", line, col, msg,
		 esc, col - 1, "");
}

static bool only_blanks_or_comments(const char *s)
{
	while (*s) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == ';') {
			s++;
		} else if (s[0] == '-' && s[1] == '-') {
			s += strcspn(s, "\n");
		} else if (s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");

			if (!e)
				return true;
			s = e + 2;
		} else {
			return false;
		}
	}
	return true;
}

static int prepare(struct aod_query_db *q, const char *sql, sqlite3_stmt **s, char *err,
		   size_t errlen)
{
	const char *tail = NULL;
	int rc;

	q->denied[0] = '\0';
	rc = sqlite3_prepare_v2(q->db, sql, -1, s, &tail);
	if (rc == SQLITE_AUTH || (rc != SQLITE_OK && q->denied[0])) {
		snprintf(err, errlen, "refused: %s is not allowed: aod query only reads the store",
			 q->denied);
		return -EACCES;
	}
	if (rc != SQLITE_OK) {
		sql_error(sql, sqlite3_error_offset(q->db), sqlite3_errmsg(q->db), err, errlen);
		return -EINVAL;
	}
	if (*s && !sqlite3_stmt_readonly(*s)) { /* VACUUM INTO writes a file, unasked */
		sqlite3_finalize(*s);
		*s = NULL;
		snprintf(err, errlen, "refused: a statement that writes is not allowed: aod query "
			 "only reads the store");
		return -EACCES;
	}
	if (!*s) {
		snprintf(err, errlen, "SQL error: no statement (empty or only comments)");
		return -EINVAL;
	}
	if (tail && !only_blanks_or_comments(tail)) {
		sqlite3_finalize(*s);
		*s = NULL;
		sql_error(sql, (int)(tail - sql), "only one statement at a time", err, errlen);
		return -EINVAL;
	}
	return 0;
}

static bool parse_i64(const char *s, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return *s && !*end && !errno;
}

static void bind_params(sqlite3_stmt *s, const struct aod_query_opts *o)
{
	int i;

	if ((i = sqlite3_bind_parameter_index(s, ":since")))
		sqlite3_bind_int64(s, i, o->since_ns);
	if ((i = sqlite3_bind_parameter_index(s, ":until")))
		sqlite3_bind_int64(s, i, o->until_ns ? o->until_ns : INT64_MAX);
	for (size_t a = 0; a < o->nargs && a < AOD_QUERY_MAX_ARGS; a++) {
		char name[16];
		int64_t v;

		snprintf(name, sizeof(name), ":arg%zu", a + 1);
		if (!(i = sqlite3_bind_parameter_index(s, name)))
			continue;
		if (parse_i64(o->args[a], &v))
			sqlite3_bind_int64(s, i, v);
		else
			sqlite3_bind_text(s, i, o->args[a], -1, SQLITE_TRANSIENT);
	}
}

static int step_error(struct aod_query_db *q, const struct aod_query_opts *o, int rc, char *err,
		      size_t errlen)
{
	if (q->timed_out) {
		snprintf(err, errlen,
			 "stopped at the time limit of %.1f s (--timeout SEC; 0 for none)",
			 (double)o->timeout_ms / 1000.0);
		return -ETIME;
	}
	snprintf(err, errlen, "SQL error while running: %s", sqlite3_errmsg(q->db));
	return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

/* Step through the rows into the sink, up to the limit. */
static int run_rows(struct aod_query_db *q, sqlite3_stmt *s, const struct aod_query_opts *o,
		    struct aod_qsink *k, struct aod_query_result *res, char *err, size_t errlen)
{
	int rc, werr = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (o->limit && res->rows == o->limit) {
			res->truncated = true;
			break;
		}
		if ((werr = aod_qsink_row(k, s)))
			break;
		res->rows++;
	}
	if (werr) {
		snprintf(err, errlen, "writing the result: %s", strerror(-werr));
		return werr;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return step_error(q, o, rc, err, errlen);
	return 0;
}

int aod_query_run(struct aod_query_db *q, const char *sql, const struct aod_query_opts *o,
		  FILE *out, struct aod_query_result *res, char *err, size_t errlen)
{
	struct aod_qsink *k;
	sqlite3_stmt *s = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	q->timed_out = false;
	q->deadline_mono_ns = o->timeout_ms ? aod_mono_ns() + o->timeout_ms * AOD_NSEC_PER_MSEC : 0;
	rc = prepare(q, sql, &s, err, errlen);
	if (rc)
		return rc;
	bind_params(s, o);
	k = aod_qsink_new(o->format, out, o->width);
	rc = k ? aod_qsink_begin(k, s) : -ENOMEM;
	if (!rc)
		rc = run_rows(q, s, o, k, res, err, errlen);
	else
		snprintf(err, errlen, "writing the result: %s", strerror(-rc));
	/* a table is written at the end; a partial CSV/JSON stays unterminated */
	if (!rc && (rc = aod_qsink_end(k)))
		snprintf(err, errlen, "writing the result: %s", strerror(-rc));
	aod_qsink_free(k);
	sqlite3_finalize(s);
	return rc;
}
