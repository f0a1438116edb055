/* SPDX-License-Identifier: MIT */
/*
 * The processes part of `aod health` (--processes): the process probe
 * (src/probe/proc_probe.h) loaded for the duration of the analysis, its
 * execs and exits counted per cgroup as they come, then attributed to
 * units (the cgroup's service or scope, else the cgroup's path) when the
 * report is made. The seed's `--enable-ebpf`, with the per-unit
 * aggregation it left as a TODO. docs/health.md has the JSON keys.
 *
 * The counting (aod_procs_agg) is apart from the probe so that it is
 * tested with made-up records.
 */
#ifndef AOD_HEALTH_PROCESSES_H
#define AOD_HEALTH_PROCESSES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/cgroup_unit.h"
#include "probe/proc_probe.h"

#define AOD_PROCS_MAX_CGROUPS 4096   /* distinct cgroups counted apart */
#define AOD_PROCS_MAX_COMMANDS 64    /* distinct commands per cgroup; more go to "(other)" */
#define AOD_PROCS_FAILURES 20        /* the last failed exits kept */
#define AOD_PROCS_MAX_UNITS 100      /* entries of processes.units */

struct aod_procs_cmd {
	char comm[AOD_PROC_COMM_LEN + 1];
	uint64_t execs, exits, failed, cpu_ns;
};

struct aod_procs_cg {
	uint64_t id;
	uint64_t execs, exits, failed, cpu_ns;
	struct aod_procs_cmd *cmds;
	uint32_t ncmds, capcmds;
};

struct aod_procs_failure {
	uint64_t cgroup_id, wall_ns;
	uint32_t tgid;
	char comm[AOD_PROC_COMM_LEN + 1];
	int exit_code, signal;
	bool core_dumped;
};

struct aod_procs_agg {
	struct aod_procs_cg *cg;
	uint32_t ncg, capcg;
	uint32_t *slot;          /* open addressing on id: index + 1, 0 empty */
	uint32_t nslot;          /* a power of two, > 2 * AOD_PROCS_MAX_CGROUPS */
	uint64_t execs, exits, failed, cpu_ns;
	uint64_t not_kept;       /* records counted in the totals only (limits, no memory) */
	struct aod_procs_failure fail[AOD_PROCS_FAILURES];
	uint64_t nfail;          /* failed exits seen; the last AOD_PROCS_FAILURES are in fail[] */
};

int aod_procs_agg_init(struct aod_procs_agg *a);
void aod_procs_agg_free(struct aod_procs_agg *a);
/* One probe record: execs and exits count, the rest is ignored. */
void aod_procs_agg_add(struct aod_procs_agg *a, const struct aod_proc_event *ev);
/*
 * Fill section (skipped and error already set) with the counts by unit:
 * each cgroup is looked up in `now`, then in `before` (a cgroup gone by
 * the end of the analysis); top_n commands per unit.
 */
void aod_procs_agg_json(const struct aod_procs_agg *a, const struct aod_cgroups *now,
			const struct aod_cgroups *before, unsigned top_n, json_t *section);

/* The section with every key and nothing traced: skipped says why. */
json_t *aod_health_procs_skipped(bool requested, const char *why);

struct aod_health_procs;
/* Load the probe and start reading it in a thread of its own. On failure
 * *out is NULL, why says why, and the return is -errno (-EPERM: not root). */
int aod_health_procs_start(struct aod_health_procs **out, char *why, size_t len);
/* Stop, read what is left, and make the section (top_n commands per unit).
 * Frees p. */
json_t *aod_health_procs_stop(struct aod_health_procs *p, unsigned top_n);

#endif /* AOD_HEALTH_PROCESSES_H */
