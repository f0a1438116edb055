// SPDX-License-Identifier: MIT
/* The ops user space watches in flight: stuck reports, expired entries (tracked.h). */
#include "probe/tracked.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_CAP 64

static size_t hash_id(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x7F4A7C159E3779B9ULL + (a << 6) + (a >> 2));

	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	return (size_t)h;
}

void aod_tracked_init(struct aod_tracked *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max < INITIAL_CAP ? INITIAL_CAP : max;
}

void aod_tracked_free(struct aod_tracked *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static struct aod_tracked_op *slot_of(struct aod_tracked *t, uint64_t a, uint64_t b)
{
	size_t mask = t->cap - 1, i = hash_id(a, b) & mask;

	while (t->slots[i].state && !(t->slots[i].id.a == a && t->slots[i].id.b == b))
		i = (i + 1) & mask;
	return &t->slots[i];
}

struct aod_tracked_op *aod_tracked_find(struct aod_tracked *t, uint64_t a, uint64_t b)
{
	struct aod_tracked_op *op;

	if (!t->n)
		return NULL;
	op = slot_of(t, a, b);
	return op->state ? op : NULL;
}

static int grow(struct aod_tracked *t)
{
	size_t cap = t->cap ? t->cap * 2 : INITIAL_CAP;
	struct aod_tracked_op *old = t->slots, *slots = calloc(cap, sizeof(*slots));
	size_t oldcap = t->cap;

	if (!slots)
		return -1;
	t->slots = slots;
	t->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].state)
			*slot_of(t, old[i].id.a, old[i].id.b) = old[i];
	free(old);
	return 0;
}

/* Full at max: the oldest EXPIRED entry goes (its completion will not be measured). */
static bool evict_oldest_expired(struct aod_tracked *t)
{
	struct aod_tracked_op *oldest = NULL;

	for (size_t i = 0; i < t->cap; i++)
		if ((t->slots[i].state & AOD_TRACKED_EXPIRED) &&
		    (!oldest || t->slots[i].id.start_ns < oldest->id.start_ns))
			oldest = &t->slots[i];
	if (!oldest)
		return false;
	aod_tracked_remove(t, oldest);
	t->evicted++;
	return true;
}

struct aod_tracked_op *aod_tracked_insert(struct aod_tracked *t, const struct aod_op_id *id,
					  const struct aod_raw_event *start, uint32_t state)
{
	struct aod_tracked_op *op = aod_tracked_find(t, id->a, id->b);

	if (op)
		return op;
	/* keep the load at or under a half: probes stay short */
	if ((t->n + 1) * 2 > t->cap) {
		if (t->cap < 2 * t->max) {
			if (grow(t))
				return NULL;
		} else if (!evict_oldest_expired(t)) {
			return NULL;
		}
	}
	op = slot_of(t, id->a, id->b);
	memset(op, 0, sizeof(*op));
	op->id = *id;
	op->state = state;
	op->start = *start;
	t->n++;
	if (state & AOD_TRACKED_EXPIRED)
		t->nexpired++;
	return op;
}

/* Backward-shift deletion: no tombstones, probe chains stay intact. */
void aod_tracked_remove(struct aod_tracked *t, struct aod_tracked_op *op)
{
	size_t mask = t->cap - 1, i = (size_t)(op - t->slots), j = i;

	if (op->state & AOD_TRACKED_EXPIRED)
		t->nexpired--;
	t->n--;
	op->state = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!t->slots[j].state)
			break;
		home = hash_id(t->slots[j].id.a, t->slots[j].id.b) & mask;
		/* slot j may move to i if its home is not in (i, j] (cyclically) */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->slots[i] = t->slots[j];
			t->slots[j].state = 0;
			i = j;
		}
	}
}

void aod_tracked_expire(struct aod_tracked *t, struct aod_tracked_op *op)
{
	if (op->state & AOD_TRACKED_EXPIRED)
		return;
	if (op->state & AOD_TRACKED_STUCK)
		op->state = AOD_TRACKED_REPORTED;
	op->state |= AOD_TRACKED_EXPIRED;
	t->nexpired++;
}

void aod_tracked_forget_unseen(struct aod_tracked *t, uint64_t cutoff_ns)
{
	for (size_t i = 0; i < t->cap;) {
		struct aod_tracked_op *op = &t->slots[i];

		/* removal may shift a later entry into slot i: look at i again */
		if ((op->state & AOD_TRACKED_STUCK) && op->last_seen_ns < cutoff_ns)
			aod_tracked_remove(t, op);
		else
			i++;
	}
}
