// SPDX-License-Identifier: MIT
#include "agent/anomaly_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct aod_anomaly_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	unsigned capacity, head, count;
	bool closed;
	_Atomic uint64_t overflows;
	struct aod_anomaly *slots;
};

struct aod_anomaly_queue *aod_anomaly_queue_new(unsigned capacity)
{
	struct aod_anomaly_queue *q = calloc(1, sizeof(*q));
	pthread_condattr_t attr;

	if (!q || !capacity)
		goto fail;
	q->slots = calloc(capacity, sizeof(*q->slots));
	if (!q->slots)
		goto fail;
	q->capacity = capacity;
	pthread_mutex_init(&q->lock, NULL);
	/* Monotonic waits: a wall-clock jump must not stall the collector. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->nonempty, &attr);
	pthread_condattr_destroy(&attr);
	return q;
fail:
	free(q);
	return NULL;
}

void aod_anomaly_queue_free(struct aod_anomaly_queue *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
	free(q->slots);
	free(q);
}

int aod_anomaly_queue_push(struct aod_anomaly_queue *q, const struct aod_anomaly *a)
{
	int err = 0;

	pthread_mutex_lock(&q->lock);
	if (q->closed) {
		err = -EPIPE;
	} else if (q->count == q->capacity) {
		atomic_fetch_add(&q->overflows, 1);
		err = -ENOSPC;
	} else {
		q->slots[(q->head + q->count) % q->capacity] = *a;
		q->count++;
		pthread_cond_signal(&q->nonempty);
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}

static void deadline_after(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int aod_anomaly_queue_pop(struct aod_anomaly_queue *q, struct aod_anomaly *out, int timeout_ms)
{
	struct timespec deadline;
	int err = 0;

	if (timeout_ms >= 0)
		deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (!q->count && !q->closed && !err) {
		if (timeout_ms < 0)
			pthread_cond_wait(&q->nonempty, &q->lock);
		else if (pthread_cond_timedwait(&q->nonempty, &q->lock, &deadline) == ETIMEDOUT)
			err = q->count ? 0 : -ETIMEDOUT;
	}
	if (q->count) {
		*out = q->slots[q->head];
		q->head = (q->head + 1) % q->capacity;
		q->count--;
		err = 0;
	} else if (!err) {
		err = -EPIPE;
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}

void aod_anomaly_queue_close(struct aod_anomaly_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}

uint64_t aod_anomaly_queue_overflows(const struct aod_anomaly_queue *q)
{
	return atomic_load(&((struct aod_anomaly_queue *)q)->overflows);
}

unsigned aod_anomaly_queue_depth(const struct aod_anomaly_queue *q)
{
	struct aod_anomaly_queue *mq = (struct aod_anomaly_queue *)q;
	unsigned n;

	pthread_mutex_lock(&mq->lock);
	n = mq->count;
	pthread_mutex_unlock(&mq->lock);
	return n;
}
