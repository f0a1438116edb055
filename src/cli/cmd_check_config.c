// SPDX-License-Identifier: MIT
/* aod check-config FILE: validate a config, print it with defaults filled. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "config/config.h"

static void check_config_usage(FILE *out)
{
	fprintf(out, "usage: aod check-config FILE\n\n"
		     "Load and validate FILE as the agent would, then print the effective\n"
		     "configuration as YAML: every default filled in, relative paths made\n"
		     "absolute, track/exclude lists as the rule's mode leaves them. The output\n"
		     "is itself a valid config. Warnings go to stderr.\n\n"
		     "Exit status: 0 valid, 1 the file cannot be read, 2 invalid (one line on\n"
		     "stderr: FILE:LINE:COL: key.path: what was expected).\n");
}

int aod_cmd_check_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct aod_config_error err;
	struct aod_config *cfg;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h') {
			check_config_usage(stdout);
			return 0;
		}
		check_config_usage(stderr);
		return 2;
	}
	if (argc - optind != 1) {
		check_config_usage(stderr);
		return 2;
	}
	cfg = malloc(sizeof(*cfg)); /* a few hundred KiB: not for the stack */
	if (!cfg) {
		fprintf(stderr, "aod: out of memory\n");
		return 1;
	}
	ret = aod_config_load_file(cfg, argv[optind], &err);
	if (ret) {
		fprintf(stderr, "aod: %s\n", err.msg);
		free(cfg);
		return ret == -EINVAL ? 2 : 1;
	}
	ret = aod_config_print(cfg, stdout) ? 1 : 0;
	free(cfg);
	return ret;
}
