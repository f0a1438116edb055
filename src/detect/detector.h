/* SPDX-License-Identifier: MIT */
/*
 * Windowed anomaly rules. Pure: no I/O, no clocks, no threads. Time comes
 * in with the events (mono_ns) and with each evaluate() call, so the same
 * code serves the live agent, `aod replay` and the unit tests.
 *
 * Semantics (one window per rule, of length watch_interval_sec):
 *  - latency rule: an event counts if its key (SMB command, block device)
 *    is tracked and its latency >= the key's threshold;
 *  - error rule: an event counts if aod_rule_error_tracked() says so;
 *  - evaluate(now) looks at counted events with mono_ns in (now - W, now];
 *    the rule fires when their number >= acceptable_count. A fired rule's
 *    events are consumed, so the same events never fire twice;
 *  - emergency: add() returns true when one counted latency event is at or
 *    over the rule's emergency threshold; the caller then calls
 *    evaluate_emergency() at once, which fires that rule immediately with
 *    whatever its window holds.
 */
#ifndef AOD_DETECT_DETECTOR_H
#define AOD_DETECT_DETECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "detect/anomaly.h"
#include "detect/event.h"

struct aod_detector;

typedef void (*aod_anomaly_fn)(const struct aod_anomaly *anomaly, void *ctx);

struct aod_detector_stats {
	uint64_t events_in;       /* events given to add() */
	uint64_t events_counted;  /* events that counted for at least one rule */
	uint64_t events_dropped;  /* counted events a full window could not keep */
	uint64_t anomalies;       /* anomalies emitted */
};

/* Per-rule window capacity; beyond it events are counted but not stored. */
#define AOD_DETECTOR_WINDOW_CAP 8192

struct aod_detector *aod_detector_new(const struct aod_config *cfg);
void aod_detector_free(struct aod_detector *d);

/* Swap rules (SIGHUP). Windows of rules whose name persists are kept. */
int aod_detector_set_config(struct aod_detector *d, const struct aod_config *cfg);

/* Feed one event. Returns true if it is an emergency for some rule. */
bool aod_detector_add(struct aod_detector *d, const struct aod_event *ev);

/*
 * Evaluate every rule over (now_mono - W, now_mono]. now_wall is the wall
 * clock matching now_mono (anomaly id and window bounds). Returns the
 * number of anomalies emitted through fn.
 */
int aod_detector_evaluate(struct aod_detector *d, uint64_t now_mono,
			  uint64_t now_wall, aod_anomaly_fn fn, void *ctx);

/* Fire the rules with a pending emergency, at once. */
int aod_detector_evaluate_emergency(struct aod_detector *d, uint64_t now_mono,
				    uint64_t now_wall, aod_anomaly_fn fn, void *ctx);

void aod_detector_get_stats(const struct aod_detector *d, struct aod_detector_stats *out);

#endif /* AOD_DETECT_DETECTOR_H */
