// SPDX-License-Identifier: MIT
/* A bounded multi-producer, single-consumer FIFO of fixed-size items (bqueue.h). */
#include "common/bqueue.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"

struct aod_bqueue {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	size_t capacity, item_size, head, count;
	bool woken;
	uint64_t overflows;
	unsigned char *ring;
};

struct aod_bqueue *aod_bqueue_new(size_t capacity, size_t item_size)
{
	struct aod_bqueue *q = calloc(1, sizeof(*q));
	pthread_condattr_t attr;

	if (!q || !capacity || !item_size || !(q->ring = calloc(capacity, item_size))) {
		free(q);
		return NULL;
	}
	q->capacity = capacity;
	q->item_size = item_size;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->ready, &attr);
	pthread_condattr_destroy(&attr);
	return q;
}

void aod_bqueue_free(struct aod_bqueue *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->ready);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

static unsigned char *slot(struct aod_bqueue *q, size_t i)
{
	return q->ring + (i % q->capacity) * q->item_size;
}

size_t aod_bqueue_push(struct aod_bqueue *q, const void *items, size_t n)
{
	const unsigned char *in = items;
	size_t taken;

	pthread_mutex_lock(&q->lock);
	taken = q->capacity - q->count < n ? q->capacity - q->count : n;
	for (size_t i = 0; i < taken; i++)
		memcpy(slot(q, q->head + q->count + i), in + i * q->item_size, q->item_size);
	q->count += taken;
	q->overflows += n - taken;
	assert(q->count <= q->capacity);
	if (taken)
		pthread_cond_signal(&q->ready);
	pthread_mutex_unlock(&q->lock);
	return taken;
}

size_t aod_bqueue_pop(struct aod_bqueue *q, void *out, size_t max, uint64_t deadline_mono_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_mono_ns / AOD_NSEC_PER_SEC),
		.tv_nsec = (long)(deadline_mono_ns % AOD_NSEC_PER_SEC),
	};
	unsigned char *o = out;
	size_t n = 0;

	pthread_mutex_lock(&q->lock);
	while (!q->count && !q->woken)
		if (pthread_cond_timedwait(&q->ready, &q->lock, &ts))
			break;
	q->woken = false;
	for (; q->count && n < max; n++) {
		memcpy(o + n * q->item_size, slot(q, q->head), q->item_size);
		q->head = (q->head + 1) % q->capacity;
		q->count--;
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

void aod_bqueue_wake(struct aod_bqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->woken = true;
	pthread_cond_broadcast(&q->ready);
	pthread_mutex_unlock(&q->lock);
}

uint64_t aod_bqueue_overflows(struct aod_bqueue *q)
{
	uint64_t n;

	pthread_mutex_lock(&q->lock);
	n = q->overflows;
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t aod_bqueue_depth(struct aod_bqueue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
}
