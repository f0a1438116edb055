/* SPDX-License-Identifier: MIT */
/*
 * Flight recorder: the last N seconds (bounded count) of decoded events,
 * in memory, so that a bundle shows what led up to an anomaly. The
 * dispatcher appends; the collector copies out a time range. Thread-safe.
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
 * Copy events with mono_ns in [from_mono, to_mono] (and not older than the
 * span before to_mono), oldest first, into a malloc'd array. Returns the
 * count (*out NULL when 0) or -ENOMEM.
 */
long aod_flight_recorder_copy(struct aod_flight_recorder *fr, uint64_t from_mono,
			      uint64_t to_mono, struct aod_event **out);

uint64_t aod_flight_recorder_overwritten(const struct aod_flight_recorder *fr);

#endif /* AOD_AGENT_FLIGHT_RECORDER_H */
