/* SPDX-License-Identifier: MIT */
/*
 * Sliding-window anomaly rules. Pure: no I/O, no clocks, no threads. Time
 * comes in with the events (mono_ns) and with advance(), so the same code
 * serves the live agent, `aod replay` and the unit tests, and a replay is
 * exact whatever the phase of any timer.
 *
 * Semantics (W = watch_interval_sec, N = acceptable_count):
 *  - latency rule: an event counts if its key (SMB command, block device,
 *    TCP remote port) is tracked and its latency >= the key's threshold;
 *    error rule: if aod_rule_error_tracked() says so (tcpretrans, tcpreset:
 *    every retransmit / reset counts). A completion flagged
 *    AOD_EVF_WAS_STUCK never counts: its op was already reported stuck.
 *  - The rule fires as soon as some interval of length W holds N or more
 *    counted events: at the event that makes it so (its mono_ns), with the
 *    window (t - W, t]. An event at or over the rule's emergency threshold
 *    fires at once, whatever N says. Fired events are consumed: they never
 *    fire again.
 *  - Quiet period: after firing at t, a rule does not fire again before
 *    t + W. If its condition is met again inside (t, t + W) the anomaly is
 *    due at t + W and fires then (advance(), or the first event after it),
 *    with every counted event of (t, t + W]. So a storm gives at most one
 *    anomaly per rule per window, and no condition that was met is lost.
 *  - Out-of-order events (CPUs race to the ring by microseconds) are placed
 *    in time order; one older than the rule's newest event by W or more can
 *    no longer share a window with it and is dropped (counted as late).
 *  - Stuck ops (AOD_EVENT_*_STUCK, from the in-flight sweep): every latency
 *    rule of that source with an emergency threshold, that tracks the op's
 *    key and whose threshold the op's age has reached, gets one anomaly of
 *    type AOD_RULE_STUCK per sweep batch, listing the ops. A batch is
 *    complete when an event of another batch or a later time arrives, at
 *    advance() past its time, or at flush().
 *  - Reload (set_config): rules whose name, source and type persist keep
 *    their window, quiet period and pending anomaly; if the new N is met
 *    by what the window holds, the rule is due at once.
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
	uint64_t events_late;     /* counted events W or more older than the rule's newest */
	uint64_t stuck_ops;       /* stuck ops that went into an anomaly */
	uint64_t anomalies;       /* anomalies emitted */
};

/* Per-rule window capacity; beyond it events are counted but not stored. */
#define AOD_DETECTOR_WINDOW_CAP 8192

/* fn receives every anomaly (may be NULL). NULL on out of memory. */
struct aod_detector *aod_detector_new(const struct aod_config *cfg, aod_anomaly_fn fn,
				      void *ctx);
void aod_detector_free(struct aod_detector *d);

/* Swap rules (SIGHUP), see "Reload" above. 0 or -ENOMEM (rules unchanged). */
int aod_detector_set_config(struct aod_detector *d, const struct aod_config *cfg);

/* Feed one event; fires what it completes. Returns the anomalies fired. */
int aod_detector_add(struct aod_detector *d, const struct aod_event *ev);

/* Time has reached now_mono: fire anomalies due by then and stuck batches
 * older than it. Returns the anomalies fired. */
int aod_detector_advance(struct aod_detector *d, uint64_t now_mono);

/* Fire pending stuck batches now (the live loop, after each drain). */
int aod_detector_flush(struct aod_detector *d);

/* Earliest time an anomaly is due (for the caller's sleep); UINT64_MAX: none. */
uint64_t aod_detector_next_due(const struct aod_detector *d);

void aod_detector_get_stats(const struct aod_detector *d, struct aod_detector_stats *out);

#endif /* AOD_DETECT_DETECTOR_H */
