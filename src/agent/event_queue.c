// SPDX-License-Identifier: MIT
/* The dispatcher -> detector queue (event_queue.h): events over a bqueue. */
#include "agent/event_queue.h"

#include <stdlib.h>

#include "common/bqueue.h"

struct aod_event_queue {
	struct aod_bqueue *q;
};

struct aod_event_queue *aod_event_queue_new(size_t capacity)
{
	struct aod_event_queue *q = calloc(1, sizeof(*q));

	if (q && !(q->q = aod_bqueue_new(capacity, sizeof(struct aod_event)))) {
		free(q);
		q = NULL;
	}
	return q;
}

void aod_event_queue_free(struct aod_event_queue *q)
{
	if (!q)
		return;
	aod_bqueue_free(q->q);
	free(q);
}

size_t aod_event_queue_push(struct aod_event_queue *q, const struct aod_event *evs, size_t n)
{
	return n - aod_bqueue_push(q->q, evs, n);
}

size_t aod_event_queue_pop(struct aod_event_queue *q, struct aod_event *out, size_t max,
			   uint64_t deadline_mono_ns)
{
	return aod_bqueue_pop(q->q, out, max, deadline_mono_ns);
}

void aod_event_queue_wake(struct aod_event_queue *q)
{
	aod_bqueue_wake(q->q);
}

uint64_t aod_event_queue_overflows(struct aod_event_queue *q)
{
	return aod_bqueue_overflows(q->q);
}
