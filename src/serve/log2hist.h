/* SPDX-License-Identifier: MIT */
/*
 * The kernel's log2 latency histograms (struct aod_hist: slot i holds
 * latencies whose whole microseconds are in [2^i, 2^(i+1) - 1], slot 0
 * holds 0..1 us, the last slot everything above) as Prometheus buckets,
 * in seconds, the way ebpf_exporter exports its exp2 histograms.
 *
 * The kernel truncates ns to whole us before taking the log, so the
 * largest latency slot i holds is 2^(i+1) us - 1 ns: that is slot i's
 * le (inclusive, as Prometheus means it), in seconds. The last slot is
 * open-ended and only counts in +Inf.
 */
#ifndef AOD_SERVE_LOG2HIST_H
#define AOD_SERVE_LOG2HIST_H

#include "bpf/events_user.h"
#include "serve/prom.h"

/* Upper bound (seconds, inclusive) of slot i, i < AOD_HIST_SLOTS - 1. */
double aod_log2hist_le_seconds(unsigned slot);
/* The same, as the shortest text that reads back to it; "+Inf" past the end. */
const char *aod_log2hist_le_text(unsigned slot);

/* The histogram's sum in seconds: the kernel's exact sum of the ns it
 * counted (struct aod_hist.sum_ns, added with each sample). */
double aod_log2hist_sum_seconds(const struct aod_hist *h);

/* Fills out: AOD_HIST_SLOTS - 1 finite buckets, count, sum. */
void aod_log2hist_to_prom(const struct aod_hist *h, struct aod_prom_hist *out);

#endif /* AOD_SERVE_LOG2HIST_H */
