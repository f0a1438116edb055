// SPDX-License-Identifier: MIT
/* aod: one binary, one subcommand per job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "common/log.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "agent", aod_cmd_agent, "run the agent in the foreground (probes, detection, bundles)" },
	{ "check-config", aod_cmd_check_config, "validate a config file and print it with defaults filled" },
	{ "status", aod_cmd_status, "ask the running agent for probe states and counters" },
	{ "record", aod_cmd_record, "record decoded kernel events to a JSONL file" },
	{ "replay", aod_cmd_replay, "run recorded events through the detector" },
	{ "snapshot", aod_cmd_snapshot, "ask the running agent for a manual bundle now" },
	{ "hist", aod_cmd_hist, "the running agent's latency histograms, biolatency style" },
	{ "bundles", aod_cmd_bundles, "list bundles, or show one's summary" },
	{ "query", aod_cmd_query, "run read-only SQL or a named query on the event store" },
	{ "trace", aod_cmd_trace, "run a command and report its whole process tree (exec, exit, CPU, memory)" },
	{ "health", aod_cmd_health, "system health report: units, boot, resources, logs, dependencies" },
	{ "impact", aod_cmd_impact, "measure what the agent costs a workload (runs without and with)" },
};

#define NSUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: aod COMMAND [ARGS]\n"
		     "       aod help COMMAND | aod COMMAND --help\n"
		     "       aod --version\n\ncommands:\n");
	for (size_t i = 0; i < NSUBCOMMANDS; i++)
		fprintf(out, "  %-13s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\nEnvironment: AOD_LOG_LEVEL=error|warning|notice|info|debug (default info).\n");
}

static const struct subcommand *find_subcommand(const char *name)
{
	for (size_t i = 0; i < NSUBCOMMANDS; i++)
		if (!strcmp(subcommands[i].name, name))
			return &subcommands[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	fprintf(stderr, "aod: unknown command '%s'\n", name);
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *level_env = getenv("AOD_LOG_LEVEL");
	const struct subcommand *cmd;
	int level = AOD_LOG_INFO;

	if (level_env && (level = aod_log_level_from_name(level_env)) < 0) {
		fprintf(stderr, "aod: AOD_LOG_LEVEL='%s': expected error, warning, notice, info or debug\n",
			level_env);
		return 2;
	}
	aod_log_init(level);

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("aod %s\n", AOD_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "help")) {
		char help_flag[] = "--help";
		char *help_argv[3];

		if (argc < 3) {
			usage(stdout);
			return 0;
		}
		cmd = find_subcommand(argv[2]);
		if (!cmd)
			return unknown_command(argv[2]);
		help_argv[0] = argv[2];
		help_argv[1] = help_flag;
		help_argv[2] = NULL;
		return cmd->run(2, help_argv);
	}
	cmd = find_subcommand(argv[1]);
	if (!cmd)
		return unknown_command(argv[1]);
	return cmd->run(argc - 1, argv + 1);
}
