// SPDX-License-Identifier: MIT
/*
 * aod replay: run a recording (aod record) through the detector on its own
 * timeline and print the anomalies a config would have raised.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/evjson.h"
#include "agent/replay.h"
#include "cli/commands.h"
#include "config/config.h"

#define LINE_MAX_LEN 4096

struct replay_out {
	bool json;
	bool write_failed;
};

static void replay_usage(FILE *out)
{
	fprintf(out,
		"usage: aod replay FILE [--config FILE] [--json] [--skip-bad]\n\n"
		"Run the events of a recording (`aod record`, JSON lines) through the detector at\n"
		"their own times (the agent's code: a rule fires at the event that fills its\n"
		"window, not on a tick, so a replay gives exactly what the agent gave) and print\n"
		"the anomalies that would have fired, one line each, then `replayed N events, M\n"
		"anomalies`. FILE '-' reads stdin.\n\n"
		"  --config FILE  rules to try (default: the built-in default config)\n"
		"  --json         print anomalies as JSON lines (the summary goes to stderr)\n"
		"  --skip-bad     skip malformed lines (reported on stderr and counted) instead\n"
		"                 of stopping at the first one\n\n"
		"Exit status: 0 done, 1 the file could not be read or has a bad line, 2 bad usage\n"
		"or an invalid config.\n");
}

static void print_anomaly(const struct aod_anomaly *a, void *ctx)
{
	struct replay_out *o = ctx;
	char line[LINE_MAX_LEN];
	json_t *obj;

	if (!o->json) {
		aod_anomaly_format_line(a, line, sizeof(line));
		if (printf("%s\n", line) < 0)
			o->write_failed = true;
		return;
	}
	obj = aod_anomaly_to_json(a);
	if (!obj || json_dumpf(obj, stdout, JSON_COMPACT) || putchar('\n') == EOF)
		o->write_failed = true;
	json_decref(obj);
}

static void print_bad_line(const char *msg, void *ctx)
{
	fprintf(stderr, "aod replay: %s (skipped)\n", msg);
}

static int load_config(struct aod_config *cfg, const char *path)
{
	struct aod_config_error err;
	int rc;

	rc = aod_config_load(cfg, path, &err);
	if (rc)
		fprintf(stderr, "aod replay: %s\n", err.msg);
	return rc;
}

static int run_replay(const char *file, const char *config_path, bool json, bool skip_bad)
{
	struct replay_out out = { .json = json };
	struct aod_replay_opts opts = {
		.skip_bad = skip_bad,
		.on_anomaly = print_anomaly,
		.ctx = &out,
		.on_bad_line = print_bad_line,
	};
	struct aod_replay_stats st;
	struct aod_config *cfg = malloc(sizeof(*cfg));
	char err[1024];
	int rc;

	if (!cfg) {
		fprintf(stderr, "aod replay: out of memory\n");
		return 1;
	}
	if (load_config(cfg, config_path)) {
		free(cfg);
		return 2;
	}
	rc = aod_replay_file(file, cfg, &opts, &st, err, sizeof(err));
	free(cfg);
	if (fflush(stdout) || out.write_failed) {
		fprintf(stderr, "aod replay: writing the output failed: %s\n", strerror(errno));
		return 1;
	}
	if (rc) {
		fprintf(stderr, "aod replay: %s\n", err);
		return 1;
	}
	fprintf(json ? stderr : stdout, "replayed %" PRIu64 " events, %" PRIu64 " anomalies", st.events,
		st.anomalies);
	if (skip_bad)
		fprintf(json ? stderr : stdout, ", %" PRIu64 " bad lines skipped", st.skipped);
	fprintf(json ? stderr : stdout, "\n");
	return 0;
}

int aod_cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "skip-bad", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config_path = NULL;
	bool json = false, skip_bad = false;
	int c;

	optind = 0; /* full getopt reset: argv[0] is the subcommand */
	while ((c = getopt_long(argc, argv, "c:jsh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'j': json = true; break;
		case 's': skip_bad = true; break;
		case 'h': replay_usage(stdout); return 0;
		default: replay_usage(stderr); return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "aod replay: %s\n",
			argc - optind ? "expected exactly one FILE" : "missing FILE");
		replay_usage(stderr);
		return 2;
	}
	return run_replay(argv[optind], config_path, json, skip_bad);
}
