/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * log2 histogram slots, shared by the BPF programs (which fill the
 * histograms) and user space (which prints them and estimates
 * percentiles), so both sides agree on every bucket boundary.
 *
 * Slot of a value v (microseconds), as in libbpf-tools:
 *   slot 0 holds 0..1, slot i >= 1 holds [2^i, 2^(i+1) - 1],
 *   the last slot (AOD_HIST_SLOTS - 1) also holds everything above.
 * Plain shifts and compares: the BPF backend has no count-leading-zeros.
 */
#ifndef AOD_BPF_HIST_BPF_H
#define AOD_BPF_HIST_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "events.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

static __always_inline __u32 aod_log2_u32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 aod_log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	if (hi)
		return aod_log2_u32(hi) + 32;
	return aod_log2_u32((__u32)v);
}

/* Histogram slot for a latency in microseconds, clamped to the last slot. */
static __always_inline __u32 aod_hist_slot(__u64 usec)
{
	__u32 slot = aod_log2_u64(usec);

	return slot < AOD_HIST_SLOTS ? slot : AOD_HIST_SLOTS - 1;
}

#endif /* AOD_BPF_HIST_BPF_H */
