/* SPDX-License-Identifier: MIT */
/*
 * Dispatcher -> detector: a bounded FIFO of decoded events. The dispatcher
 * pushes a whole poll batch at once and wakes the detector once per batch;
 * a full queue drops the newest events and counts them.
 */
#ifndef AOD_AGENT_EVENT_QUEUE_H
#define AOD_AGENT_EVENT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "detect/event.h"

struct aod_event_queue;

struct aod_event_queue *aod_event_queue_new(size_t capacity);
void aod_event_queue_free(struct aod_event_queue *q);

/* Append n events and wake the consumer. Returns how many were dropped. */
size_t aod_event_queue_push(struct aod_event_queue *q, const struct aod_event *evs, size_t n);

/*
 * Move up to max events into out, waiting until deadline_mono_ns (absolute,
 * CLOCK_MONOTONIC) if the queue is empty. Returns the number moved (0 on
 * timeout or after aod_event_queue_wake()).
 */
size_t aod_event_queue_pop(struct aod_event_queue *q, struct aod_event *out, size_t max,
			   uint64_t deadline_mono_ns);

/* Make a waiting pop return now (stop, reload). */
void aod_event_queue_wake(struct aod_event_queue *q);

uint64_t aod_event_queue_overflows(struct aod_event_queue *q);

#endif /* AOD_AGENT_EVENT_QUEUE_H */
