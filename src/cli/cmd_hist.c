// SPDX-License-Identifier: MIT
/*
 * aod hist: the running agent's in-kernel log2 latency histograms, printed
 * the way libbpf-tools biolatency prints them; with --interval, what each
 * interval added (deltas of the cumulative kernel counts).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/control.h"
#include "cli/commands.h"
#include "cli/socket_path.h"
#include "common/text.h"
#include "probe/hist.h"

/* Text for a person, on stdout, with control characters escaped: it quotes
 * names that others chose (paths, reasons, share names). */
#define out(...) aod_text_printf(stdout, __VA_ARGS__)

#define MAX_INTERVAL_S 86400

static void hist_usage(FILE *out)
{
	fprintf(out,
		"usage: aod hist [smb|block|tcp] [--interval S [--count N]] [--share X]\n"
		"                [--command X] [--device X] [--socket PATH | --config FILE]\n\n"
		"Print the running agent's in-kernel log2 latency histograms (control socket,\n"
		"root only) the way biolatency does: one per SMB (share, command), block\n"
		"(device, operation) and TCP (histogram, port). Without --interval: everything\n"
		"since each probe attached, once. With --interval S: every S seconds, what the\n"
		"interval added (N times, default until interrupted); empty ones are left out.\n"
		"--share and --command select SMB histograms, --device block ones (exact names,\n"
		"as /metrics labels them: \\\\server\\share, SMB2_READ, loop0).\n");
}

struct hist_filter {
	bool want[3]; /* smb, block, tcp */
	const char *share, *command, *device;
};

static const char *const kinds[3] = { "smb", "block", "tcp" };
static const char *const keys[3][2] = {
	{ "share", "command" }, { "device", "operation" }, { "histogram", "port" },
};

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static bool selected(const struct hist_filter *f, int kind, json_t *h)
{
	if (kind == 0)
		return (!f->share || !strcmp(f->share, str(h, "share"))) &&
		       (!f->command || !strcmp(f->command, str(h, "command")));
	if (kind == 1)
		return !f->device || !strcmp(f->device, str(h, "device"));
	return true;
}

static void to_hist(json_t *h, struct aod_hist *out_h)
{
	json_t *slots = json_object_get(h, "slots"), *v;
	size_t i;

	memset(out_h, 0, sizeof(*out_h));
	json_array_foreach(slots, i, v) {
		if (i < AOD_HIST_SLOTS)
			out_h->slots[i] = (uint64_t)json_integer_value(v);
	}
	out_h->sum_ns = (uint64_t)json_integer_value(json_object_get(h, "sum_ns"));
}

/* The same histogram in an earlier reply, or NULL. */
static json_t *find_prev(json_t *prev, int kind, json_t *h)
{
	json_t *arr = prev ? json_object_get(prev, kinds[kind]) : NULL, *p;
	size_t i;

	json_array_foreach(arr, i, p) {
		if (!strcmp(str(p, keys[kind][0]), str(h, keys[kind][0])) &&
		    !strcmp(str(p, keys[kind][1]), str(h, keys[kind][1])))
			return p;
	}
	return NULL;
}

/* Prints cur (minus prev when given); returns how many histograms were printed. */
static int print_all(const struct hist_filter *f, json_t *cur, json_t *prev)
{
	json_t *loaded = json_object_get(cur, "loaded");
	int printed = 0;

	for (int k = 0; k < 3; k++) {
		json_t *arr = json_object_get(cur, kinds[k]), *h;
		size_t i;

		if (!f->want[k])
			continue;
		if (!json_is_true(json_object_get(loaded, kinds[k]))) {
			if (!prev)
				out("%s: probe not loaded (aod status says why)\n", kinds[k]);
			continue;
		}
		json_array_foreach(arr, i, h) {
			struct aod_hist a, b;
			json_t *p;

			if (!selected(f, k, h))
				continue;
			to_hist(h, &a);
			if ((p = find_prev(prev, k, h))) {
				to_hist(p, &b);
				for (unsigned s = 0; s < AOD_HIST_SLOTS; s++)
					a.slots[s] -= a.slots[s] >= b.slots[s] ? b.slots[s] : a.slots[s];
				a.sum_ns -= a.sum_ns >= b.sum_ns ? b.sum_ns : a.sum_ns;
			}
			if (!aod_hist_total(&a))
				continue;
			out("\n%s = %s, %s = %s (count %llu, mean %.1f us)\n", keys[k][0],
			    str(h, keys[k][0]), keys[k][1], str(h, keys[k][1]),
			    (unsigned long long)aod_hist_total(&a),
			    (double)a.sum_ns / 1e3 / (double)aod_hist_total(&a));
			fflush(stdout);
			aod_hist_print(&a, "usecs", stdout);
			printed++;
		}
	}
	return printed;
}

static json_t *fetch(const char *path)
{
	char errbuf[512], *reply = NULL;
	json_error_t jerr;
	json_t *root;

	if (aod_control_request(path, "hist", &reply, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "aod hist: %s\n", errbuf);
		return NULL;
	}
	root = json_loads(reply, 0, &jerr);
	if (!root || !json_is_object(json_object_get(root, "loaded")))
		fprintf(stderr, "aod hist: the agent replied: %.200s%s", reply,
			strchr(reply, '\n') ? "" : "\n");
	if (root && !json_is_object(json_object_get(root, "loaded"))) {
		json_decref(root);
		root = NULL;
	}
	free(reply);
	return root;
}

static int parse_uint(const char *what, const char *v, unsigned long min, unsigned long max,
		      unsigned long *out_v)
{
	char *end;

	errno = 0;
	*out_v = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || *out_v < min || *out_v > max) {
		fprintf(stderr, "aod hist: %s: expected an integer from %lu to %lu, got '%s'\n",
			what, min, max, v);
		return -EINVAL;
	}
	return 0;
}

int aod_cmd_hist(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' }, { "count", required_argument, NULL, 'n' },
		{ "share", required_argument, NULL, 'S' },    { "command", required_argument, NULL, 'C' },
		{ "device", required_argument, NULL, 'D' },   { "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },   { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_opt = NULL, *config_opt = NULL;
	struct hist_filter f = { .want = { true, true, true } };
	unsigned long interval = 0, count = 0;
	char path[4096];
	json_t *prev, *cur;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:n:s:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_uint("--interval", optarg, 1, MAX_INTERVAL_S, &interval))
				return 2;
			break;
		case 'n':
			if (parse_uint("--count", optarg, 1, 1000000, &count))
				return 2;
			break;
		case 'S': f.share = optarg; break;
		case 'C': f.command = optarg; break;
		case 'D': f.device = optarg; break;
		case 's': socket_opt = optarg; break;
		case 'c': config_opt = optarg; break;
		case 'h': hist_usage(stdout); return 0;
		default: hist_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		int k;

		for (k = 0; k < 3 && strcmp(argv[optind], kinds[k]); k++)
			;
		if (k == 3 || optind + 1 < argc) {
			fprintf(stderr, "aod hist: expected smb, block or tcp, got '%s'\n",
				argv[k == 3 ? optind : optind + 1]);
			return 2;
		}
		for (int j = 0; j < 3; j++)
			f.want[j] = j == k;
	}
	if ((f.share || f.command) && !f.want[0]) {
		fprintf(stderr, "aod hist: --share and --command select SMB histograms\n");
		return 2;
	}
	if (f.device && !f.want[1]) {
		fprintf(stderr, "aod hist: --device selects block histograms\n");
		return 2;
	}
	if (count && !interval) {
		fprintf(stderr, "aod hist: --count needs --interval\n");
		return 2;
	}
	if (f.want[0] + f.want[1] + f.want[2] == 3 && (f.share || f.command))
		f.want[1] = f.want[2] = false; /* an SMB filter: only SMB */
	if (f.want[0] + f.want[1] + f.want[2] == 3 && f.device)
		f.want[0] = f.want[2] = false;
	rc = aod_cli_socket_path(socket_opt, config_opt, path, sizeof(path));
	if (rc)
		return rc;
	prev = fetch(path);
	if (!prev)
		return 1;
	if (!interval) {
		if (!print_all(&f, prev, NULL))
			out("(no samples)\n");
		json_decref(prev);
		return 0;
	}
	for (unsigned long n = 0; !count || n < count; n++) {
		struct timespec ts = { .tv_sec = (time_t)interval };
		char when[16];
		time_t now;

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		cur = fetch(path);
		if (!cur) {
			json_decref(prev);
			return 1;
		}
		now = time(NULL);
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
		out("%s%s\n", n ? "\n" : "", when);
		if (!print_all(&f, cur, prev))
			out("(no samples in this interval)\n");
		fflush(stdout);
		json_decref(prev);
		prev = cur;
	}
	json_decref(prev);
	return 0;
}
