// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Block I/O latency and errors: block_rq_issue -> block_rq_complete.
 *
 * Every completion goes into a log2 histogram per (device, op); only
 * requests at or over their device's threshold and failed requests are sent
 * to user space. tp_btf is preferred; raw_tp programs (same arguments) are
 * the fallback where tp_btf cannot attach.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"
#include "common.bpf.h"
#include "hist.bpf.h"
#include "inflight.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern int LINUX_KERNEL_VERSION __kconfig;

#define AOD_BLK_DEVS_MAX 256
#define AOD_BLK_HIST_MAX 1024
#define MINORBITS 20
#define REQ_OP_MASK_AOD 0xff /* (1 << REQ_OP_BITS) - 1 since 4.10 */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_BLK_INFLIGHT_MAX);
	__type(key, __u64); /* struct request * */
	__type(value, struct aod_blk_start);
} blk_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_BLK_HIST_MAX);
	__type(key, struct aod_blk_hist_key);
	__type(value, struct aod_hist);
} blk_hist SEC(".maps");

/* Knobs: written by user space at start and on reload. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_BLK_DEVS_MAX);
	__type(key, __u32);   /* dev_t, major << 20 | minor */
	__type(value, __u64); /* ns, AOD_THRESH_OFF: never slow */
} blk_dev_thresh SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aod_blk_knobs);
} blk_knobs SEC(".maps");

static const struct aod_hist zero_hist;

/* Before 5.16 (commit f3fa33acca9f) the disk was rq->rq_disk; since then
 * it is rq->q->disk. */
struct request_queue___aod {
	struct gendisk *disk;
} __attribute__((preserve_access_index));

struct request___aod {
	struct request_queue___aod *q;
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

/*
 * Reads of the request. `direct` is a constant of each program: tp_btf
 * arguments are BTF-typed pointers, so their fields are plain loads (the
 * verifier makes them fault-safe), where raw_tp needs a bpf_probe_read
 * helper call per field; at a few hundred thousand requests per second the
 * difference is measurable (make bench: block probe cost).
 */
#define RQ_READ(direct, p, f) ((direct) ? (p)->f : BPF_CORE_READ(p, f))

static __always_inline __u32 rq_dev(struct request *rq, const bool direct)
{
	struct request___aod *r = (void *)rq;
	struct gendisk *disk;

	if (bpf_core_field_exists(r->rq_disk)) {
		disk = RQ_READ(direct, r, rq_disk);
	} else if (direct) {
		struct request_queue___aod *q = r->q;

		disk = q ? q->disk : NULL;
	} else {
		disk = BPF_CORE_READ(r, q, disk);
	}
	if (!disk)
		return 0;
	return ((__u32)RQ_READ(direct, disk, major) << MINORBITS) |
	       (__u32)RQ_READ(direct, disk, first_minor);
}

static __always_inline __u32 rq_op(struct request *rq, const bool direct)
{
	switch (RQ_READ(direct, rq, cmd_flags) & REQ_OP_MASK_AOD) {
	case 0: return AOD_BLK_READ;
	case 1: return AOD_BLK_WRITE;
	case 2: return AOD_BLK_FLUSH;
	case 3: return AOD_BLK_DISCARD;
	default: return AOD_BLK_OTHER;
	}
}

/*
 * blk_status_t -> negative errno, as blk_status_to_errno() does. Codes
 * 0..13 never moved; 6.9 removed BLK_STS_ZONE_RESOURCE (14), which shifted
 * the codes after it down by one. Unknown codes are -EIO, as in the kernel.
 */
static __always_inline __s32 blk_sts_to_errno(__u32 sts)
{
	bool new_layout = LINUX_KERNEL_VERSION >= KERNEL_VERSION(6, 9, 0);

	switch (sts) {
	case 0: return 0;
	case 1: return -95;  /* NOTSUPP: EOPNOTSUPP */
	case 2: return -110; /* TIMEOUT: ETIMEDOUT */
	case 3: return -28;  /* NOSPC: ENOSPC */
	case 4: return -67;  /* TRANSPORT: ENOLINK */
	case 5: return -121; /* TARGET: EREMOTEIO */
	case 6: return -52;  /* RESV_CONFLICT (NEXUS): EBADE */
	case 7: return -61;  /* MEDIUM: ENODATA */
	case 8: return -84;  /* PROTECTION: EILSEQ */
	case 9: return -12;  /* RESOURCE: ENOMEM */
	case 10: return -5;  /* IOERR: EIO */
	case 11: return -78; /* DM_REQUEUE: EREMCHG */
	case 12: return -11; /* AGAIN: EAGAIN */
	case 13: return -16; /* DEV_RESOURCE: EBUSY */
	}
	if (new_layout) {
		switch (sts) {
		case 14: return -109; /* ZONE_OPEN_RESOURCE: ETOOMANYREFS */
		case 15: return -75;  /* ZONE_ACTIVE_RESOURCE: EOVERFLOW */
		case 16: return -19;  /* OFFLINE: ENODEV */
		case 17: return -62;  /* DURATION_LIMIT: ETIME */
		case 19: return -22;  /* INVAL: EINVAL */
		}
	} else {
		switch (sts) {
		case 14: return -16;  /* ZONE_RESOURCE: EBUSY */
		case 15: return -109; /* ZONE_OPEN_RESOURCE: ETOOMANYREFS */
		case 16: return -75;  /* ZONE_ACTIVE_RESOURCE: EOVERFLOW */
		case 17: return -19;  /* OFFLINE: ENODEV */
		case 18: return -62;  /* DURATION_LIMIT: ETIME */
		}
	}
	return -5;
}

static __always_inline int blk_issue(struct request *rq, const bool direct)
{
	__u64 key = (__u64)rq, id = bpf_get_current_pid_tgid();
	struct aod_blk_start start = {};

	start.ts_ns = bpf_ktime_get_ns();
	start.pid = (__u32)id;
	start.tgid = id >> 32;
	/* read once here, not at completion: user space needs them to name
	 * a request that never completes */
	start.dev = rq_dev(rq, direct);
	start.op = rq_op(rq, direct);
	start.sector = RQ_READ(direct, rq, __sector);
	start.bytes = RQ_READ(direct, rq, __data_len);
	bpf_get_current_comm(start.comm, sizeof(start.comm));
	if (bpf_map_update_elem(&blk_inflight, &key, &start, BPF_ANY))
		cnt_inc(AOD_CNT_INFLIGHT_FULL);
	return 0;
}

static __always_inline void hist_add(__u32 dev, __u32 op, __u64 latency_ns)
{
	struct aod_blk_hist_key hk = { .dev = dev, .op = op };
	struct aod_hist *h;

	h = bpf_map_lookup_elem(&blk_hist, &hk);
	if (!h) {
		bpf_map_update_elem(&blk_hist, &hk, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&blk_hist, &hk);
		if (!h) {
			cnt_inc(AOD_CNT_HIST_FULL);
			return;
		}
	}
	hist_inc(h, latency_ns);
}

static __always_inline void emit(__u32 kind, const struct aod_blk_start *s,
				 __u32 bytes, __u64 now, __u64 latency,
				 __s32 error, bool emergency)
{
	struct aod_raw_event *e = ev_reserve(kind);

	if (!e)
		return;
	e->h.pid = s->pid;
	e->h.tgid = s->tgid;
	e->h.ts_ns = now;
	__builtin_memcpy(e->h.comm, s->comm, sizeof(e->h.comm));
	e->blk.sector = s->sector;
	e->blk.latency_ns = latency;
	e->blk.dev = s->dev;
	e->blk.bytes = bytes;
	e->blk.error = error;
	e->blk.op = s->op;
	ev_submit(e, emergency);
}

static __always_inline int blk_complete(struct request *rq, __u32 sts,
					__u32 nr_bytes, const bool direct)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns(), latency = 0, id;
	struct aod_blk_start start = {};
	struct aod_blk_start *sp;
	struct aod_blk_knobs *k;
	__u32 zero = 0;
	__s32 error = 0;
	bool seen = false;
	__u64 *th, thresh;

	if (sts)
		error = blk_sts_to_errno(sts);
	k = bpf_map_lookup_elem(&blk_knobs, &zero);
	sp = bpf_map_lookup_elem(&blk_inflight, &key);
	if (sp) {
		start = *sp; /* copy before delete */
		bpf_map_delete_elem(&blk_inflight, &key);
		seen = true;
		latency = now - start.ts_ns;
	} else {
		cnt_inc(AOD_CNT_UNMATCHED);
		if (!error && !(k && k->late_watch))
			return 0;
		id = bpf_get_current_pid_tgid();
		start.pid = (__u32)id;
		start.tgid = id >> 32;
		start.dev = rq_dev(rq, direct);
		start.op = rq_op(rq, direct);
		start.sector = RQ_READ(direct, rq, __sector);
		bpf_get_current_comm(start.comm, sizeof(start.comm));
		if (!error) {
			/* user space may hold this request, expired while it hung */
			emit(AOD_RAW_BLK_UNMATCHED, &start, nr_bytes, now, 0, 0, false);
			return 0;
		}
	}
	cnt_inc(AOD_CNT_OPS);
	if (seen)
		hist_add(start.dev, start.op, latency);

	if (!k)
		return 0;
	if (seen) {
		th = bpf_map_lookup_elem(&blk_dev_thresh, &start.dev);
		thresh = th ? *th : k->default_threshold_ns;
		if (thresh != AOD_THRESH_OFF && latency >= thresh)
			emit(AOD_RAW_BLK_SLOW, &start, nr_bytes, now, latency, 0,
			     latency >= k->emergency_ns);
	}
	if (error && (k->enabled_err || (!seen && k->late_watch)))
		emit(AOD_RAW_BLK_ERR, &start, nr_bytes, now, latency, error, false);
	return 0;
}

/*
 * block_rq_issue: TP_PROTO(struct request *rq) since 5.11 (commit
 * a54895fa057c), (struct request_queue *q, struct request *rq) before.
 * block_rq_complete: TP_PROTO(struct request *rq, blk_status_t error,
 * unsigned int nr_bytes).
 */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(aod_blk_iss_bt)
{
	if (LINUX_KERNEL_VERSION < KERNEL_VERSION(5, 11, 0))
		return blk_issue((void *)ctx[1], true);
	return blk_issue((void *)ctx[0], true);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(aod_blk_done_bt, struct request *rq, blk_status_t error,
	     unsigned int nr_bytes)
{
	return blk_complete(rq, error, nr_bytes, true);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(aod_blk_iss_rt)
{
	if (LINUX_KERNEL_VERSION < KERNEL_VERSION(5, 11, 0))
		return blk_issue((void *)ctx[1], false);
	return blk_issue((void *)ctx[0], false);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(aod_blk_done_rt, struct request *rq, blk_status_t error,
	     unsigned int nr_bytes)
{
	return blk_complete(rq, error, nr_bytes, false);
}
