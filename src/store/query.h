/* SPDX-License-Identifier: MIT */
/*
 * Reading a store (`aod query`): a connection that cannot write, one SQL
 * statement at a time under a time limit and a row limit, results as a
 * text table, CSV or JSON.
 *
 * Read-only twice over: the file is opened with SQLITE_OPEN_READONLY, and
 * an authorizer denies every write (INSERT, UPDATE, DELETE, CREATE, DROP,
 * ALTER, temp tables too), ATTACH/DETACH, transactions, every PRAGMA but a
 * few read-only introspection ones, and load_extension(); extension
 * loading is off, the schema is not trusted (defensive mode), a string or
 * blob is at most 64 MiB. A progress handler stops a statement at its time
 * limit.
 *
 * Parameters: :since and :until (wall ns) are bound in any statement that
 * names them (0 and INT64_MAX when not given); :arg1, :arg2, ... are the
 * named query's arguments (an integer if the text is one, else text).
 */
#ifndef AOD_STORE_QUERY_H
#define AOD_STORE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AOD_QUERY_ERR_LEN 2048
#define AOD_QUERY_MAX_ARGS 4

enum aod_query_format {
	AOD_QUERY_TABLE = 0, /* aligned columns, control characters escaped, fit to width */
	AOD_QUERY_CSV = 1,   /* RFC 4180: header line, CRLF, quotes doubled */
	AOD_QUERY_JSON = 2,  /* one array of objects */
	AOD_QUERY_JSONL = 3, /* one object per line */
};

/* "table", "csv", "json", "jsonl" -> format; -1 if unknown. */
int aod_query_format_from_name(const char *name);

struct aod_query_opts {
	uint64_t timeout_ms;       /* 0: no time limit */
	uint64_t limit;            /* rows shown; 0: all */
	int64_t since_ns, until_ns;
	const char *args[AOD_QUERY_MAX_ARGS];
	size_t nargs;
	enum aod_query_format format;
	unsigned width;            /* table: columns of the terminal; 0: no limit */
};

struct aod_query_result {
	uint64_t rows;             /* rows written */
	bool truncated;            /* more rows than the limit */
};

struct aod_query_db;

/* Open path read-only. err: one sentence. 0 or -errno. */
int aod_query_open(const char *path, struct aod_query_db **out, char *err, size_t errlen);
void aod_query_close(struct aod_query_db *q);

/*
 * Prepare and run one statement, writing the rows to out. On error err
 * says what was wrong and where: SQLite's message, the line and column
 * with the statement and a caret under the place, or which operation the
 * read-only rule refused, or that the time limit stopped it. Returns 0,
 * -EINVAL (bad SQL), -EACCES (refused), -ETIME (time limit), -errno.
 */
int aod_query_run(struct aod_query_db *q, const char *sql, const struct aod_query_opts *o,
		  FILE *out, struct aod_query_result *res, char *err, size_t errlen);

/* Named queries (named.c). */
struct aod_named_query {
	const char *name;
	const char *args;          /* usage of its arguments, "" if none */
	unsigned max_args;
	const char *summary;
	const char *sql;
};

const struct aod_named_query *aod_named_query_find(const char *name);
const struct aod_named_query *aod_named_query_at(size_t i); /* NULL past the end */

/* Output (qformat.c): a sink gets the column names once, then each row. */
struct sqlite3_stmt;
struct aod_qsink;

struct aod_qsink *aod_qsink_new(enum aod_query_format format, FILE *out, unsigned width);
/* The statement after its first step (or before, for the column names). */
int aod_qsink_begin(struct aod_qsink *k, struct sqlite3_stmt *stmt);
int aod_qsink_row(struct aod_qsink *k, struct sqlite3_stmt *stmt);
int aod_qsink_end(struct aod_qsink *k);
void aod_qsink_free(struct aod_qsink *k);

#endif /* AOD_STORE_QUERY_H */
