/* SPDX-License-Identifier: MIT */
/*
 * A bounded FIFO of fixed-size items between threads: any number push,
 * one pops (waiting up to a deadline). A push never blocks: what does not
 * fit is refused and counted, and the pusher decides what that means.
 * Items are copied in and out with memcpy.
 */
#ifndef AOD_COMMON_BQUEUE_H
#define AOD_COMMON_BQUEUE_H

#include <stddef.h>
#include <stdint.h>

struct aod_bqueue;

struct aod_bqueue *aod_bqueue_new(size_t capacity, size_t item_size);
void aod_bqueue_free(struct aod_bqueue *q);

/* Append up to n items and wake the consumer. Returns how many were taken
 * (the rest, n minus that, are counted as overflows). */
size_t aod_bqueue_push(struct aod_bqueue *q, const void *items, size_t n);

/* Move up to max items into out, waiting until deadline_mono_ns (absolute,
 * CLOCK_MONOTONIC) while empty. Returns the number moved (0 on timeout or
 * after aod_bqueue_wake()). */
size_t aod_bqueue_pop(struct aod_bqueue *q, void *out, size_t max, uint64_t deadline_mono_ns);

/* Make a waiting pop return now. */
void aod_bqueue_wake(struct aod_bqueue *q);

uint64_t aod_bqueue_overflows(struct aod_bqueue *q);
size_t aod_bqueue_depth(struct aod_bqueue *q);

#endif /* AOD_COMMON_BQUEUE_H */
