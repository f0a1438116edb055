/* SPDX-License-Identifier: MIT */
/*
 * summary.txt: a bundle explained to a person in one screen: what fired
 * and why (rule, source, type, window, count against acceptable_count),
 * the per-key counts against their thresholds, the worst events, the
 * coalesced and suppressed anomalies, and which actions failed, timed
 * out or were truncated, and why.
 */
#ifndef AOD_COLLECT_SUMMARY_H
#define AOD_COLLECT_SUMMARY_H

#include <stddef.h>

#include "collect/bundle.h"

/* The text (malloc'd, NUL-terminated), or NULL on allocation failure. */
char *aod_summary_build(const struct aod_bundle_input *in, const struct aod_bundle_plan *plan);

/* "SMB2_WRITE", "vda", "dev 253:0": the key an event counts under. */
void aod_summary_event_key(const struct aod_event *ev, char *buf, size_t len);

#endif /* AOD_COLLECT_SUMMARY_H */
