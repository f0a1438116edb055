/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Keys of knob maps that user space fills from the config (beyond the
 * structs in events.h).
 */
#ifndef AOD_BPF_KNOBS_BPF_H
#define AOD_BPF_KNOBS_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define AOD_SMB_VERDICT_MAX 1024      /* status map, rc map */
#define AOD_SMB_PAIR_VERDICT_MAX 4096 /* (status, rc) exceptions */

/* An SMB error verdict for one (status, rc) pair, looked up before the
 * status map: the exception where a status's verdict depends on rc. */
struct aod_smb_err_key {
	__u32 status;
	__s32 rc;
};

#endif /* AOD_BPF_KNOBS_BPF_H */
