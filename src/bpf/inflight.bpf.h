/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Keys and values of the in-flight maps (start of an operation waiting
 * for its completion). Shared with user space, which sweeps entries that
 * never completed: every value starts with its start time.
 */
#ifndef AOD_BPF_INFLIGHT_BPF_H
#define AOD_BPF_INFLIGHT_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "events.h"

#define AOD_SMB_INFLIGHT_MAX 16384
#define AOD_BLK_INFLIGHT_MAX 16384

/* An SMB command in flight: (session id, message id) is unique per
 * connection; tid is not used (a done event may carry tid 0). */
struct aod_smb_key {
	__u64 sesid;
	__u64 mid;
};

struct aod_smb_start {
	__u64 ts_ns;       /* bpf_ktime_get_ns() at enter; must stay first */
	__u32 pid;         /* issuer, at enter: done may run in cifsd */
	__u32 tgid;
	__u32 tid;         /* tree id seen at enter */
	__u16 cmd;
	__u16 pad;
	char comm[AOD_COMM_LEN];
};

/* A block request in flight, keyed by its struct request pointer (never
 * shown to anyone: user space identifies a request by dev and sector). */
struct aod_blk_start {
	__u64 ts_ns;       /* bpf_ktime_get_ns() at issue; must stay first */
	__u64 sector;      /* at issue */
	__u32 pid;         /* task that issued it (may be a kworker) */
	__u32 tgid;
	__u32 dev;         /* kernel dev_t, at issue */
	__u32 op;          /* enum aod_blk_op */
	__u32 bytes;       /* at issue */
	__u32 pad;
	char comm[AOD_COMM_LEN];
};

#endif /* AOD_BPF_INFLIGHT_BPF_H */
