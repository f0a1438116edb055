// SPDX-License-Identifier: MIT
/*
 * aod record: load the probes with every threshold at 0 and every error
 * tracked, and write each decoded event as one JSON line, so that a later
 * `aod replay --config` can try any thresholds against real traffic.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/decode.h"
#include "agent/evjson.h"
#include "cli/commands.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "probe/probes.h"

#define RECORD_RINGBUF_MB 16

struct recorder {
	FILE *out;
	struct aod_decoder decoder;
	uint64_t written, bad, write_errors;
};

static void record_usage(FILE *out)
{
	fprintf(out,
		"usage: aod record --duration SECONDS [--config FILE] FILE\n\n"
		"Record decoded kernel events (SMB and block I/O: every completed op and every\n"
		"error, thresholds ignored) to FILE as JSON lines for SECONDS (1..86400), or\n"
		"until SIGINT/SIGTERM. The first line is a header {\"aod_record\":1,...}.\n"
		"Replay with `aod replay FILE --config FILE` to see which anomalies a config\n"
		"would have raised. FILE '-' writes to stdout.\n");
}

static void on_raw(void *ctx, const struct aod_raw_event *raw)
{
	struct recorder *r = ctx;
	struct aod_event ev;
	json_t *obj;

	if (aod_decode_event(&r->decoder, raw, &ev)) {
		r->bad++;
		return;
	}
	obj = aod_event_to_json(&ev);
	if (!obj || json_dumpf(obj, r->out, JSON_COMPACT) || fputc('\n', r->out) == EOF)
		r->write_errors++;
	else
		r->written++;
	json_decref(obj);
}

static int write_header(FILE *out, unsigned duration)
{
	json_t *h = aod_record_header_to_json(aod_wall_ns(), aod_mono_ns());
	struct utsname u;
	int err;

	/* Informational fields: replay accepts and ignores them. */
	if (h && !uname(&u)) {
		json_object_set_new(h, "host", json_string(u.nodename));
		json_object_set_new(h, "kernel", json_string(u.release));
		json_object_set_new(h, "duration_s", json_integer(duration));
	}
	err = !h || json_dumpf(h, out, JSON_COMPACT) || fputc('\n', out) == EOF;
	json_decref(h);
	return err ? -EIO : 0;
}

static int load_cfg(struct aod_config *cfg, const char *path)
{
	struct aod_config_error err;
	int rc = aod_config_load(cfg, path, &err);
	if (rc)
		fprintf(stderr, "aod record: %s\n", err.msg);
	return rc;
}

static int record_loop(struct aod_probes *probes, unsigned duration, int sfd)
{
	uint64_t end = aod_mono_ns() + (uint64_t)duration * AOD_NSEC_PER_SEC;
	struct signalfd_siginfo si;
	uint64_t last_tick = 0;

	while (aod_mono_ns() < end) {
		int n = aod_probes_poll(probes, 100);

		if (n < 0 && n != -EINTR)
			return n;
		if (read(sfd, &si, sizeof(si)) == sizeof(si))
			break;
		if (aod_mono_ns() - last_tick >= AOD_NSEC_PER_SEC) {
			last_tick = aod_mono_ns();
			aod_probes_tick(probes, last_tick);
		}
	}
	return 0;
}

static int parse_duration(const char *s, unsigned *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 86400)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int run_record(const char *file, const char *config_path, unsigned duration)
{
	struct aod_probes_opts popts = { .record_all = true };
	struct aod_config *cfg = aod_config_new_shared();
	struct recorder r = { 0 };
	struct aod_probes *probes = NULL;
	sigset_t set;
	int sfd = -1, rc = 1;

	if (!cfg || load_cfg(cfg, config_path)) {
		aod_config_unref(cfg);
		return cfg ? 2 : 1;
	}
	r.out = strcmp(file, "-") ? fopen(file, "we") : stdout;
	if (!r.out) {
		fprintf(stderr, "aod record: cannot write %s: %s\n", file, strerror(errno));
		goto out;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	aod_decoder_init(&r.decoder);
	/* Every op goes through the ring while recording: give it room. */
	popts.ringbuf_mb = cfg->agent.ringbuf_mb > RECORD_RINGBUF_MB ? cfg->agent.ringbuf_mb
								      : RECORD_RINGBUF_MB;
	popts.inflight_timeout_ns = (uint64_t)cfg->agent.smb_inflight_timeout_sec * AOD_NSEC_PER_SEC;
	probes = aod_probes_new(cfg, &popts, on_raw, &r);
	if (!probes || aod_probes_start(probes) || write_header(r.out, duration))
		goto out;
	for (int id = 0; id < AOD_PROBE_COUNT; id++) {
		struct aod_probe_status st;

		aod_probes_status(probes, (enum aod_probe_id)id, &st);
		fprintf(stderr, "aod record: probe %s %s%s%s\n", aod_probe_name((enum aod_probe_id)id),
			aod_probe_state_name(st.state), st.reason[0] ? ": " : "", st.reason);
	}
	rc = record_loop(probes, duration, sfd) ? 1 : 0;
	fprintf(stderr, "aod record: %llu events written to %s, %llu undecodable, %llu write errors\n",
		(unsigned long long)r.written, file, (unsigned long long)r.bad,
		(unsigned long long)r.write_errors);
	if (r.write_errors)
		rc = 1;
out:
	aod_probes_free(probes);
	if (r.out && r.out != stdout && fclose(r.out)) {
		fprintf(stderr, "aod record: %s: %s\n", file, strerror(errno));
		rc = 1;
	}
	if (sfd >= 0)
		close(sfd);
	aod_config_unref(cfg);
	return rc;
}

int aod_cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config_path = NULL;
	unsigned duration = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_duration(optarg, &duration)) {
				fprintf(stderr, "aod record: --duration '%s': expected whole seconds "
						"1..86400\n", optarg);
				return 2;
			}
			break;
		case 'c': config_path = optarg; break;
		case 'h': record_usage(stdout); return 0;
		default: record_usage(stderr); return 2;
		}
	}
	if (!duration || optind != argc - 1) {
		fprintf(stderr, "aod record: %s\n", !duration ? "--duration is required"
							      : "expected exactly one FILE");
		record_usage(stderr);
		return 2;
	}
	return run_record(argv[optind], config_path, duration);
}
