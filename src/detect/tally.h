/* SPDX-License-Identifier: MIT */
/*
 * What an anomaly says about its events: counts per key (an SMB command, a
 * block device or an error code) and the few worst events. The detector
 * builds these while it fires a rule; they are internal to src/detect.
 */
#ifndef AOD_DETECT_TALLY_H
#define AOD_DETECT_TALLY_H

#include <stdint.h>

#include "config/config.h"
#include "detect/anomaly.h"
#include "detect/event.h"

#define AOD_TALLY_CAP (2 * AOD_ANOMALY_MAX_KEYS) /* distinct keys kept apart */

struct aod_key_tally {
	uint64_t id;
	uint32_t count;
	uint64_t threshold_ns;
	uint64_t max_latency_ns;
	char name[AOD_KEY_LEN];
};

struct aod_tally {
	uint32_t n;
	struct aod_key_tally keys[AOD_TALLY_CAP];
	uint32_t other_count; /* events of keys beyond AOD_TALLY_CAP */
	uint64_t other_max_ns;
};

/* The events an anomaly shows: slowest first (latency and stuck rules) or
 * first in time (error rules). */
struct aod_worst {
	uint32_t n;
	struct aod_event ev[AOD_ANOMALY_WORST];
};

void aod_tally_reset(struct aod_tally *t);
void aod_tally_add(struct aod_tally *t, const struct aod_rule *rule, const struct aod_event *ev);
void aod_tally_merge(struct aod_tally *dst, const struct aod_tally *src);
/* Most frequent keys first into a->keys; what does not fit is "(other)".
 * Sorts t. */
void aod_tally_to_anomaly(struct aod_tally *t, struct aod_anomaly *a);

void aod_worst_add(struct aod_worst *w, enum aod_rule_type type, const struct aod_event *ev);

#endif /* AOD_DETECT_TALLY_H */
