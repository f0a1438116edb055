/* SPDX-License-Identifier: MIT */
/*
 * Ops user space watches beyond what the kernel's in-flight map says:
 *  - STUCK: reported stuck by a sweep (once per op); its completion, when it
 *    comes, is flagged AOD_RAWF_WAS_STUCK so no rule counts it twice;
 *  - EXPIRED: deleted from the kernel map after the in-flight timeout (a
 *    hung server); its start is kept here so that a completion arriving
 *    later is still measured (AOD_RAWF_LATE).
 * An op is named by an identity both sides can compute: SMB (session id,
 * message id), block (dev_t, sector), plus its start time.
 *
 * Open addressing with linear probing and backward-shift deletion; the
 * table starts small and doubles up to a cap (an old EXPIRED entry makes
 * room when it is full). Single-threaded: the probes' poll thread only.
 */
#ifndef AOD_PROBE_TRACKED_H
#define AOD_PROBE_TRACKED_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/events.h"

#define AOD_TRACKED_STUCK 0x1    /* reported stuck, still in the kernel map */
#define AOD_TRACKED_EXPIRED 0x2  /* gone from the kernel map, not completed */
#define AOD_TRACKED_REPORTED 0x4 /* was reported stuck (kept when it expires) */

struct aod_op_id {
	uint64_t a, b;     /* SMB: sesid, mid; block: dev, sector */
	uint64_t start_ns; /* bpf_ktime_get_ns() at enter/issue */
};

struct aod_tracked_op {
	struct aod_op_id id;
	uint32_t state;             /* AOD_TRACKED_*; 0: free slot */
	uint64_t last_seen_ns;      /* STUCK: last sweep that saw it in the kernel map */
	struct aod_raw_event start; /* issuer and fields, as a stuck record would carry */
};

struct aod_tracked {
	size_t cap, n, nexpired, max;
	struct aod_tracked_op *slots;
	uint64_t evicted; /* EXPIRED entries dropped to make room (their late completion is lost) */
};

void aod_tracked_init(struct aod_tracked *t, size_t max);
void aod_tracked_free(struct aod_tracked *t);

struct aod_tracked_op *aod_tracked_find(struct aod_tracked *t, uint64_t a, uint64_t b);
/* Insert (a, b); an entry already there is returned as is. NULL: out of
 * memory, or full of STUCK entries. */
struct aod_tracked_op *aod_tracked_insert(struct aod_tracked *t, const struct aod_op_id *id,
					  const struct aod_raw_event *start, uint32_t state);
void aod_tracked_remove(struct aod_tracked *t, struct aod_tracked_op *op);
/* Mark op expired (counted in nexpired). */
void aod_tracked_expire(struct aod_tracked *t, struct aod_tracked_op *op);
/* Drop STUCK entries not seen since before cutoff_ns (they completed). */
void aod_tracked_forget_unseen(struct aod_tracked *t, uint64_t cutoff_ns);

#endif /* AOD_PROBE_TRACKED_H */
