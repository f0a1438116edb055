// SPDX-License-Identifier: MIT
/*
 * aod query [-d FILE.db | -c CONFIG] [--format F] [--since T] [--until T]
 *           [--limit N] [--timeout SEC] (SQL | NAME [ARGS])
 * aod query --list
 *
 * Reads the agent's store (store.path of the config) or a trace file,
 * read-only, under a time limit and a row limit (src/store/query.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/text.h"
#include "common/timeparse.h"
#include "common/timeutil.h"
#include "config/config.h"
#include "store/query.h"

#define DEFAULT_LIMIT 1000
#define DEFAULT_TIMEOUT_MS 5000

struct query_args {
	const char *db, *config;
	struct aod_query_opts o;
	bool list;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: aod query [-d FILE.db | -c CONFIG] [-f table|csv|json|jsonl]\n"
		"                 [--since TIME] [--until TIME] [--limit N] [--timeout SEC]\n"
		"                 (SQL | NAME [ARGS])\n"
		"       aod query --list\n"
		"\n"
		"Run one read-only SQL statement, or a named query (--list shows them), on the\n"
		"event store: the agent's (store.path of --config CONFIG, else of the built-in\n"
		"default config) or FILE.db (a trace file, a copy). The tables are in\n"
		"docs/store.md; metrics_stream is the seeds' table, so their queries run as they\n"
		"were. Writes, ATTACH, PRAGMA changes and extensions are refused.\n"
		"\n"
		"  -d, --db FILE.db       the store to read\n"
		"  -c, --config FILE      read the store of this agent config\n"
		"  -f, --format F         table (default: aligned, escaped, fit to the terminal),\n"
		"                         csv (RFC 4180), json (an array of objects), jsonl\n"
		"      --since TIME       only what happened at or after TIME\n"
		"      --until TIME       ... and at or before TIME. TIME: RFC 3339\n"
		"                         (2026-11-23T18:47:59Z, 2026-11-23 18:47:59+01:00,\n"
		"                         2026-11-23), now, or relative: -30s -10m -1h -2d -1w.\n"
		"                         In SQL they are the parameters :since and :until (ns).\n"
		"      --limit N          at most N rows (default %d; 0: all)\n"
		"      --timeout SEC      stop the statement after SEC seconds (default %d; 0: none)\n"
		"      --list             the named queries and their arguments\n"
		"  -h, --help             this text\n"
		"\n"
		"Exit status: 0 ok, 1 the query failed while running (time limit, I/O),\n"
		"2 bad usage, bad SQL or a refused statement.\n",
		DEFAULT_LIMIT, DEFAULT_TIMEOUT_MS / 1000);
}

static void list_named(void)
{
	const struct aod_named_query *q;

	printf("named queries (aod query NAME [ARGS]; --since/--until apply to each but the seeds'):\n");
	for (size_t i = 0; (q = aod_named_query_at(i)); i++)
		printf("  %-20s %-8s %s\n", q->name, q->args, q->summary);
}

static int parse_uint(const char *opt, const char *s, double scale, uint64_t *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v * scale > 1e18) {
		fprintf(stderr, "aod query: %s '%s': expected a number >= 0\n", opt, s);
		return 2;
	}
	*out = (uint64_t)(v * scale);
	return 0;
}

static int parse_when(const char *opt, const char *s, int64_t *out)
{
	if (!aod_parse_time(s, aod_wall_ns(), out))
		return 0;
	fprintf(stderr, "aod query: %s '%s': expected an RFC 3339 time (2026-11-23T18:47:59Z), "
		"now, or a relative one (-30s, -10m, -1h, -2d, -1w)\n", opt, s);
	return 2;
}

static int parse_opts(int argc, char **argv, struct query_args *a)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },     { "config", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' }, { "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },  { "limit", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 't' }, { "list", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	int c, rc = 0, fmt;

	optind = 1;
	opterr = 0;
	/* '+': SQL may start with '-' only in a comment; stop at the first operand */
	while (!rc && (c = getopt_long(argc, argv, "+d:c:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': a->db = optarg; break;
		case 'c': a->config = optarg; break;
		case 'f':
			if ((fmt = aod_query_format_from_name(optarg)) < 0) {
				fprintf(stderr, "aod query: --format '%s': expected table, csv, json or jsonl\n",
					optarg);
				rc = 2;
			}
			a->o.format = (enum aod_query_format)fmt;
			break;
		case 'S': rc = parse_when("--since", optarg, &a->o.since_ns); break;
		case 'U': rc = parse_when("--until", optarg, &a->o.until_ns); break;
		case 'l': rc = parse_uint("--limit", optarg, 1, &a->o.limit); break;
		case 't': rc = parse_uint("--timeout", optarg, 1000, &a->o.timeout_ms); break;
		case 'L': a->list = true; break;
		case 'h': usage(stdout); return -1;
		default:
			fprintf(stderr, "aod query: bad option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (!rc && a->db && a->config) {
		fprintf(stderr, "aod query: give -d or -c, not both\n");
		rc = 2;
	}
	return rc;
}

static int store_from_config(const char *path, char *out, size_t len)
{
	struct aod_config *cfg = calloc(1, sizeof(*cfg));
	struct aod_config_error err = { { 0 } };
	int r;

	if (!cfg)
		return -ENOMEM;
	r = aod_config_load(cfg, path, &err);
	if (r < 0)
		fprintf(stderr, "aod query: %s\n", err.msg[0] ? err.msg : strerror(-r));
	else
		snprintf(out, len, "%s", cfg->store.path);
	free(cfg);
	return r;
}

static unsigned terminal_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");

	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col)
		return ws.ws_col;
	return cols ? (unsigned)strtoul(cols, NULL, 10) : 0;
}

/* NAME [ARGS] or SQL -> the statement to run; 2 on a usage error. */
static int pick_statement(int argc, char **argv, struct query_args *a, const char **sql)
{
	const struct aod_named_query *nq;

	if (optind >= argc) {
		fprintf(stderr, "aod query: expected SQL or a query name (aod query --list)\n");
		return 2;
	}
	nq = aod_named_query_find(argv[optind]);
	/* a word of name characters is a name: a typo gets this, not an SQL error */
	if (!nq && !argv[optind][strspn(argv[optind], "abcdefghijklmnopqrstuvwxyz"
					       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")]) {
		fprintf(stderr, "aod query: '%s' is no named query (aod query --list) and not SQL\n",
			argv[optind]);
		return 2;
	}
	if ((size_t)(argc - optind - 1) > (nq ? nq->max_args : 0)) {
		fprintf(stderr, "aod query: too many arguments%s%s%s\n", nq ? " for " : "",
			nq ? nq->name : " after the SQL (one statement, quoted)",
			nq && nq->args[0] ? ": " : "");
		if (nq && nq->args[0])
			fprintf(stderr, "usage: aod query %s %s\n", nq->name, nq->args);
		return 2;
	}
	for (int i = optind + 1; i < argc; i++)
		a->o.args[a->o.nargs++] = argv[i];
	*sql = nq ? nq->sql : argv[optind];
	return 0;
}

static int run(const char *path, const char *sql, const struct aod_query_opts *o)
{
	char err[AOD_QUERY_ERR_LEN];
	struct aod_query_result res;
	struct aod_query_db *q;
	int rc = aod_query_open(path, &q, err, sizeof(err));

	if (rc) {
		aod_text_fput(stderr, "aod query: ", 11, false);
		aod_text_fput(stderr, err, strlen(err), false);
		fputs(rc == -ENOENT ? " (is the agent running with store on? -d FILE.db)\n" : "\n",
		      stderr);
		return 1;
	}
	rc = aod_query_run(q, sql, o, stdout, &res, err, sizeof(err));
	aod_query_close(q);
	if (rc) {
		fprintf(stderr, "aod query: ");
		aod_text_fput(stderr, err, strlen(err), true);
		fputc('\n', stderr);
		return rc == -EINVAL || rc == -EACCES ? 2 : 1;
	}
	if (res.truncated)
		fprintf(stderr, "aod query: %llu rows shown; there are more (--limit N, 0 for all)\n",
			(unsigned long long)res.rows);
	return 0;
}

int aod_cmd_query(int argc, char **argv)
{
	struct query_args a = { .o = { .limit = DEFAULT_LIMIT, .timeout_ms = DEFAULT_TIMEOUT_MS } };
	char path[PATH_MAX];
	const char *sql = NULL;
	int rc = parse_opts(argc, argv, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (a.list) {
		list_named();
		return 0;
	}
	rc = pick_statement(argc, argv, &a, &sql);
	if (rc)
		return rc;
	if (a.db)
		snprintf(path, sizeof(path), "%s", a.db);
	else if (store_from_config(a.config, path, sizeof(path)) < 0)
		return a.config ? 2 : 1;
	if (a.o.format == AOD_QUERY_TABLE)
		a.o.width = terminal_width();
	return run(path, sql, &a.o);
}
