/* SPDX-License-Identifier: MIT */
/*
 * The latest health report of a running agent, shared between the thread
 * that makes reports (src/agent/health_loop.c) and whoever reads them (the
 * metrics endpoint). Readers get their own reference; the writer swaps the
 * report under a mutex.
 */
#ifndef AOD_HEALTH_LATEST_H
#define AOD_HEALTH_LATEST_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

struct aod_health_latest;

struct aod_health_latest *aod_health_latest_new(void);
void aod_health_latest_free(struct aod_health_latest *l);
/* Keep report (takes the reference) as the latest; the previous one is released. */
void aod_health_latest_set(struct aod_health_latest *l, json_t *report);
/* A new reference to the latest report, or NULL before the first one. */
json_t *aod_health_latest_get(struct aod_health_latest *l);
uint64_t aod_health_latest_runs(struct aod_health_latest *l);

/*
 * The four health metric families of the latest report, Prometheus text
 * format, into out: aod_health_unit_problem{unit,problem},
 * aod_health_unit_anomaly_score{unit}, aod_health_log_patterns_total{pattern},
 * aod_health_dependency_cycles. Writes nothing before the first report
 * (or with l NULL). 0, or -EIO if out failed.
 */
int aod_health_metrics_write(struct aod_health_latest *l, FILE *out);

#endif /* AOD_HEALTH_LATEST_H */
