/* SPDX-License-Identifier: MIT */
/*
 * Flight recorder: the last N seconds (bounded count) of decoded events,
 * in memory, so that a bundle shows what led up to an anomaly. The
 * dispatcher appends; the collector reads a time range out in small
 * chunks (never a copy of the whole recorder). Thread-safe.
 *
 * Loss: when full, the oldest event is overwritten. Overwritten events are
 * counted per 100 ms of their own time, so a bundle can say how many of
 * the events of its range the recorder lost before it was read (to within
 * one 100 ms step at the range's edges); a walk counts exactly what is
 * overwritten under it while it runs.
 */
#ifndef AOD_AGENT_FLIGHT_RECORDER_H
#define AOD_AGENT_FLIGHT_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "detect/event.h"

struct aod_flight_recorder;

struct aod_flight_recorder *aod_flight_recorder_new(size_t capacity, uint64_t span_ns);
void aod_flight_recorder_free(struct aod_flight_recorder *fr);

/* Append; the oldest event is overwritten when full (counted). */
void aod_flight_recorder_add(struct aod_flight_recorder *fr, const struct aod_event *ev);

/*
 * Call fn for each event with mono_ns in [from_mono, to_mono] (and not
 * older than the span before to_mono), oldest first, reading CHUNK events
 * at a time under the lock and calling fn outside it. fn returning
 * non-zero stops the walk with that value. *lost (if not NULL) gets the
 * events of the range that are not in the walk: overwritten before it
 * began (counted per 100 ms) and while it ran (exact). Returns the events
 * visited, or fn's non-zero value.
 */
typedef int (*aod_recorder_fn)(void *ctx, const struct aod_event *ev);
long aod_flight_recorder_foreach(struct aod_flight_recorder *fr, uint64_t from_mono,
				 uint64_t to_mono, aod_recorder_fn fn, void *ctx, uint64_t *lost);

/* Events with mono_ns in [from_mono, to_mono] that were overwritten. */
uint64_t aod_flight_recorder_lost(struct aod_flight_recorder *fr, uint64_t from_mono,
				  uint64_t to_mono);

uint64_t aod_flight_recorder_overwritten(const struct aod_flight_recorder *fr);

#endif /* AOD_AGENT_FLIGHT_RECORDER_H */
