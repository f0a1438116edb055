// SPDX-License-Identifier: MIT
#include "agent/event_queue.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/timeutil.h"

struct aod_event_queue {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	size_t capacity, head, count;
	bool woken;
	uint64_t overflows;
	struct aod_event *ring;
};

struct aod_event_queue *aod_event_queue_new(size_t capacity)
{
	struct aod_event_queue *q = calloc(1, sizeof(*q));
	pthread_condattr_t attr;

	if (!q || !capacity)
		goto fail;
	q->ring = calloc(capacity, sizeof(*q->ring));
	if (!q->ring)
		goto fail;
	q->capacity = capacity;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->ready, &attr);
	pthread_condattr_destroy(&attr);
	return q;
fail:
	free(q);
	return NULL;
}

void aod_event_queue_free(struct aod_event_queue *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->ready);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

size_t aod_event_queue_push(struct aod_event_queue *q, const struct aod_event *evs, size_t n)
{
	size_t dropped = 0;

	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < n; i++) {
		if (q->count == q->capacity) {
			dropped = n - i;
			break;
		}
		q->ring[(q->head + q->count) % q->capacity] = evs[i];
		q->count++;
	}
	q->overflows += dropped;
	pthread_cond_signal(&q->ready);
	pthread_mutex_unlock(&q->lock);
	return dropped;
}

size_t aod_event_queue_pop(struct aod_event_queue *q, struct aod_event *out, size_t max,
			   uint64_t deadline_mono_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_mono_ns / AOD_NSEC_PER_SEC),
		.tv_nsec = (long)(deadline_mono_ns % AOD_NSEC_PER_SEC),
	};
	size_t n = 0;

	pthread_mutex_lock(&q->lock);
	while (!q->count && !q->woken) {
		if (pthread_cond_timedwait(&q->ready, &q->lock, &ts))
			break;
	}
	q->woken = false;
	while (q->count && n < max) {
		out[n++] = q->ring[q->head];
		q->head = (q->head + 1) % q->capacity;
		q->count--;
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

void aod_event_queue_wake(struct aod_event_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->woken = true;
	pthread_cond_broadcast(&q->ready);
	pthread_mutex_unlock(&q->lock);
}

uint64_t aod_event_queue_overflows(struct aod_event_queue *q)
{
	uint64_t n;

	pthread_mutex_lock(&q->lock);
	n = q->overflows;
	pthread_mutex_unlock(&q->lock);
	return n;
}
