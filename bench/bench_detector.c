// SPDX-License-Identifier: MIT
/*
 * Detector throughput: events per second of one thread's CPU time through
 * the rules of the embedded default config (SMB latency and errors, block
 * latency and errors), in a storm where every op counts and the rules fire
 * once per window, and in a steady mix where few do. Prints figures only.
 *
 *   bench_detector [EVENTS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "detect/detector.h"

#define NSEC 1000000000ULL

static uint64_t anomalies;

static void count(const struct aod_anomaly *a, void *ctx)
{
	(void)a;
	(void)ctx;
	anomalies++;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

/* One synthetic op: SMB or block, slow or error, latency from lat_ns. */
static void make_event(struct aod_event *ev, uint64_t i, uint64_t mono, uint64_t lat_ns)
{
	memset(ev, 0, sizeof(*ev));
	ev->mono_ns = mono;
	ev->wall_ns = mono + 1795459679 * NSEC;
	ev->pid = ev->tgid = 1000 + (uint32_t)(i % 7);
	memcpy(ev->comm, "bench", 6);
	switch (i % 8) {
	case 7:
		ev->kind = AOD_EVENT_SMB_ERR;
		ev->smb.cmd = 5;
		ev->smb.status = 0xC0000022;
		ev->smb.rc = -13;
		break;
	case 6:
		ev->kind = AOD_EVENT_BLK_SLOW;
		ev->blk.dev = 253 << 20;
		memcpy(ev->blk.disk, "vda", 4);
		ev->blk.latency_ns = lat_ns * 20;
		break;
	default:
		ev->kind = AOD_EVENT_SMB_SLOW;
		ev->smb.cmd = (uint16_t)(i % 20);
		ev->smb.mid = i;
		ev->smb.latency_ns = lat_ns;
		break;
	}
}

/* Feed n events, rate per second of event time; returns events/s of CPU. */
static double run(const struct aod_config *cfg, uint64_t n, uint64_t rate, uint64_t lat_ns,
		  uint64_t *fired)
{
	struct aod_detector *d = aod_detector_new(cfg, count, NULL);
	struct aod_event ev;
	uint64_t t0, spent, step = NSEC / rate;

	if (!d) {
		fprintf(stderr, "bench_detector: out of memory\n");
		exit(1);
	}
	anomalies = 0;
	t0 = cpu_ns();
	for (uint64_t i = 0; i < n; i++) {
		make_event(&ev, i, 1000 * NSEC + i * step, lat_ns);
		aod_detector_add(d, &ev);
		if ((i & 1023) == 0)
			aod_detector_advance(d, ev.mono_ns);
	}
	aod_detector_advance(d, UINT64_MAX);
	spent = cpu_ns() - t0;
	aod_detector_free(d);
	*fired = anomalies;
	return (double)n * NSEC / (double)(spent ? spent : 1);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000;
	struct aod_config *cfg = calloc(1, sizeof(*cfg));
	struct aod_config_error err;
	uint64_t fired;
	double eps;

	if (!cfg || aod_config_load(cfg, NULL, &err)) {
		fprintf(stderr, "bench_detector: default config: %s\n", cfg ? err.msg : "no memory");
		return 1;
	}
	/* storm: 1 M ops/s of event time, every op over every threshold */
	eps = run(cfg, n, 1000000, 300 * 1000000ULL, &fired);
	printf("detector throughput, storm (every op counts, %u rules): %.2f M events/s on one core "
	       "(target >= 1 M events/s); %llu events, %llu anomalies\n",
	       cfg->nrules, eps / 1e6, (unsigned long long)n, (unsigned long long)fired);
	/* steady: 100 k ops/s, under every latency threshold (errors still count) */
	eps = run(cfg, n, 100000, 1000, &fired);
	printf("detector throughput, steady (ops under threshold): %.2f M events/s on one core; "
	       "%llu anomalies\n", eps / 1e6, (unsigned long long)fired);
	free(cfg);
	return 0;
}
