/* SPDX-License-Identifier: MIT */
/*
 * The hand-off from detector to collector: a bounded FIFO of anomalies.
 * A full queue drops the new anomaly and counts it (never blocks the
 * detector). Thread-safe; any number of producers and consumers.
 */
#ifndef AOD_AGENT_ANOMALY_QUEUE_H
#define AOD_AGENT_ANOMALY_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "detect/anomaly.h"

struct aod_anomaly_queue;

struct aod_anomaly_queue *aod_anomaly_queue_new(unsigned capacity);
void aod_anomaly_queue_free(struct aod_anomaly_queue *q);

/* Returns 0, or -ENOSPC if full (counted as an overflow), -EPIPE if closed. */
int aod_anomaly_queue_push(struct aod_anomaly_queue *q, const struct aod_anomaly *a);

/*
 * Pop the oldest anomaly, waiting up to timeout_ms (-1 = forever).
 * Returns 0, -ETIMEDOUT, or -EPIPE once closed and empty.
 */
int aod_anomaly_queue_pop(struct aod_anomaly_queue *q, struct aod_anomaly *out, int timeout_ms);

/* Wake every waiter; later pushes fail with -EPIPE. */
void aod_anomaly_queue_close(struct aod_anomaly_queue *q);

uint64_t aod_anomaly_queue_overflows(const struct aod_anomaly_queue *q);
unsigned aod_anomaly_queue_depth(const struct aod_anomaly_queue *q);

#endif /* AOD_AGENT_ANOMALY_QUEUE_H */
