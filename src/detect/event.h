/* SPDX-License-Identifier: MIT */
/*
 * A decoded event: what the dispatcher makes of a ring-buffer record,
 * what `aod record` writes as one JSON line and what `aod replay` reads
 * back. The detector sees only this type, so live and replayed events
 * take the same path.
 */
#ifndef AOD_DETECT_EVENT_H
#define AOD_DETECT_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#define AOD_EV_COMM_LEN 16
#define AOD_DISK_NAME_LEN 32

enum aod_event_kind {
	AOD_EVENT_SMB_SLOW = 1,
	AOD_EVENT_SMB_ERR = 2,
	AOD_EVENT_BLK_SLOW = 3,
	AOD_EVENT_BLK_ERR = 4,
	AOD_EVENT_SMB_RECONNECT = 5, /* context only: never counted by a rule */
	AOD_EVENT_SMB_STUCK = 6,     /* an SMB command still in flight, found by the sweep */
	AOD_EVENT_BLK_STUCK = 7,     /* a block request still in flight, found by the sweep */
	AOD_EVENT_TCP_CONNECT = 8,   /* an active open at/over its port's threshold */
	AOD_EVENT_TCP_RETRANS = 9,   /* a retransmitted segment */
	AOD_EVENT_TCP_RESET = 10,    /* a reset sent or received */
	AOD_EVENT_PROC_EXIT = 11,    /* a process exited non-zero or by a signal (process probe) */
};

/* aod_event.flags */
#define AOD_EVF_WAS_STUCK 0x1 /* completion of an op already reported stuck: never counted again */
#define AOD_EVF_LATE 0x2      /* completed after its in-flight entry expired; matched in user space */

enum aod_source {
	AOD_SOURCE_SMB = 0,
	AOD_SOURCE_BLOCK = 1,
	AOD_SOURCE_MANUAL = 2, /* snapshot requested by a person */
	AOD_SOURCE_TCP = 3,
	AOD_SOURCE_HEALTH = 4, /* a health report (src/agent/health_loop.c) */
	AOD_SOURCE_PROC = 5,   /* the process probe: failed exits */
	AOD_SOURCE_COUNT = 6,
};

struct aod_smb_fields {
	uint16_t cmd;        /* SMB2 opcode 0..19 */
	uint32_t tid;
	uint32_t status;     /* NTSTATUS (errors) */
	int32_t rc;          /* negative errno (errors) */
	uint64_t sesid;
	uint64_t mid;
	uint64_t latency_ns;
};

struct aod_blk_fields {
	uint32_t dev;                   /* kernel dev_t (major << 20 | minor) */
	char disk[AOD_DISK_NAME_LEN];   /* "vda", "nvme0n1"; "" if unknown */
	uint32_t op;                    /* enum aod_blk_op (src/bpf/events.h) */
	uint64_t sector;
	uint32_t bytes;
	int32_t error;                  /* negative errno (errors) */
	uint64_t latency_ns;
};

#define AOD_EV_SERVER_LEN 24

/* TCP events: the socket's endpoints (for a reset sent without a socket,
 * the segment's: local is where it went). Addresses in network order, IPv4
 * in the first 4 bytes; ports in host order. */
struct aod_tcp_fields {
	uint16_t family;     /* AF_INET, AF_INET6 */
	uint8_t laddr[16];
	uint8_t raddr[16];
	uint16_t lport;
	uint16_t rport;
	uint8_t state;       /* TCP state (retransmits, resets); 0 unknown */
	uint8_t dir;         /* resets: enum aod_tcp_dir (0 sent, 1 received) */
	uint32_t segs;       /* retransmits: segments */
	uint64_t latency_ns; /* connects: SYN_SENT -> ESTABLISHED */
};

/* A failed process exit: the process (tgid, comm of its last exec) is the
 * event's; mono_ns/wall_ns are the exit of its last thread. */
struct aod_proc_exit_fields {
	uint64_t start_ns;   /* the process's identity with tgid (kernel start time) */
	uint64_t duration_ns;
	int32_t exit_code;   /* 0..255; meaningful when signal == 0 */
	int32_t signal;      /* the killing signal, 0 = exited */
	uint8_t core_dumped;
};

struct aod_smb_conn_fields {
	uint64_t conn_id;
	uint64_t currmid;
	char server[AOD_EV_SERVER_LEN];
};

/*
 * Stuck ops (AOD_EVENT_*_STUCK) reuse the slow-op fields: mono_ns/wall_ns are
 * when the sweep found the op, latency_ns its age then (so the op started at
 * mono_ns - latency_ns), and batch numbers the sweep: the ops one sweep finds
 * make one anomaly per rule.
 */
struct aod_event {
	enum aod_event_kind kind;
	uint32_t flags;    /* AOD_EVF_* */
	uint32_t batch;    /* stuck ops: the sweep that found them; 0 otherwise */
	uint64_t mono_ns;  /* CLOCK_MONOTONIC (= bpf_ktime_get_ns) at completion */
	uint64_t wall_ns;  /* CLOCK_REALTIME at completion, derived once */
	uint32_t pid;
	uint32_t tgid;
	char comm[AOD_EV_COMM_LEN];
	union {
		struct aod_smb_fields smb;
		struct aod_blk_fields blk;
		struct aod_smb_conn_fields conn; /* AOD_EVENT_SMB_RECONNECT */
		struct aod_tcp_fields tcp;       /* AOD_EVENT_TCP_* */
		struct aod_proc_exit_fields proc; /* AOD_EVENT_PROC_EXIT */
	};
};

static inline bool aod_event_is_tcp(const struct aod_event *ev)
{
	return ev->kind == AOD_EVENT_TCP_CONNECT || ev->kind == AOD_EVENT_TCP_RETRANS ||
	       ev->kind == AOD_EVENT_TCP_RESET;
}

static inline enum aod_source aod_event_source(const struct aod_event *ev)
{
	if (aod_event_is_tcp(ev))
		return AOD_SOURCE_TCP;
	if (ev->kind == AOD_EVENT_PROC_EXIT)
		return AOD_SOURCE_PROC;
	return ev->kind == AOD_EVENT_BLK_SLOW || ev->kind == AOD_EVENT_BLK_ERR ||
			       ev->kind == AOD_EVENT_BLK_STUCK
		       ? AOD_SOURCE_BLOCK
		       : AOD_SOURCE_SMB;
}

static inline bool aod_event_is_stuck(const struct aod_event *ev)
{
	return ev->kind == AOD_EVENT_SMB_STUCK || ev->kind == AOD_EVENT_BLK_STUCK;
}

/* An event an Error rule counts (TCP retransmits and resets, failed process
 * exits included). */
static inline bool aod_event_is_error(const struct aod_event *ev)
{
	return ev->kind == AOD_EVENT_SMB_ERR || ev->kind == AOD_EVENT_BLK_ERR ||
	       ev->kind == AOD_EVENT_TCP_RETRANS || ev->kind == AOD_EVENT_TCP_RESET ||
	       ev->kind == AOD_EVENT_PROC_EXIT;
}

static inline uint64_t aod_event_latency_ns(const struct aod_event *ev)
{
	if (ev->kind == AOD_EVENT_SMB_RECONNECT || ev->kind == AOD_EVENT_PROC_EXIT)
		return 0;
	if (aod_event_is_tcp(ev))
		return ev->tcp.latency_ns;
	return aod_event_source(ev) == AOD_SOURCE_SMB ? ev->smb.latency_ns
						       : ev->blk.latency_ns;
}

#endif /* AOD_DETECT_EVENT_H */
