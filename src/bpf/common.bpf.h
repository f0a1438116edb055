/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every aod probe object has: the event ring (one map shared by all
 * probes: user space creates it once and hands its fd to each object with
 * bpf_map__reuse_fd), the per-CPU counters (one array per object, so loss
 * is reported per probe) and the ring submit policy.
 *
 * Wakeups are batched: a record is submitted without waking the consumer
 * unless enough bytes are pending (wakeup_bytes) or the record is an
 * emergency; the consumer also polls with a short timeout, so a record
 * never waits longer than that. A wakeup per record costs an irq_work and
 * a context switch, which under an I/O storm was measured to halve IOPS.
 */
#ifndef AOD_BPF_COMMON_BPF_H
#define AOD_BPF_COMMON_BPF_H

#include "events.h"
#include "hist.bpf.h"

/* Set by user space before load. */
const volatile __u64 wakeup_bytes = 65536;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* replaced by the shared ring */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AOD_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void cnt_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1; /* per-CPU slot: no other writer */
}

static __always_inline struct aod_raw_event *ev_reserve(__u32 kind)
{
	struct aod_raw_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		cnt_inc(AOD_CNT_RB_DROPS);
		return NULL;
	}
	e->h.kind = kind;
	e->h.cpu = bpf_get_smp_processor_id();
	e->h.flags = 0;
	e->h.batch = 0;
	return e;
}

static __always_inline void ev_submit(struct aod_raw_event *e, bool emergency)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (emergency ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	cnt_inc(AOD_CNT_EVENTS);
}

/* The slot of a latency in a log2(usec) histogram, as an index the
 * verifier can bound. */
static __always_inline __u32 hist_index(__u64 latency_ns)
{
	__u32 slot = aod_hist_slot(latency_ns / 1000);

	if (slot >= AOD_HIST_SLOTS)
		slot = AOD_HIST_SLOTS - 1;
	/* The 6.1 verifier loses the bound when clang checks a copy of slot and
	 * indexes with the original (or drops the mask, knowing slot < 32):
	 * pin the register, then mask. */
	barrier_var(slot);
	return slot & (AOD_HIST_SLOTS - 1);
}

/* Count one latency in a log2(usec) histogram shared by the CPUs. */
static __always_inline void hist_inc(struct aod_hist *h, __u64 latency_ns)
{
	__sync_fetch_and_add(&h->slots[hist_index(latency_ns)], 1);
	__sync_fetch_and_add(&h->sum_ns, latency_ns);
}

#endif /* AOD_BPF_COMMON_BPF_H */
