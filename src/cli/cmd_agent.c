// SPDX-License-Identifier: MIT
/* aod agent: options, then the agent in the foreground. */
#include <getopt.h>
#include <stdio.h>

#include "agent/agent.h"
#include "cli/commands.h"

static void agent_usage(FILE *out)
{
	fprintf(out,
		"usage: aod agent [--config FILE] [--http-listen ADDR]\n\n"
		"Run the agent in the foreground: load the BPF probes, detect anomalies with the\n"
		"rules of the config, log each one as a line on stderr and to syslog, append it to\n"
		"<aod_output_dir>/anomalies.jsonl and write a diagnostics bundle to\n"
		"<aod_output_dir>/batches/. Without --config the embedded default config is used\n"
		"(the repo's config/aod.yaml: state under ./var/).\n\n"
		"HTTP: /metrics (Prometheus), /api/v1/status (JSON) and / on http.listen\n"
		"(default 127.0.0.1:9435). --http-listen ADDR overrides it for this run, also\n"
		"across reloads: HOST:PORT, [IPv6]:PORT, :PORT for every address, \"\" for no\n"
		"server. A non-loopback address needs http.tls_cert_file/tls_key_file and\n"
		"http.basic_auth_users in the config, or http.insecure_remote: true.\n\n"
		"Signals: TERM/INT stop, HUP reloads the config (a bad one is rejected and the\n"
		"running one kept), USR1 writes a snapshot bundle.\n"
		"Environment: AOD_LOG_LEVEL=error|warning|notice|info|debug;\n"
		"AOD_SMB_ATTACH=raw_tp|tp_btf|fentry|kprobe and AOD_BLK_ATTACH=tp_btf|raw_tp force\n"
		"an attach mode instead of the automatic fallback order.\n"
		"Exit status: 0 stopped cleanly, 1 failed to start or a fatal worker error,\n"
		"2 invalid config or usage.\n");
}

int aod_cmd_agent(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "http-listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct aod_agent_opts opts = { 0 };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 'l':
			opts.http_listen = optarg;
			break;
		case 'h':
			agent_usage(stdout);
			return 0;
		default:
			agent_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "aod agent: unexpected argument '%s'\n", argv[optind]);
		agent_usage(stderr);
		return 2;
	}
	return aod_agent_run(&opts);
}
