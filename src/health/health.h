/* SPDX-License-Identifier: MIT */
/*
 * `aod health`: the system health report (seed 001, sysdiag-analyzer), as
 * one JSON document (docs/health.md has the schema). A report is made of
 * parts, each filling its own section:
 *
 *   units      failed, flapping, socket, timer, state, dependency problems
 *   boot       firmware/loader/kernel/initrd/userspace times, blame, critical chain
 *   resources  system CPU/memory/swap/PSI/disk/network; per unit from cgroups
 *   logs       this boot's journal (or kernel ring buffer and /var/log) by pattern
 *   deps       failed units' dependencies, dependency cycles
 *   scores     each unit against its history (when history is read)
 *   processes  execs and exits during the analysis, per unit (--processes)
 *
 * Where PID 1 is not systemd, units, boot and deps say so in their `skipped`
 * key and resources and logs still run. The exit status: 1 if a unit failed
 * or a part errored, else 0.
 */
#ifndef AOD_HEALTH_HEALTH_H
#define AOD_HEALTH_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"

enum aod_health_part {
	AOD_HP_UNITS = 1u << 0,
	AOD_HP_BOOT = 1u << 1,
	AOD_HP_RESOURCES = 1u << 2,
	AOD_HP_LOGS = 1u << 3,
	AOD_HP_DEPS = 1u << 4,
	AOD_HP_ALL = 0x1f,
};

struct aod_health_opts {
	const struct aod_health_config *cfg;
	unsigned parts;          /* enum aod_health_part bits */
	uint64_t since_usec;     /* logs from this wall time (any boot); 0 = this boot */
	bool score;              /* score against the history (needs resources) */
	bool processes;          /* trace execs and exits during the analysis (process probe) */
	/* Waits ms (the resources sample); true cancels the report: the parts not
	 * run yet are left out (the agent is stopping). NULL: nanosleep. */
	bool (*sleep)(void *arg, unsigned ms);
	void *sleep_arg;
};

/* Make a report. Never NULL except out of memory; errors are inside it. */
json_t *aod_health_report(const struct aod_health_opts *opts);
/* 1 if a unit failed or something errored, else 0. */
int aod_health_exit_status(const json_t *report);
/* One unit in depth (`aod health unit NAME`). */
json_t *aod_health_unit_report(const struct aod_health_config *cfg, const char *name);

/* Text renderings (80 columns; colour when asked). */
struct aod_render {
	FILE *out;
	bool color;
	unsigned width;          /* 80 */
};
void aod_health_render(const struct aod_render *r, const json_t *report);
void aod_health_render_unit(const struct aod_render *r, const json_t *unit_report);
void aod_health_render_diff(const struct aod_render *r, const json_t *diff);

/* What changed from report a to report b (docs/health.md, "diff"). */
json_t *aod_health_diff(const json_t *a, const json_t *b);

/* --since: "2025-12-01 10:00[:00]", "2025-12-01T10:00:00Z", "@EPOCH", "-2h", "30m ago",
 * "today", "yesterday". Wall usec, or -EINVAL. */
int aod_health_parse_since(const char *s, uint64_t now_usec, uint64_t *out);

/*
 * The four metric families of the latest report, in Prometheus text format:
 * aod_health_unit_problem{unit,problem}, aod_health_unit_anomaly_score{unit},
 * aod_health_log_patterns_total{pattern}, aod_health_dependency_cycles.
 */
int aod_health_metrics_render(const json_t *report, FILE *out);

#endif /* AOD_HEALTH_HEALTH_H */
