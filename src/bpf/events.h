/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records shared by the BPF programs and user space. Fixed size, no
 * pointers: the ring buffer carries them verbatim and the dispatcher
 * decodes them into struct aod_event (src/detect/event.h).
 */
#ifndef AOD_BPF_EVENTS_H
#define AOD_BPF_EVENTS_H

#define AOD_COMM_LEN 16
#define AOD_SMB_NCMDS 20   /* SMB2 opcodes 0..19 */
#define AOD_HIST_SLOTS 32  /* log2(usec) buckets */
#define AOD_BLK_NOPS 5     /* read, write, flush, discard, other */

enum aod_raw_kind {
	AOD_RAW_SMB_SLOW = 1,  /* an SMB command at/over its threshold */
	AOD_RAW_SMB_ERR = 2,   /* an SMB command failed with a tracked status */
	AOD_RAW_BLK_SLOW = 3,  /* a block request at/over its device threshold */
	AOD_RAW_BLK_ERR = 4,   /* a block request completed with an error */
	AOD_RAW_SMB_RECONNECT = 5, /* the cifs client reconnects to a server */
	AOD_RAW_SMB_STUCK = 6,     /* user space only: the sweep found a command in flight */
	AOD_RAW_BLK_STUCK = 7,     /* user space only: ... a block request in flight */
	AOD_RAW_SMB_UNMATCHED = 8, /* a command completed without its enter in the map
				    * (sent only while user space holds expired entries) */
	AOD_RAW_BLK_UNMATCHED = 9, /* the same for a block request */
	AOD_RAW_TCP_CONNECT = 10,  /* an active open at/over its port's threshold */
	AOD_RAW_TCP_RETRANS = 11,  /* a retransmitted segment (a tcpretrans rule exists) */
	AOD_RAW_TCP_RESET = 12,    /* a reset sent or received (a tcpreset rule exists) */
};

/* aod_raw_hdr.flags: set by user space (BPF writes 0) before decoding. */
#define AOD_RAWF_WAS_STUCK 0x1 /* the op was reported stuck before it completed */
#define AOD_RAWF_LATE 0x2      /* matched after its in-flight entry expired */

enum aod_blk_op {
	AOD_BLK_READ = 0,
	AOD_BLK_WRITE = 1,
	AOD_BLK_FLUSH = 2,
	AOD_BLK_DISCARD = 3,
	AOD_BLK_OTHER = 4,
};

/* Per-probe loss and activity counters (per-CPU array, index = enum). */
enum aod_counter {
	AOD_CNT_OPS = 0,           /* completions seen */
	AOD_CNT_EVENTS = 1,        /* records submitted to the ring */
	AOD_CNT_RB_DROPS = 2,      /* ring buffer reserve failures */
	AOD_CNT_INFLIGHT_FULL = 3, /* in-flight map full at issue/enter */
	AOD_CNT_UNMATCHED = 4,     /* completion without a matching start */
	AOD_CNT_HIST_FULL = 5,     /* a keyed histogram/count map was full: sample not kept there */
	AOD_CNT_MAX = 6,
};

/* Verdicts for SMB error filtering, values of the status/rc maps. */
enum aod_err_verdict {
	AOD_ERR_UNSET = 0,
	AOD_ERR_TRACK = 1,
	AOD_ERR_IGNORE = 2,
};

struct aod_raw_hdr {
	__u32 kind;
	__u32 pid;      /* thread id of the issuer (at enter/issue) */
	__u32 tgid;     /* process id of the issuer */
	__u32 cpu;
	__u64 ts_ns;    /* bpf_ktime_get_ns() at completion (stuck: when found) */
	char comm[AOD_COMM_LEN];
	__u32 flags;    /* AOD_RAWF_*, 0 from BPF */
	__u32 batch;    /* stuck records: the sweep that found them, 0 from BPF */
};

struct aod_raw_smb {
	__u64 sesid;
	__u64 mid;
	__u64 latency_ns;  /* 0 if the enter was not seen; stuck: age when found */
	__u32 tid;
	__u32 status;      /* NTSTATUS, 0 for a slow op */
	__s32 rc;          /* errno as the cifs client mapped it, <= 0 */
	__u16 cmd;
	__u16 pad;
};

struct aod_raw_blk {
	__u64 sector;
	__u64 latency_ns;  /* 0 if the issue was not seen; stuck: age when found */
	__u32 dev;         /* kernel dev_t: major << 20 | minor */
	__u32 bytes;
	__s32 error;       /* negative errno, 0 for a slow op */
	__u32 op;          /* enum aod_blk_op */
};

#define AOD_SERVER_LEN 24

struct aod_raw_smb_conn {
	__u64 conn_id;     /* TCP_Server_Info conn_id */
	__u64 currmid;     /* next message id when the connection broke */
	char server[AOD_SERVER_LEN]; /* hostname, truncated */
};

/* Where a TCP reset record came from. */
enum aod_tcp_dir {
	AOD_TCP_DIR_SENT = 0,
	AOD_TCP_DIR_RECEIVED = 1,
};

/*
 * The payload of AOD_RAW_TCP_* records (src/bpf/tcp.h has the rest of the
 * TCP probe's types). Addresses in network order, 16 bytes (IPv4 in the
 * first 4); ports in host order. "local" and "remote" are the socket's; for
 * a reset sent without a socket (a segment to a closed port) local is where
 * the segment went and remote where it came from.
 */
struct aod_raw_tcp {
	__u8 laddr[16];
	__u8 raddr[16];
	__u64 latency_ns;  /* connect: SYN_SENT -> ESTABLISHED; 0 otherwise */
	__u16 lport;
	__u16 rport;
	__u16 family;      /* AF_INET, AF_INET6 */
	__u8 state;        /* the socket's TCP state (retransmit, reset); 0 if none */
	__u8 dir;          /* enum aod_tcp_dir (resets) */
	__u32 segs;        /* retransmit: segments; 0 otherwise */
	__u32 pad;
};

struct aod_raw_event {
	struct aod_raw_hdr h;
	union {
		struct aod_raw_smb smb;
		struct aod_raw_blk blk;
		struct aod_raw_smb_conn conn;
		struct aod_raw_tcp tcp;
	};
};

/* A log2(usec) histogram and the exact sum (ns) of what went into it. */
struct aod_hist {
	__u64 slots[AOD_HIST_SLOTS];
	__u64 sum_ns;
};

/* SMB histograms per share: (session, tree id, command). */
#define AOD_SMB_SHARE_HISTS_MAX 1024
struct aod_smb_share_key {
	__u64 sesid;
	__u32 tid;
	__u32 cmd;
};

/* SMB error counts per (session, tree id, command, NTSTATUS). */
#define AOD_SMB_ERR_COUNTS_MAX 1024
struct aod_smb_errcnt_key {
	__u64 sesid;
	__u32 tid;
	__u32 cmd;
	__u32 status;
	__u32 pad;
};

struct aod_blk_hist_key {
	__u32 dev;
	__u32 op;
};

/* Knobs the agent writes at start and on SIGHUP (single-entry arrays). */
struct aod_smb_knobs {
	__u32 err_default;  /* enum aod_err_verdict for unlisted status/rc */
	__u32 enabled_slow; /* a latency rule exists */
	__u32 enabled_err;  /* an error rule exists */
	__u32 late_watch;   /* user space holds expired in-flight entries: send
			     * completions that find no enter (AOD_RAW_SMB_UNMATCHED) */
	__u64 emergency_ns; /* an op this slow is sent with a forced wakeup;
			     * AOD_THRESH_OFF: none */
};

struct aod_blk_knobs {
	__u64 default_threshold_ns; /* ~0ULL: no slow events */
	__u32 enabled_err;
	__u32 late_watch;           /* as in struct aod_smb_knobs */
	__u64 emergency_ns;         /* as in struct aod_smb_knobs */
};

#define AOD_THRESH_OFF (~0ULL)

#endif /* AOD_BPF_EVENTS_H */
