// SPDX-License-Identifier: MIT
/*
 * The flight recorder (flight_recorder.h): a ring of events with a
 * sequence number per event (the oldest held is added - count), so a
 * reader that lets go of the lock between chunks knows exactly what was
 * overwritten meanwhile; and a ring of 100 ms loss buckets keyed by the
 * overwritten events' own time.
 */
#include "agent/flight_recorder.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 256
#define LOSS_STEP_NS (100 * 1000000ULL)
#define LOSS_MARGIN_STEPS 1200 /* two minutes beyond the span */

struct loss_bucket {
	uint64_t step; /* mono_ns / LOSS_STEP_NS of the events counted here */
	uint64_t count;
};

struct aod_flight_recorder {
	pthread_mutex_t lock;
	size_t capacity, head, count; /* head = oldest */
	uint64_t added;               /* events ever added: seq of the next one */
	uint64_t span_ns;
	uint64_t overwritten;
	struct aod_event *ring;
	size_t nbuckets;
	struct loss_bucket *buckets;
};

struct aod_flight_recorder *aod_flight_recorder_new(size_t capacity, uint64_t span_ns)
{
	struct aod_flight_recorder *fr = calloc(1, sizeof(*fr));

	if (!fr || !capacity)
		goto fail;
	fr->ring = calloc(capacity, sizeof(*fr->ring));
	fr->nbuckets = span_ns / LOSS_STEP_NS + LOSS_MARGIN_STEPS;
	fr->buckets = calloc(fr->nbuckets, sizeof(*fr->buckets));
	if (!fr->ring || !fr->buckets)
		goto fail;
	fr->capacity = capacity;
	fr->span_ns = span_ns;
	pthread_mutex_init(&fr->lock, NULL);
	return fr;
fail:
	if (fr) {
		free(fr->ring);
		free(fr->buckets);
	}
	free(fr);
	return NULL;
}

void aod_flight_recorder_free(struct aod_flight_recorder *fr)
{
	if (!fr)
		return;
	pthread_mutex_destroy(&fr->lock);
	free(fr->ring);
	free(fr->buckets);
	free(fr);
}

static void count_loss(struct aod_flight_recorder *fr, uint64_t mono)
{
	uint64_t step = mono / LOSS_STEP_NS;
	struct loss_bucket *b = &fr->buckets[step % fr->nbuckets];

	if (b->step != step) {
		b->step = step;
		b->count = 0;
	}
	b->count++;
}

void aod_flight_recorder_add(struct aod_flight_recorder *fr, const struct aod_event *ev)
{
	pthread_mutex_lock(&fr->lock);
	if (fr->count == fr->capacity) {
		count_loss(fr, fr->ring[fr->head].mono_ns);
		fr->ring[fr->head] = *ev;
		fr->head = (fr->head + 1) % fr->capacity;
		fr->overwritten++;
	} else {
		fr->ring[(fr->head + fr->count) % fr->capacity] = *ev;
		fr->count++;
	}
	fr->added++;
	pthread_mutex_unlock(&fr->lock);
}

/* Under the lock: overwritten events with mono_ns in [from_mono, to_mono]. */
static uint64_t lost_locked(struct aod_flight_recorder *fr, uint64_t from_mono, uint64_t to_mono)
{
	uint64_t lost = 0, first = from_mono / LOSS_STEP_NS, last = to_mono / LOSS_STEP_NS;

	if (last < first)
		return 0;
	if (last - first >= fr->nbuckets)
		first = last - fr->nbuckets + 1;
	for (uint64_t step = first; step <= last; step++) {
		const struct loss_bucket *b = &fr->buckets[step % fr->nbuckets];

		if (b->step == step)
			lost += b->count;
	}
	return lost;
}

/* Under the lock: copy up to max events from seq on; returns how many and
 * where the next read starts. Counts what was overwritten before seq. */
static size_t read_chunk(struct aod_flight_recorder *fr, uint64_t *seq, struct aod_event *out,
			 size_t max, uint64_t *skipped)
{
	uint64_t oldest = fr->added - fr->count;
	size_t n = 0;

	if (*seq < oldest) {
		*skipped += oldest - *seq;
		*seq = oldest;
	}
	while (n < max && *seq < fr->added) {
		out[n++] = fr->ring[(fr->head + (size_t)(*seq - oldest)) % fr->capacity];
		(*seq)++;
	}
	return n;
}

long aod_flight_recorder_foreach(struct aod_flight_recorder *fr, uint64_t from_mono,
				 uint64_t to_mono, aod_recorder_fn fn, void *ctx, uint64_t *lost)
{
	uint64_t oldest_wanted = to_mono > fr->span_ns ? to_mono - fr->span_ns : 0;
	struct aod_event *chunk = malloc(CHUNK * sizeof(*chunk));
	uint64_t seq, skipped = 0;
	long visited = 0;
	size_t n;

	if (!chunk)
		return -ENOMEM;
	if (from_mono < oldest_wanted)
		from_mono = oldest_wanted;
	pthread_mutex_lock(&fr->lock);
	if (lost)
		*lost = lost_locked(fr, from_mono, to_mono);
	seq = fr->added - fr->count;
	do {
		n = read_chunk(fr, &seq, chunk, CHUNK, &skipped);
		pthread_mutex_unlock(&fr->lock);
		for (size_t i = 0; i < n; i++) {
			int rc;

			if (chunk[i].mono_ns < from_mono || chunk[i].mono_ns > to_mono)
				continue;
			rc = fn(ctx, &chunk[i]);
			if (rc) {
				free(chunk);
				return rc;
			}
			visited++;
		}
		pthread_mutex_lock(&fr->lock);
	} while (n == CHUNK);
	pthread_mutex_unlock(&fr->lock);
	if (lost)
		*lost += skipped;
	free(chunk);
	return visited;
}

uint64_t aod_flight_recorder_lost(struct aod_flight_recorder *fr, uint64_t from_mono,
				  uint64_t to_mono)
{
	uint64_t lost;

	pthread_mutex_lock(&fr->lock);
	lost = lost_locked(fr, from_mono, to_mono);
	pthread_mutex_unlock(&fr->lock);
	return lost;
}

uint64_t aod_flight_recorder_overwritten(const struct aod_flight_recorder *fr)
{
	struct aod_flight_recorder *m = (struct aod_flight_recorder *)fr;
	uint64_t n;

	pthread_mutex_lock(&m->lock);
	n = m->overwritten;
	pthread_mutex_unlock(&m->lock);
	return n;
}
