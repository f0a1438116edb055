/* SPDX-License-Identifier: MIT */
/*
 * The store writer: the agent's one connection to its event store
 * (src/store), on a thread of its own, so that a slow or full disk never
 * stalls the ring-buffer consumer. Producers hand records over through a
 * bounded queue and never wait:
 *   dispatcher  every decoded event of a poll, as one batch
 *   detector    each anomaly
 *   collector   each bundle, written or failed
 *   process probe (to come) process records: aod_store_writer_push()
 * The writer also records probe state changes (it polls the probes once a
 * second). Records go in batched transactions, one at least every
 * store.batch_ms. Retention (store.max_mb, store.max_age_days) runs here.
 *
 * Nothing is lost silently: a full queue, a failed transaction (a full
 * disk, an I/O error) and a store that cannot be opened are counted as
 * lost, by cause, in `aod status`; a write failure is logged once, and
 * once more when writing works again.
 *
 * Every producer call accepts w == NULL and a disabled store (no-ops).
 */
#ifndef AOD_AGENT_STORE_WRITER_H
#define AOD_AGENT_STORE_WRITER_H

#include <jansson.h>
#include <stdbool.h>

#include "detect/anomaly.h"
#include "detect/event.h"
#include "store/store_queue.h"

struct aod_agent;
struct aod_store_writer;

/* Reads agent->cfg (store section). NULL only when out of memory. */
struct aod_store_writer *aod_store_writer_new(struct aod_agent *agent);
void aod_store_writer_free(struct aod_store_writer *w);

/* The worker body (thread "StoreWriter"). */
int aod_store_writer_main(struct aod_agent *agent);
/* Every producer has stopped: write what is queued, end the run, close.
 * The writer's main returns after that. */
void aod_store_writer_finish(struct aod_store_writer *w);

void aod_store_writer_events(struct aod_store_writer *w, const struct aod_event *evs, size_t n);
void aod_store_writer_anomaly(struct aod_store_writer *w, const struct aod_anomaly *a);
/* path NULL and err < 0 for a failed bundle; partial: cut short by a stop. */
void aod_store_writer_bundle(struct aod_store_writer *w, const struct aod_anomaly *a,
			     const char *path, uint64_t size, bool partial, int err);
/* Any record (ownership passes; released if it cannot be queued). */
int aod_store_writer_push(struct aod_store_writer *w, struct aod_store_rec *rec);

/* written and events_written count committed records only; lost =
 * queue_overflows (dropped at the hand-off) + write_lost (failed writes, a
 * store that could not open).
 * {"enabled", "state", "path", "run_id", "written", "events_written", "lost",
 *  "queue_overflows", "write_lost", "write_errors", "batches", "queue_depth",
 *  "bytes", "max_bytes", "retention_deleted", "last_error"} */
json_t *aod_store_writer_status_json(struct aod_store_writer *w);

#endif /* AOD_AGENT_STORE_WRITER_H */
