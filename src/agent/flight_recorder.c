// SPDX-License-Identifier: MIT
#include "agent/flight_recorder.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct aod_flight_recorder {
	pthread_mutex_t lock;
	size_t capacity, head, count; /* head = oldest */
	uint64_t span_ns;
	uint64_t overwritten;
	struct aod_event *ring;
};

struct aod_flight_recorder *aod_flight_recorder_new(size_t capacity, uint64_t span_ns)
{
	struct aod_flight_recorder *fr = calloc(1, sizeof(*fr));

	if (!fr || !capacity)
		goto fail;
	fr->ring = calloc(capacity, sizeof(*fr->ring));
	if (!fr->ring)
		goto fail;
	fr->capacity = capacity;
	fr->span_ns = span_ns;
	pthread_mutex_init(&fr->lock, NULL);
	return fr;
fail:
	free(fr);
	return NULL;
}

void aod_flight_recorder_free(struct aod_flight_recorder *fr)
{
	if (!fr)
		return;
	pthread_mutex_destroy(&fr->lock);
	free(fr->ring);
	free(fr);
}

void aod_flight_recorder_add(struct aod_flight_recorder *fr, const struct aod_event *ev)
{
	pthread_mutex_lock(&fr->lock);
	if (fr->count == fr->capacity) {
		fr->ring[fr->head] = *ev;
		fr->head = (fr->head + 1) % fr->capacity;
		fr->overwritten++;
	} else {
		fr->ring[(fr->head + fr->count) % fr->capacity] = *ev;
		fr->count++;
	}
	pthread_mutex_unlock(&fr->lock);
}

long aod_flight_recorder_copy(struct aod_flight_recorder *fr, uint64_t from_mono,
			      uint64_t to_mono, struct aod_event **out)
{
	uint64_t oldest = to_mono > fr->span_ns ? to_mono - fr->span_ns : 0;
	struct aod_event *buf;
	long n = 0;

	*out = NULL;
	if (from_mono < oldest)
		from_mono = oldest;
	pthread_mutex_lock(&fr->lock);
	buf = fr->count ? malloc(fr->count * sizeof(*buf)) : NULL;
	if (fr->count && !buf) {
		pthread_mutex_unlock(&fr->lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < fr->count; i++) {
		const struct aod_event *ev = &fr->ring[(fr->head + i) % fr->capacity];

		if (ev->mono_ns >= from_mono && ev->mono_ns <= to_mono)
			buf[n++] = *ev;
	}
	pthread_mutex_unlock(&fr->lock);
	if (!n)
		free(buf);
	else
		*out = buf;
	return n;
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
