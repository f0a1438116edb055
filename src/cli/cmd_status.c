// SPDX-License-Identifier: MIT
/* aod status: ask the running agent, print probes and counters. */
#include <getopt.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/control.h"
#include "cli/commands.h"
#include "cli/socket_path.h"
#include "common/text.h"

/* Text for a person, on stdout, with control characters escaped: it quotes
 * names that others chose (paths, reasons, share names). */
#define out(...) aod_text_printf(stdout, __VA_ARGS__)

static void status_usage(FILE *out)
{
	fprintf(out, "usage: aod status [--socket PATH | --config FILE] [--json]\n\n"
		     "Ask the running agent over its control socket (root only) for each probe's\n"
		     "state (attached / waiting / failed / disabled, with the reason) and the event,\n"
		     "drop and anomaly counters. --json prints the raw reply.\n");
}

static json_int_t num(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

static void print_probes(json_t *probes)
{
	size_t i;
	json_t *p;

	out("%-7s %-9s %-7s %10s %10s %8s %8s %8s %8s %9s %6s %6s  %s\n", "probe", "state",
	       "mode", "ops", "events", "rb_drops", "inflight", "expired", "unmatch", "recursion",
	       "stuck", "late", "reason");
	json_array_foreach(probes, i, p) {
		json_t *c = json_object_get(p, "counters");

		out("%-7s %-9s %-7s %10lld %10lld %8lld %8lld %8lld %8lld %9lld %6lld %6lld  %s\n",
		       str(p, "name"), str(p, "state"), str(p, "mode"), num(c, "ops"),
		       num(c, "events"), num(c, "ringbuf_drops"), num(c, "inflight_full"),
		       num(c, "inflight_expired"), num(c, "unmatched"), num(c, "recursion_misses"),
		       num(c, "stuck_reported"), num(c, "late_matched"), str(p, "reason"));
		if (num(c, "expired_forgotten"))
			out("        %lld expired ops forgotten before they completed (never measured)\n",
			       num(c, "expired_forgotten"));
	}
}

/* One line of TCP aggregates when the TCP probe is loaded (docs/tcp.md). */
static void print_tcp(json_t *tcp)
{
	json_t *c = json_object_get(tcp, "counters");

	if (!json_is_true(json_object_get(tcp, "loaded")))
		return;
	out("tcp: connects %lld (failed %lld), accepts %lld, retransmits %lld, resets sent %lld / "
	    "received %lld, window clamps %lld; %lld listeners, listen overflows %lld\n",
	    num(c, "connects"), num(c, "connect_failures"), num(c, "accepts"), num(c, "retransmits"),
	    num(c, "resets_sent"), num(c, "resets_received"), num(c, "window_clamps"),
	    num(tcp, "listeners_total"), num(tcp, "listen_overflows"));
}

static void print_status(json_t *root)
{
	json_t *cfg = json_object_get(root, "config"), *d = json_object_get(root, "dispatcher");
	json_t *det = json_object_get(root, "detector"), *a = json_object_get(root, "anomalies");
	json_t *col = json_object_get(root, "collector"), *http = json_object_get(root, "http");
	json_t *st = json_object_get(root, "store"), *up = json_object_get(root, "upload");

	out("aod %s, pid %lld, up %.0f s; probes attached in %.1f ms\n", str(root, "version"),
	       num(root, "pid"), json_real_value(json_object_get(root, "uptime_s")),
	       json_real_value(json_object_get(root, "probes_attach_ms")));
	out("config %s (hash %s), output %s\n", str(cfg, "path"), str(cfg, "hash"),
	    str(cfg, "output_dir"));
	if (str(cfg, "restart_needed")[0])
		out("restart needed: %s (a reload changed them; the running values are in force)\n",
		    str(cfg, "restart_needed"));
	if (json_is_true(json_object_get(http, "listening")))
		out("http: listening on %s%s%s, %lld requests\n\n", str(http, "listen"),
		    json_is_true(json_object_get(http, "tls")) ? ", TLS" : "",
		    json_is_true(json_object_get(http, "auth")) ? ", basic auth" : "",
		    num(http, "requests"));
	else
		out("http: not listening%s%s%s%s\n\n", str(http, "listen")[0] ? " on " : "",
		    str(http, "listen"), str(http, "error")[0] ? ": " : "", str(http, "error"));
	print_probes(json_object_get(root, "probes"));
	print_tcp(json_object_get(root, "tcp"));
	out("\nevents: decoded %lld, bad %lld, queue overflows %lld, flight recorder "
	       "overwritten %lld\n",
	       num(d, "events_decoded"), num(d, "events_bad"), num(d, "event_queue_overflows"),
	       num(d, "flight_recorder_overwritten"));
	out("detector: in %lld, counted %lld, window drops %lld, late %lld, stuck ops %lld\n",
	       num(det, "events_in"), num(det, "events_counted"), num(det, "window_dropped"),
	       num(det, "late_dropped"), num(det, "stuck_ops"));
	out("anomalies: %lld, queue overflows %lld, log errors %lld\n", num(a, "total"),
	       num(a, "queue_overflows"), num(a, "log_errors"));
	if (col)
		out("bundles: written %lld, failed %lld, coalesced %lld, suppressed %lld, "
		       "actions timed out %lld\n",
		       num(col, "bundles_written"), num(col, "bundles_failed"),
		       num(col, "coalesced"), num(col, "suppressed"), num(col, "actions_timed_out"));
	if (st)
		out("store: %s %s, written %lld (%lld events), lost %lld (queue %lld, writes %lld), "
		    "%lld bytes%s%s\n", str(st, "state"), str(st, "path"), num(st, "written"),
		    num(st, "events_written"), num(st, "lost"), num(st, "queue_overflows"),
		    num(st, "write_lost"), num(st, "bytes"), str(st, "last_error")[0] ? "; last error: " : "",
		    str(st, "last_error"));
	if (up)
		out("upload: %s, %s: queued %lld, pending %lld, uploaded %lld (already there "
		    "%lld), failed %lld, retries %lld, dropped %lld, %lld bytes%s%s\n",
		    str(up, "state"), str(up, "to"), num(up, "queued"),
		    num(up, "pending"), num(up, "uploaded"), num(up, "already_there"),
		    num(up, "failed"), num(up, "retries"), num(up, "dropped"), num(up, "bytes"),
		    str(up, "last_error")[0] ? "; last error: " : "", str(up, "last_error"));
}

int aod_cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' }, { "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },          { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_opt = NULL, *config_opt = NULL;
	char path[4096], errbuf[512];
	bool as_json = false;
	char *reply = NULL;
	json_error_t jerr;
	json_t *root;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:c:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': socket_opt = optarg; break;
		case 'c': config_opt = optarg; break;
		case 'j': as_json = true; break;
		case 'h': status_usage(stdout); return 0;
		default: status_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		status_usage(stderr);
		return 2;
	}
	rc = aod_cli_socket_path(socket_opt, config_opt, path, sizeof(path));
	if (rc)
		return rc;
	if (aod_control_request(path, "status", &reply, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "aod status: %s\n", errbuf);
		return 1;
	}
	root = json_loads(reply, 0, &jerr);
	if (!root) {
		fprintf(stderr, "aod status: agent replied: %s", reply);
		free(reply);
		return 1;
	}
	if (as_json)
		printf("%s\n", reply);
	else
		print_status(root);
	json_decref(root);
	free(reply);
	return 0;
}
