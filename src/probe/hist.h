/* SPDX-License-Identifier: MIT */
/*
 * Reading the kernel's log2 latency histograms (struct aod_hist, filled by
 * the BPF probes with aod_hist_slot() from src/bpf/hist.bpf.h): slot
 * bounds, totals, percentile estimates and a libbpf-tools style print.
 */
#ifndef AOD_PROBE_HIST_H
#define AOD_PROBE_HIST_H

#include <linux/types.h>
#include <stdint.h>
#include <stdio.h>

#include "bpf/events.h"

/* Smallest value (usec) that lands in a slot: 0 for slot 0, else 2^slot. */
uint64_t aod_hist_slot_lo_us(unsigned slot);
/* Largest value (usec) that lands in a slot, inclusive: 2^(slot+1) - 1,
 * UINT64_MAX for the last slot (it also holds everything above). */
uint64_t aod_hist_slot_hi_us(unsigned slot);

uint64_t aod_hist_total(const struct aod_hist *h);
void aod_hist_merge(struct aod_hist *dst, const struct aod_hist *src);

/*
 * Estimated value (usec) below which pct percent of the samples fall,
 * interpolating linearly inside the slot that holds that rank (a slot
 * spans [lo, hi + 1)). The last slot is open-ended: its lower bound is
 * returned. -1 for an empty histogram or pct outside [0, 100].
 */
double aod_hist_percentile_us(const struct aod_hist *h, double pct);

/* "     usecs      : count  distribution" table, zero slots at both ends
 * left out. Returns 0 or -EIO. */
int aod_hist_print(const struct aod_hist *h, const char *unit, FILE *out);

#endif /* AOD_PROBE_HIST_H */
