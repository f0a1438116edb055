/* SPDX-License-Identifier: MIT */
/*
 * Producers -> store writer: a bounded FIFO of records (events from the
 * dispatcher, anomalies from the detector, bundles from the collector,
 * process records from the process probe). Many threads push, one pops.
 * A push never blocks: when the queue is full the record is dropped,
 * counted, and its heap parts freed, so a slow disk can never stall the
 * ring-buffer consumer.
 *
 * A record owns its heap parts (the anomaly copy, strings of bundles and
 * processes): aod_store_rec_release() frees them, after writing or when
 * dropped.
 */
#ifndef AOD_STORE_STORE_QUEUE_H
#define AOD_STORE_STORE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum aod_store_rec_kind {
	AOD_STORE_REC_EVENT = 1,
	AOD_STORE_REC_ANOMALY,
	AOD_STORE_REC_BUNDLE,
	AOD_STORE_REC_PROC_START,
	AOD_STORE_REC_PROC_EXEC,
	AOD_STORE_REC_PROC_EXIT,
	AOD_STORE_REC_PROC_OOM,
	AOD_STORE_REC_EXEC_FAILED,
};

struct aod_store_rec {
	enum aod_store_rec_kind kind;
	union {
		struct aod_event event;
		struct aod_anomaly *anomaly;          /* malloc'd copy */
		struct aod_store_bundle bundle;       /* rule, path, error malloc'd */
		struct aod_store_proc proc;           /* unit, filename, cwd, argv malloc'd */
		struct aod_store_proc_exit proc_exit;
		struct aod_proc_id proc_oom;
		struct aod_store_exec_failed exec_failed; /* filename malloc'd */
	};
};

/* Free the heap parts of rec (not rec itself). */
void aod_store_rec_release(struct aod_store_rec *rec);

/* Copies for records: deep copies whose strings the record owns. 0 or -ENOMEM
 * (nothing to release then). */
int aod_store_rec_anomaly(struct aod_store_rec *rec, const struct aod_anomaly *a);
int aod_store_rec_bundle(struct aod_store_rec *rec, const struct aod_store_bundle *b);
int aod_store_rec_proc(struct aod_store_rec *rec, enum aod_store_rec_kind kind,
		       const struct aod_store_proc *p);
/* A process probe record (struct aod_proc_event, probe/proc_probe.h) as a
 * store record (store_proc.c): fork or seed -> PROC_START, exec, exit, a
 * failed exec -> EXEC_FAILED.
 * 0; 1 for nothing to store (the exit of a filtered process: its fork row,
 * if written, stays without an exit); -ENOMEM or -EINVAL (an unknown kind). */
struct aod_proc_event;
int aod_store_rec_from_proc(struct aod_store_rec *rec, const struct aod_proc_event *ev);

/* Write one record (inside the caller's transaction, if any). share: the
 * SMB share name of an SMB event, NULL if unknown. 0 or -errno. */
int aod_store_write_rec(struct aod_store *st, int64_t run_id, const struct aod_store_rec *rec,
			const char *share);

struct aod_store_queue;

struct aod_store_queue *aod_store_queue_new(size_t capacity);
void aod_store_queue_free(struct aod_store_queue *q); /* releases what is left */

/* Take ownership of rec (copied in). Full: release it, count it, -ENOSPC. */
int aod_store_queue_push(struct aod_store_queue *q, struct aod_store_rec *rec);
/* Events of one dispatcher batch; returns how many were dropped. */
size_t aod_store_queue_push_events(struct aod_store_queue *q, const struct aod_event *evs,
				   size_t n);

/* Move up to max records to out, waiting until deadline_mono_ns if empty.
 * The caller owns (and must release) what it got. */
size_t aod_store_queue_pop(struct aod_store_queue *q, struct aod_store_rec *out, size_t max,
			   uint64_t deadline_mono_ns);
void aod_store_queue_wake(struct aod_store_queue *q);

uint64_t aod_store_queue_overflows(struct aod_store_queue *q);
size_t aod_store_queue_depth(struct aod_store_queue *q);

#endif /* AOD_STORE_STORE_QUEUE_H */
