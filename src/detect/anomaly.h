/* SPDX-License-Identifier: MIT */
/*
 * An anomaly: the detector's verdict, handed to the collector through the
 * anomaly queue. Self-contained (no pointers) so it can be copied, queued
 * and serialised without ownership questions.
 */
#ifndef AOD_DETECT_ANOMALY_H
#define AOD_DETECT_ANOMALY_H

#include <stdbool.h>
#include <stdint.h>

#include "detect/event.h"

#define AOD_RULE_NAME_LEN 64
#define AOD_ANOMALY_MAX_KEYS 32
#define AOD_ANOMALY_WORST 10
#define AOD_KEY_LEN 48

enum aod_rule_type {
	AOD_RULE_LATENCY = 0,
	AOD_RULE_ERROR = 1,
	AOD_RULE_MANUAL = 2, /* snapshot: no rule fired */
	AOD_RULE_STUCK = 3,  /* anomalies only: ops of a latency rule still in flight past
			      * its emergency threshold */
	AOD_RULE_HEALTH = 4, /* a unit failed or scored over the threshold in a health report */
};

/* One row of "counts per key": a command, a device or an error code. */
struct aod_anomaly_key {
	char key[AOD_KEY_LEN];   /* "SMB2_WRITE", "vda", "STATUS_ACCESS_DENIED" */
	uint32_t count;          /* events over threshold / tracked errors in window */
	uint64_t threshold_ns;   /* latency rules; 0 for error rules */
	uint64_t max_latency_ns; /* latency rules */
};

struct aod_anomaly {
	uint64_t id;                 /* wall-clock ns when it fired; unique per agent */
	char rule[AOD_RULE_NAME_LEN];/* config name of the rule, e.g. "latency" */
	enum aod_source source;
	enum aod_rule_type type;
	bool emergency;              /* fired at once by one op >= emergency threshold */
	uint64_t window_start_ns;    /* wall clock */
	uint64_t window_end_ns;      /* wall clock */
	uint32_t acceptable_count;
	uint64_t emergency_threshold_ns;
	uint32_t total;              /* counted events in the window */
	uint32_t dropped;            /* events the window could not keep (bounded memory) */
	uint32_t nkeys;
	struct aod_anomaly_key keys[AOD_ANOMALY_MAX_KEYS];
	uint32_t nworst;
	struct aod_event worst[AOD_ANOMALY_WORST]; /* slowest (oldest, if stuck) first,
						    * or first errors */
};

const char *aod_source_name(enum aod_source src);       /* "smb", "block", "manual", "tcp" */
const char *aod_rule_type_name(enum aod_rule_type type); /* "latency", "error", "manual" */

#endif /* AOD_DETECT_ANOMALY_H */
