/* SPDX-License-Identifier: MIT */
/*
 * aod impact: make one run. The workload is executed with execve (never a
 * shell), its stdout and stderr going to WORKDIR/run-NN.out; with the agent,
 * `/proc/self/exe agent --config WORKDIR/agent-NN/aod.yaml` is started first
 * (its own output dir, control socket and health history under agent-NN/,
 * no HTTP server), the run begins once it answers on its control socket
 * (its probes are attached by then), the agent is sampled every sample_ms
 * while the workload runs, and it is stopped with SIGTERM after.
 */
#ifndef AOD_IMPACT_RUNNER_H
#define AOD_IMPACT_RUNNER_H

#include <stddef.h>

#include "config/config.h"
#include "impact/impact.h"

struct aod_impact_plan {
	char *const *argv;            /* the workload; argv[0] as given */
	const char *exe;              /* argv[0] resolved (aod_impact_resolve_exe) */
	double duration_s;            /* a run repeats the workload until this long; 0: once */
	unsigned sample_ms;           /* agent sampling period */
	const char *workdir;          /* logs, configs and the agents' dirs */
	const struct aod_config *cfg; /* the config the agent runs with (paths replaced) */
	double ready_timeout_s;       /* the agent must answer within this */
	int stop_fd;                  /* readable when the user wants to stop (a signalfd), or -1 */
};

enum aod_impact_rc {
	AOD_IMPACT_OK = 0,
	AOD_IMPACT_WORKLOAD_FAILED = 1, /* exec failed, non-zero exit or a signal: err says */
	AOD_IMPACT_AGENT_FAILED = 2,    /* did not start, died, or did not stop: err says */
	AOD_IMPACT_SYSTEM = 3,          /* fork, files: err says */
	AOD_IMPACT_INTERRUPTED = 4,     /* stop_fd became readable: workload and agent stopped */
};

/* Make run r (index and with_agent set by the caller). Frees nothing: see _run_free. */
enum aod_impact_rc aod_impact_run(const struct aod_impact_plan *p, struct aod_impact_run *r,
				  char *err, size_t errlen);
void aod_impact_run_free(struct aod_impact_run *r);

/* argv0 as execve needs it: itself if it has a '/', else the first executable
 * match in $PATH (default /usr/local/bin:/usr/bin:/bin). 0 or -ENOENT/-EACCES. */
int aod_impact_resolve_exe(const char *argv0, char *out, size_t len);

/* Read the loss counters and events_decoded from the agent's status JSON. 0 or -EINVAL. */
int aod_impact_parse_status(const char *json, struct aod_impact_run *r);

#endif /* AOD_IMPACT_RUNNER_H */
