/* SPDX-License-Identifier: MIT */
/*
 * /metrics: what the agent exposes to Prometheus (docs/metrics.md defines
 * every series). Two steps, on two threads, so that no scrape ever waits
 * on a lock the probes, the detector or the collector need:
 *
 *   aod_metrics_sample()  the http worker, about once a second: reads the
 *                         probes (their own short locks), the counters and
 *                         the bounded per-label tables into the spare of
 *                         two snapshots, then swaps it in under a mutex
 *                         that only the renderer shares;
 *   aod_metrics_render()  the HTTP server thread, per scrape: formats the
 *                         current snapshot (holding that mutex, never any
 *                         agent lock).
 *
 * Counters come straight from the kernel maps and agent atomics: never
 * reset, never derived from deltas. Label sets are capped (the block
 * histograms, rules, actions); what is refused is counted in
 * aod_metrics_series_dropped_total{metric}.
 */
#ifndef AOD_SERVE_METRICS_H
#define AOD_SERVE_METRICS_H

#include "serve/prom.h"

struct aod_agent;
struct aod_config;
struct aod_metrics;

struct aod_metrics *aod_metrics_new(void);
/* Also turns kernel.bpf_stats_enabled back off if this turned it on. */
void aod_metrics_free(struct aod_metrics *m);

/* Take a snapshot (one thread only). cfg: the worker's current config copy
 * (metrics.bpf_stats, output budget). Returns 0 or -ENOMEM. */
int aod_metrics_sample(struct aod_metrics *m, struct aod_agent *agent,
		       const struct aod_config *cfg);

/* Exposition text of the latest snapshot into w. -EAGAIN before the first. */
int aod_metrics_render(struct aod_metrics *m, struct aod_prom *w);

/* The kernel histograms read now, as one JSON line for `aod hist` (the
 * control socket's "hist"): {"smb": [{share, command, slots, sum_ns}],
 * "block": [{device, operation, ...}], "tcp": [{histogram, port, ...}],
 * "loaded": {...}}; labels as /metrics has them. malloc'd, NULL on ENOMEM. */
char *aod_metrics_hist_json(struct aod_agent *agent);

/* `aod status --json` of the latest snapshot, malloc'd (NULL before the first). */
char *aod_metrics_status_json(struct aod_metrics *m);

#endif /* AOD_SERVE_METRICS_H */
