/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The TCP probe's types, shared by src/bpf/tcp.bpf.c and user space
 * (src/probe/tcp_probe.c, the exporter API in probes.h): histogram keys
 * and values, counter indexes, knobs. The ring records' payload (struct
 * aod_raw_tcp) is in events.h with the other probes'. docs/tcp.md defines
 * every aggregate. Include after <linux/types.h> (user
 * space) or vmlinux.h (BPF).
 */
#ifndef AOD_BPF_TCP_H
#define AOD_BPF_TCP_H

#include "events.h" /* struct aod_hist, struct aod_raw_tcp */

#define AOD_TCP_PORTS_MAX 64      /* keys per histogram map, "other" included */
#define AOD_TCP_PORT_OTHER 0      /* the key every port beyond the cap goes to */
#define AOD_TCP_INFLIGHT_MAX 16384 /* connects in SYN_SENT at once */
#define AOD_TCP_THRESH_PORTS_MAX 64 /* ports with their own connect threshold */
#define AOD_TCP_CLAMP_BYTES (32 * 1024) /* rcv_ssthresh below this: a window clamp */

/* The histogram maps (one per aggregate), keyed by a port. */
enum aod_tcp_hist_kind {
	AOD_TCP_HIST_CONNECT = 0, /* active opens by remote port */
	AOD_TCP_HIST_ACCEPT = 1,  /* passive opens by local port */
	AOD_TCP_HIST_RTT = 2,     /* srtt samples by service port (the lower of the two) */
	AOD_TCP_NHISTS = 3,
};

/* A log2(usec) histogram (struct aod_hist, events.h) and the sum of what
 * went into it, so that an exporter can give a Prometheus _sum. */
struct aod_tcp_hist {
	struct aod_hist hist;
	__u64 sum_ns;
};

/* Per-CPU TCP counters (array index). */
enum aod_tcp_counter {
	AOD_TCP_CNT_CONNECTS = 0,        /* SYN_SENT -> ESTABLISHED */
	AOD_TCP_CNT_CONNECT_FAILS = 1,   /* SYN_SENT -> CLOSE */
	AOD_TCP_CNT_ACCEPTS = 2,         /* SYN_RECV -> ESTABLISHED */
	AOD_TCP_CNT_RETRANS_SEGS = 3,    /* segments: tcp_retransmit_skb pcount + SYN-ACKs */
	AOD_TCP_CNT_RETRANS_SYNACK = 4,  /* of which SYN-ACK retransmits */
	AOD_TCP_CNT_RESETS_SENT = 5,
	AOD_TCP_CNT_RESETS_RECEIVED = 6,
	AOD_TCP_CNT_WINDOW_CLAMPS = 7,
	AOD_TCP_CNT_KEY_OVERFLOW = 8,    /* samples that went to the "other" port key */
	AOD_TCP_CNT_MAX = 9,
};

/* Which hook counts window clamps (user space picks one before load). */
enum aod_tcp_clamp_hook {
	AOD_TCP_CLAMP_NONE = 0,
	AOD_TCP_CLAMP_TP = 1,     /* tcp:tcp_rcvbuf_grow (in 6.18, not 6.1), same flavour as the mode */
	AOD_TCP_CLAMP_FENTRY = 2, /* fexit tcp_try_rmem_schedule */
	AOD_TCP_CLAMP_KPROBE = 3, /* kprobe + kretprobe tcp_try_rmem_schedule */
};

/* Knobs (single-entry array), written at start and on reload. */
struct aod_tcp_knobs {
	__u64 connect_threshold_ns; /* ports without their own: AOD_THRESH_OFF = no event */
	__u64 emergency_ns;         /* a connect this slow is sent with a forced wakeup */
	__u32 enabled_retrans;      /* a tcpretrans rule exists: one record per retransmit */
	__u32 enabled_reset;        /* a tcpreset rule exists: one record per reset */
};

/* A connect in SYN_SENT (key: the socket's address). */
struct aod_tcp_start {
	__u64 ts_ns;       /* bpf_ktime_get_ns() at SYN_SENT; must stay first */
	__u32 pid;
	__u32 tgid;
	char comm[16];
};

#endif /* AOD_BPF_TCP_H */
