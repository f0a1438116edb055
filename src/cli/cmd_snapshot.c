// SPDX-License-Identifier: MIT
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/control.h"
#include "cli/commands.h"
#include "cli/socket_path.h"

static void snapshot_usage(FILE *out)
{
	fprintf(out, "usage: aod snapshot [--socket PATH | --config FILE]\n\n"
		     "Ask the running agent to write a manual bundle now, with every built-in action\n"
		     "and every custom action (the same as sending it SIGUSR1). `aod bundles` lists it.\n");
}

int aod_cmd_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_opt = NULL, *config_opt = NULL;
	char path[4096], errbuf[512], *reply = NULL;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': socket_opt = optarg; break;
		case 'c': config_opt = optarg; break;
		case 'h': snapshot_usage(stdout); return 0;
		default: snapshot_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		snapshot_usage(stderr);
		return 2;
	}
	rc = aod_cli_socket_path(socket_opt, config_opt, path, sizeof(path));
	if (rc)
		return rc;
	if (aod_control_request(path, "snapshot", &reply, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "aod snapshot: %s\n", errbuf);
		return 1;
	}
	fputs(reply, stdout);
	rc = strncmp(reply, "ok", 2) ? 1 : 0;
	free(reply);
	return rc;
}
