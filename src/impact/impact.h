/* SPDX-License-Identifier: MIT */
/*
 * aod impact: what one measurement holds. A run is the workload executed
 * (one or more iterations) with or without the agent beside it; with the
 * agent, the agent's CPU and RSS are sampled over the run, its output
 * directory is measured before and after, and its loss counters are read
 * from its status just before it is stopped.
 */
#ifndef AOD_IMPACT_IMPACT_H
#define AOD_IMPACT_IMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One sample of the agent, t from the start of the run's workload. */
struct aod_impact_sample {
	double t_s;
	double cpu_s;     /* agent utime+stime since the start of the workload */
	uint64_t rss_kib; /* VmRSS */
};

/* The loss counters read from the agent's status (docs/impact.md). */
enum aod_impact_loss {
	AOD_LOSS_RINGBUF = 0,      /* probes[].counters.ringbuf_drops, summed */
	AOD_LOSS_INFLIGHT_FULL,    /* probes[].counters.inflight_full, summed */
	AOD_LOSS_EVENT_QUEUE,      /* dispatcher.event_queue_overflows */
	AOD_LOSS_FLIGHT_RECORDER,  /* dispatcher.flight_recorder_overwritten */
	AOD_LOSS_WINDOW,           /* detector.window_dropped */
	AOD_LOSS_ANOMALY_QUEUE,    /* anomalies.queue_overflows */
	AOD_LOSS_STORE,            /* store.lost */
	AOD_LOSS_COUNT,
};
extern const char *const aod_impact_loss_names[AOD_LOSS_COUNT];

struct aod_impact_run {
	unsigned index;           /* 1-based, in the order the runs were made */
	bool with_agent;
	unsigned iterations;      /* workload executions in this run */
	double wall_s;            /* workload wall time, all iterations */
	double user_s, sys_s;     /* workload CPU from wait4's rusage, all iterations */
	int wait_status;          /* of the last iteration */
	pid_t agent_pid;          /* with_agent: the agent of this run */
	double agent_start_s;     /* with_agent: from exec to answering on its socket */
	double agent_start_cpu_s; /* its CPU until then (loading the probes) */
	double agent_cpu_s;       /* its CPU during the workload */
	uint64_t agent_rss_max_kib;
	uint64_t out_bytes_ready; /* its output dir when it answered */
	uint64_t out_bytes_end;   /* and when the workload had finished */
	uint64_t events_decoded;
	uint64_t loss[AOD_LOSS_COUNT];
	size_t nsamples, cap;
	struct aod_impact_sample *samples;
};

/* The workload's per-iteration wall and CPU (what the comparison uses). */
static inline double aod_impact_run_wall(const struct aod_impact_run *r)
{
	return r->iterations ? r->wall_s / r->iterations : 0;
}
static inline double aod_impact_run_cpu(const struct aod_impact_run *r)
{
	return r->iterations ? (r->user_s + r->sys_s) / r->iterations : 0;
}

#endif /* AOD_IMPACT_IMPACT_H */
