/* SPDX-License-Identifier: MIT */
/* aod impact: the report as text (for a person) or CSV (docs/impact.md lists the columns). */
#ifndef AOD_IMPACT_REPORT_H
#define AOD_IMPACT_REPORT_H

#include <stdio.h>

#include "impact/impact.h"
#include "impact/stats.h"

/* The comparison of wall (cpu false) or workload CPU (cpu true) per iteration. */
void aod_impact_compare_runs(const struct aod_impact_run *runs, size_t nruns, bool cpu,
			     struct aod_impact_compare *out);

/* workload: the command line as one string (escaped here). */
void aod_impact_report_text(FILE *out, const char *workload, const struct aod_impact_run *runs,
			    size_t nruns, double duration_s);

#define AOD_IMPACT_CSV_HEADER                                                                  \
	"kind,run,with_agent,iterations,wall_s,user_s,sys_s,exit_status,agent_pid,"             \
	"agent_start_s,agent_start_cpu_s,agent_cpu_s,agent_rss_max_kib,output_bytes_ready,"     \
	"output_bytes_end,events_decoded,ringbuf_drops,inflight_full,event_queue_overflows,"    \
	"flight_recorder_overwritten,window_dropped,anomaly_queue_overflows,store_lost,"        \
	"t_s,agent_cpu_cum_s,agent_cpu_pct,agent_rss_kib"

void aod_impact_report_csv(FILE *out, const struct aod_impact_run *runs, size_t nruns);

#endif /* AOD_IMPACT_REPORT_H */
