/* SPDX-License-Identifier: MIT */
/*
 * Admission of anomalies to collections: the collector's decisions as a
 * small pure state machine (no lock, no clock, no I/O: the caller holds
 * its lock and passes the monotonic time).
 *
 *   offer(a)   a's source has a running collection:  COALESCE (into it)
 *              else a's rule is held off (not a snapshot): SUPPRESS
 *                (counted; the first AOD_ADMIT_LISTED listed for the next
 *                bundle of the rule)
 *              else: START; the source is running from now on, and the
 *                rule's suppressed anomalies are handed to the new one.
 *   finish(p)  the collection of p stops taking anomalies (its bundle's
 *              contents are frozen): its source is free AND p's rule is
 *              held off for holdoff_sec, in one step. No state exists in
 *              which the source is free and the rule not yet held off, so
 *              an anomaly of the same rule arriving while the bundle is
 *              being written is suppressed; it cannot start a second bundle.
 *
 * Invariant: held off rules have until_mono > the time of their finish.
 */
#ifndef AOD_COLLECT_ADMISSION_H
#define AOD_COLLECT_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "detect/anomaly.h"

#define AOD_ADMIT_LISTED 32
#define AOD_ADMIT_RULES (AOD_MAX_RULES + 1)

enum aod_admit {
	AOD_ADMIT_START = 0,
	AOD_ADMIT_COALESCE = 1,
	AOD_ADMIT_SUPPRESS = 2,
};

/* What a started collection inherits: the anomalies its rule suppressed. */
struct aod_admit_handoff {
	struct aod_anomaly suppressed[AOD_ADMIT_LISTED];
	size_t nsuppressed;
	uint64_t suppressed_count; /* all of them, listed or not */
};

struct aod_holdoff {
	char rule[AOD_RULE_NAME_LEN];
	uint64_t until_mono;
	struct aod_admit_handoff pending;
};

struct aod_admission {
	bool running[AOD_SOURCE_COUNT];
	struct aod_holdoff holdoffs[AOD_ADMIT_RULES];
	size_t nholdoffs;
};

void aod_admission_init(struct aod_admission *adm);
/* Copies the listed anomalies only (the struct is mostly room). */
void aod_admit_handoff_copy(struct aod_admit_handoff *to, const struct aod_admit_handoff *from);
/* On START, *handoff is filled (and the rule's pending list emptied). */
enum aod_admit aod_admission_offer(struct aod_admission *adm, const struct aod_anomaly *a,
				   uint64_t now_mono, struct aod_admit_handoff *handoff);
/* The collection of primary is done taking anomalies (see above). A
 * snapshot, or holdoff_sec 0, holds nothing off. */
void aod_admission_finish(struct aod_admission *adm, const struct aod_anomaly *primary,
			  uint32_t holdoff_sec, uint64_t now_mono);
bool aod_admission_running(const struct aod_admission *adm, enum aod_source src);

#endif /* AOD_COLLECT_ADMISSION_H */
