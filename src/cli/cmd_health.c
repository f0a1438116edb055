// SPDX-License-Identifier: MIT
/*
 * aod health [run|units|boot|resources|logs|deps] [-o text|json] [--no-save] [--since TIME]
 * aod health unit NAME | history [-n N] | show ID | diff A B
 *
 * The system health report (src/health/): text for a person (80 columns,
 * colour on a terminal unless NO_COLOR), or JSON raw on stdout. `run` saves
 * the report in health.history_dir and scores units against the history.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/timeutil.h"
#include "config/config.h"
#include "health/health.h"
#include "health/history.h"
#include "health/hjson.h"

struct health_args {
	bool json, no_save, processes;
	const char *config, *history_dir, *since;
	long limit;
	int npos;
	char **pos;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: aod health [run] [-o text|json] [--no-save] [--since TIME] [--processes]\n"
		"       aod health units|boot|resources|logs|deps [-o text|json] [--since TIME]\n"
		"                  [--processes]\n"
		"       aod health unit NAME [-o text|json]\n"
		"       aod health history [-n N] [-o text|json]\n"
		"       aod health show ID [-o text|json]\n"
		"       aod health diff A B [-o text|json]\n"
		"\n"
		"The system health report: failed, flapping, socket, timer and stuck units,\n"
		"boot times, blame and critical chain, system and per-unit resources,\n"
		"this boot's log patterns, dependencies of failed units and dependency\n"
		"cycles, and each unit scored against its history. `run` saves the report\n"
		"in health.history_dir. Without systemd as PID 1, units, boot and deps are\n"
		"skipped and say why. ID: an id from `aod health history`, its number there\n"
		"(1 = newest), or `latest`. Exit: 0 healthy, 1 a unit failed or a part\n"
		"errored, 2 bad usage.\n"
		"\n"
		"  -o, --output text|json  text (default) or JSON on stdout (docs/health.md)\n"
		"      --no-save           do not save the report\n"
		"      --since TIME        logs from TIME on (any boot): 2025-12-01 10:00,\n"
		"                          @EPOCH, -2h, \"30m ago\", today, yesterday\n"
		"      --processes         trace execs and exits during the analysis with the\n"
		"                          process probe (root) and count them per unit\n"
		"  -n, --limit N           history: the N newest (default 10; 0 = all)\n"
		"  -c, --config FILE       take the health: section from this config\n"
		"      --history-dir DIR   instead of health.history_dir\n"
		"  -h, --help              this text\n");
}

static int parse_args(int argc, char **argv, struct health_args *a)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "no-save", no_argument, NULL, 'S' },
		{ "since", required_argument, NULL, 's' }, { "limit", required_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' }, { "history-dir", required_argument, NULL, 'H' },
		{ "processes", no_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	a->limit = 10;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:n:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
				fprintf(stderr, "aod health: -o wants text or json, got '%s'\n", optarg);
				return 2;
			}
			a->json = !strcmp(optarg, "json");
			break;
		case 'S': a->no_save = true; break;
		case 'P': a->processes = true; break;
		case 's': a->since = optarg; break;
		case 'c': a->config = optarg; break;
		case 'H': a->history_dir = optarg; break;
		case 'n':
			a->limit = strtol(optarg, &end, 10);
			if (*end || end == optarg || a->limit < 0) {
				fprintf(stderr, "aod health: -n wants a number >= 0, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "aod health: bad option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	a->npos = argc - optind;
	a->pos = argv + optind;
	return -1;
}

static int load_config(const struct health_args *a, struct aod_config *cfg)
{
	struct aod_config_error err = { { 0 } };
	int r = aod_config_load(cfg, a->config, &err);

	if (r < 0) {
		fprintf(stderr, "aod health: %s\n", err.msg[0] ? err.msg : strerror(-r));
		return r == -EINVAL ? 2 : 1;
	}
	if (a->history_dir)
		snprintf(cfg->health.history_dir, sizeof(cfg->health.history_dir), "%s", a->history_dir);
	return 0;
}

static struct aod_render renderer(void)
{
	const char *nc = getenv("NO_COLOR");

	return (struct aod_render){ .out = stdout, .width = 80,
				    .color = isatty(STDOUT_FILENO) && !(nc && *nc) };
}

static int print_json(const json_t *v)
{
	int err = json_dumpf(v, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF;

	fflush(stdout);
	return err || ferror(stdout) ? 1 : 0;
}

static void save(const struct aod_config *cfg, json_t *report, bool text)
{
	const struct aod_health_config *h = &cfg->health;
	json_t *hist = json_object();
	size_t deleted = 0;
	int err = aod_history_save(h->history_dir, report, h->max_files, cfg->watcher.zstd_level, &deleted);

	hj_set(hist, "saved", json_boolean(!err));
	hj_set(hist, "dir", hj_str(h->history_dir));
	hj_set(hist, "deleted", json_integer((json_int_t)deleted));
	hj_set(hist, "error", err ? json_string(strerror(-err)) : NULL);
	if (err)
		fprintf(stderr, "aod health: cannot save the report in %s: %s\n", h->history_dir, strerror(-err));
	else if (text)
		printf("\nSaved as %s in %s%s\n", hj_gets(report, "id"), h->history_dir,
		       deleted ? " (older reports deleted by health.max_files)" : "");
	hj_set(report, "history", hist);
}

static unsigned part_of(const char *name)
{
	static const struct { const char *name; unsigned bit; } parts[] = {
		{ "run", AOD_HP_ALL }, { "units", AOD_HP_UNITS }, { "boot", AOD_HP_BOOT },
		{ "resources", AOD_HP_RESOURCES }, { "logs", AOD_HP_LOGS }, { "deps", AOD_HP_DEPS },
	};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (!strcmp(name, parts[i].name))
			return parts[i].bit;
	return 0;
}

static int cmd_report(const struct health_args *a, const struct aod_config *cfg, unsigned parts)
{
	struct aod_health_opts o = { .cfg = &cfg->health, .parts = parts, .score = parts == AOD_HP_ALL,
				     .processes = a->processes };
	struct aod_render r = renderer();
	json_t *report;
	int rc;

	if (a->since && aod_health_parse_since(a->since, aod_wall_ns() / 1000, &o.since_usec) < 0) {
		fprintf(stderr, "aod health: --since '%s': expected a time like 2025-12-01 10:00, @EPOCH, "
				"-2h, \"30m ago\", today or yesterday\n", a->since);
		return 2;
	}
	if (geteuid() != 0)
		fprintf(stderr, "aod health: not root: some cgroup, journal and process data may be missing\n");
	report = aod_health_report(&o);
	if (!report) {
		fprintf(stderr, "aod health: out of memory\n");
		return 1;
	}
	rc = aod_health_exit_status(report);
	if (!a->json)
		aod_health_render(&r, report);
	if (parts == AOD_HP_ALL && !a->no_save)
		save(cfg, report, !a->json);
	if (a->json && print_json(report))
		rc = 1;
	json_decref(report);
	return rc;
}

static int cmd_unit(const struct health_args *a, const struct aod_config *cfg)
{
	struct aod_render r = renderer();
	json_t *rep;
	int rc;

	if (a->npos != 2) {
		fprintf(stderr, "aod health unit: expected one unit name\n");
		return 2;
	}
	rep = aod_health_unit_report(&cfg->health, a->pos[1]);
	if (!rep)
		return 1;
	rc = hj_len(json_object_get(rep, "errors")) || hj_gets(rep, "skipped") ? 1 : 0;
	if (a->json)
		rc |= print_json(rep);
	else
		aod_health_render_unit(&r, rep);
	json_decref(rep);
	return rc;
}

static json_t *history_row(const char *dir, const struct aod_hist_entry *e, size_t index)
{
	json_t *o = json_object(), *rep = NULL;
	char when[40];

	aod_format_wall(e->mtime_ns, when, sizeof(when));
	aod_history_load(dir, e->id, &rep);
	hj_set(o, "index", json_integer((json_int_t)index));
	hj_set(o, "id", json_string(e->id));
	hj_set(o, "file", hj_str(e->file));
	hj_set(o, "size_bytes", hj_u64(e->size));
	hj_set(o, "modified", json_string(when));
	hj_set(o, "status", rep && hj_path(rep, "summary.status") ? json_incref(hj_path(rep, "summary.status")) :
								     json_string("unreadable"));
	hj_set(o, "failed", rep ? json_integer((json_int_t)hj_getn(hj_path(rep, "summary"), "failed", 0)) : NULL);
	json_decref(rep);
	return o;
}

static int cmd_history(const struct health_args *a, const struct aod_config *cfg)
{
	const char *dir = cfg->health.history_dir;
	struct aod_hist_entry *list;
	json_t *rows = json_array(), *row;
	size_t n, i;
	int err = aod_history_list(dir, &list, &n);

	if (err && err != -ENOENT) {
		fprintf(stderr, "aod health: cannot read %s: %s\n", dir, strerror(-err));
		return 1;
	}
	for (i = 0; i < n && (!a->limit || i < (size_t)a->limit); i++)
		hj_push(rows, history_row(dir, &list[i], i + 1));
	free(list);
	if (a->json) {
		err = print_json(rows);
		json_decref(rows);
		return err;
	}
	if (!hj_len(rows))
		fprintf(stderr, "aod health: no reports in %s\n", dir);
	else
		printf("%3s  %-22s  %10s  %-9s  %s\n", "#", "ID", "SIZE KiB", "STATUS", "FAILED");
	json_array_foreach(rows, i, row)
		printf("%3.0f  %-22s  %10.1f  %-9s  %.0f\n", hj_getn(row, "index", 0), hj_gets(row, "id"),
		       hj_getn(row, "size_bytes", 0) / 1024.0, hj_gets(row, "status"), hj_getn(row, "failed", 0));
	json_decref(rows);
	return 0;
}

static int load_arg(const char *dir, const char *arg, json_t **rep)
{
	char id[AOD_HEALTH_ID_LEN];
	int err = aod_history_resolve(dir, arg, id, sizeof(id));

	if (!err)
		err = aod_history_load(dir, id, rep);
	if (err)
		fprintf(stderr, "aod health: no readable report '%s' in %s: %s (see `aod health history`)\n", arg,
			dir, strerror(-err));
	return err;
}

static int cmd_show(const struct health_args *a, const struct aod_config *cfg)
{
	struct aod_render r = renderer();
	json_t *rep;
	int rc = 0;

	if (a->npos != 2) {
		fprintf(stderr, "aod health show: expected one report id\n");
		return 2;
	}
	if (load_arg(cfg->health.history_dir, a->pos[1], &rep))
		return 1;
	if (a->json)
		rc = print_json(rep);
	else
		aod_health_render(&r, rep);
	json_decref(rep);
	return rc;
}

static int cmd_diff(const struct health_args *a, const struct aod_config *cfg)
{
	struct aod_render r = renderer();
	const char *dir = cfg->health.history_dir;
	json_t *x = NULL, *y = NULL, *d;
	int rc = 1;

	if (a->npos != 3 && a->npos != 1) {
		fprintf(stderr, "aod health diff: expected two report ids (or none: the two newest)\n");
		return 2;
	}
	if (!load_arg(dir, a->npos == 3 ? a->pos[1] : "2", &x) && !load_arg(dir, a->npos == 3 ? a->pos[2] : "1", &y)) {
		d = aod_health_diff(x, y);
		rc = a->json ? print_json(d) : (aod_health_render_diff(&r, d), 0);
		json_decref(d);
	}
	json_decref(x);
	json_decref(y);
	return rc;
}

int aod_cmd_health(int argc, char **argv)
{
	struct aod_config *cfg;
	struct health_args a;
	const char *sub;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	sub = a.npos ? a.pos[0] : "run";
	if (!part_of(sub) && strcmp(sub, "unit") && strcmp(sub, "history") && strcmp(sub, "show") &&
	    strcmp(sub, "diff")) {
		fprintf(stderr, "aod health: unknown subcommand '%s'\n", sub);
		usage(stderr);
		return 2;
	}
	if (!part_of(sub) && a.processes) {
		fprintf(stderr, "aod health %s: --processes applies to a report (run or a part)\n", sub);
		return 2;
	}
	if (part_of(sub) && a.npos > 1) {
		fprintf(stderr, "aod health %s: unexpected argument '%s'\n", sub, a.pos[1]);
		return 2;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return 1;
	rc = load_config(&a, cfg);
	if (!rc) {
		if (part_of(sub))
			rc = cmd_report(&a, cfg, part_of(sub));
		else if (!strcmp(sub, "unit"))
			rc = cmd_unit(&a, cfg);
		else if (!strcmp(sub, "history"))
			rc = cmd_history(&a, cfg);
		else if (!strcmp(sub, "show"))
			rc = cmd_show(&a, cfg);
		else
			rc = cmd_diff(&a, cfg);
	}
	free(cfg);
	return rc;
}
