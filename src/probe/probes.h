/* SPDX-License-Identifier: MIT */
/*
 * The kernel probes, as the agent sees them: load and attach what the
 * configuration needs (each probe optional, with fallbacks), feed the
 * knob maps from the config, drain the shared event ring, report state,
 * counters and in-kernel histograms.
 *
 * Threads: aod_probes_poll() belongs to one thread (the dispatcher), which
 * also sweeps the in-flight maps (stuck ops, expiry); aod_probes_tick(),
 * aod_probes_apply_config(), aod_probes_status() and the histogram readers
 * may be called from any other thread. All probes
 * write into one ring buffer created by aod_probes_start(), so a probe
 * that attaches later (the cifs module loaded after start) never changes
 * what poll waits on. aod_probes_free() must come after the poll thread
 * stopped.
 */
#ifndef AOD_PROBE_PROBES_H
#define AOD_PROBE_PROBES_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "bpf/events.h"
#include "bpf/tcp.h"
#include "config/config.h"
#include "probe/proc_probe.h"

struct aod_probes;

enum aod_probe_id {
	AOD_PROBE_SMB = 0,
	AOD_PROBE_BLOCK = 1,
	AOD_PROBE_TCP = 2,
	AOD_PROBE_PROC = 3,  /* processes: records to aod_probes_opts.proc_fn */
	AOD_PROBE_COUNT = 4,
};

enum aod_probe_state {
	AOD_PROBE_DISABLED = 0, /* no rule needs it: not loaded */
	AOD_PROBE_WAITING = 1,  /* needed, not attached yet (e.g. no cifs module) */
	AOD_PROBE_ATTACHED = 2,
	AOD_PROBE_FAILED = 3,   /* could not attach; reason says why */
};

struct aod_probe_status {
	enum aod_probe_state state;
	char mode[16];          /* "raw_tp", "tp_btf", "fentry", "kprobe"; "" if none */
	char reason[256];       /* why waiting/failed/disabled; "" when attached */
	uint64_t counters[AOD_CNT_MAX]; /* enum aod_counter, summed over CPUs */
	uint64_t inflight_expired;      /* in flight longer than the in-flight timeout:
					 * taken out of the kernel's map, kept in user space */
	uint64_t stuck_reported;        /* in flight past the emergency threshold: reported once */
	uint64_t late_matched;          /* expired ops whose completion came later, measured */
	uint64_t late_unmatched;        /* unmatched completions user space had no start for */
	uint64_t tracked_evicted;       /* expired ops forgotten to make room (never measured) */
	uint64_t recursion_misses;      /* bpf_prog_info, summed over the programs */
	uint64_t attach_ns;             /* time the last (successful) attach took */
};

#define AOD_PROBE_MAX_PROGS 8

/* The kernel's accounting of one loaded program (bpf_prog_info). */
struct aod_prog_stats {
	char name[32];             /* "aod_blk_done_bt" */
	uint64_t run_time_ns;      /* these two advance only while */
	uint64_t run_cnt;          /*   kernel.bpf_stats_enabled is on */
	uint64_t recursion_misses;
};

/* Called for each record drained from the ring, in the poll thread. ev
 * points into the ring and is valid only during the call: copy it. */
typedef void (*aod_raw_event_fn)(void *ctx, const struct aod_raw_event *ev);

struct aod_probes_opts {
	uint32_t ringbuf_mb;          /* 0: config agent.ringbuf_mb; rounded up to 2^n */
	bool record_all;              /* thresholds 0, every error tracked (aod record) */
	uint64_t inflight_timeout_ns; /* 0: config agent.smb_inflight_timeout_sec */
	uint64_t sweep_ns;            /* 0: config agent.stuck_sweep_ms */
	aod_proc_fn proc_fn;          /* process probe records (poll thread); NULL:
				       * the process probe is never loaded */
	void *proc_ctx;
};

/*
 * Nothing is loaded yet. cfg must be a shared config
 * (aod_config_new_shared): the probes keep a reference to it, not a copy
 * (a copy was half a MiB resident per agent). opts may be NULL. Environment,
 * for tests: AOD_SMB_ATTACH=raw_tp|tp_btf|fentry|kprobe,
 * AOD_BLK_ATTACH=tp_btf|raw_tp and AOD_TCP_ATTACH=tp_btf|raw_tp force one
 * attach mode (no fallback); AOD_TCP_CLAMP=tp|fentry|kprobe|none forces the
 * TCP probe's window-clamp hook.
 * Returns NULL on allocation failure (errno set).
 */
struct aod_probes *aod_probes_new(const struct aod_config *cfg,
				  const struct aod_probes_opts *opts,
				  aod_raw_event_fn fn, void *ctx);

/*
 * Creates the ring, then loads and attaches every needed probe it can.
 * A probe that cannot attach is recorded (state + reason) and does not
 * make this fail. Returns 0, or -errno if the ring itself cannot be made
 * (nothing can work then).
 */
int aod_probes_start(struct aod_probes *p);

/*
 * Waits up to timeout_ms for a wakeup, then drains every record pending
 * (records are submitted mostly without wakeups, so a short timeout, e.g.
 * 50 ms, bounds their delay). Then, every sweep interval, sweeps the
 * in-flight maps: an op older than its probe's emergency threshold (the
 * smallest over the source's latency rules) is handed to fn once as an
 * AOD_RAW_*_STUCK record (h.batch numbers the sweep); one older than the
 * in-flight timeout leaves the kernel's map but is kept here, so that its
 * completion, whenever it comes, is still measured (AOD_RAWF_LATE; its
 * latency goes into the histograms too). Completions of ops reported stuck
 * carry AOD_RAWF_WAS_STUCK. Returns records consumed, or -errno.
 */
int aod_probes_poll(struct aod_probes *p, int timeout_ms);

/* SIGHUP: rewrite the knob maps of attached probes from cfg (shared; the
 * probes now hold a reference to it instead of the old one; programs are
 * not reloaded). A probe the new config needs that is not loaded becomes
 * WAITING and is attached by the next tick. Returns 0 or -errno. */
int aod_probes_apply_config(struct aod_probes *p, const struct aod_config *cfg);

/*
 * About once a second, not from the poll thread: attaches waiting probes
 * whose kernel side appeared (cifs module: /sys/module/cifs,
 * /sys/kernel/btf/cifs or its tracefs events) and re-resolves block device
 * names. Returns 0 or -errno of the first error.
 */
int aod_probes_tick(struct aod_probes *p, uint64_t now_mono_ns);

/* Thread-safe snapshot of one probe. */
void aod_probes_status(struct aod_probes *p, enum aod_probe_id id,
		       struct aod_probe_status *out);

/* Per-program stats of a loaded probe into out[max]; returns how many
 * (0 when the probe is not loaded). Thread-safe. */
int aod_probes_prog_stats(struct aod_probes *p, enum aod_probe_id id,
			  struct aod_prog_stats *out, int max);

/* Per-command SMB latency histogram (usec log2 slots). -ENOENT if the SMB
 * probe is not loaded, -EINVAL for cmd >= AOD_SMB_NCMDS. */
int aod_probes_smb_hist(struct aod_probes *p, unsigned cmd, struct aod_hist *out);

/* The per-share SMB histograms (session, tree id, command; the kernel's
 * copy, without late completions: those are only in aod_probes_smb_hist)
 * and the error counts (session, tree id, command, NTSTATUS). Up to max
 * into out; returns how many, -ENOENT if the SMB probe is not loaded, or
 * -errno. */
struct aod_smb_share_hist {
	struct aod_smb_share_key key;
	struct aod_hist hist;
};
struct aod_smb_err_count {
	struct aod_smb_errcnt_key key;
	uint64_t count;
};
/* SMB commands in flight per (session, tree id) at the last sweep (every
 * agent.stuck_sweep_ms): those in the kernel's in-flight map, i.e. sent,
 * not answered, and younger than the in-flight timeout (a command whose
 * answer the client dropped, e.g. of a killed process, stays there until
 * then). Up to max into out; *untallied:
 * ops of trees beyond AOD_SMB_INFLIGHT_TREES. Returns how many, -ENOENT if
 * the SMB probe is not loaded. */
#define AOD_SMB_INFLIGHT_TREES 64
struct aod_smb_inflight {
	uint64_t sesid;
	uint32_t tid;
	uint32_t count;
};
int aod_probes_smb_inflight(struct aod_probes *p, struct aod_smb_inflight *out, int max,
			    uint64_t *untallied);
int aod_probes_smb_share_hists(struct aod_probes *p, struct aod_smb_share_hist *out, int max);
int aod_probes_smb_err_counts(struct aod_probes *p, struct aod_smb_err_count *out, int max);

/*
 * Calls fn for each (device, op) block histogram, from a copy taken under
 * the lock (fn may call other aod_probes functions). fn returning non-zero
 * stops the walk. Returns the number of histograms visited, or -ENOENT if
 * the block probe is not loaded, or -errno.
 */
typedef int (*aod_blk_hist_fn)(void *ctx, uint32_t dev, enum aod_blk_op op,
			       const struct aod_hist *h);
int aod_probes_blk_hist_foreach(struct aod_probes *p, aod_blk_hist_fn fn, void *ctx);

/*
 * TCP aggregates (docs/tcp.md defines each). fn is called for every
 * (kind, port) histogram: connect latency by remote port, accept latency
 * by local port, RTT by service port; port AOD_TCP_PORT_OTHER (0) holds
 * the samples of ports beyond the map's cap. From a copy taken under the
 * lock; fn returning non-zero stops the walk. Returns the number visited,
 * -ENOENT if the TCP probe is not loaded, or -errno.
 */
typedef int (*aod_tcp_hist_fn)(void *ctx, enum aod_tcp_hist_kind kind, uint32_t port,
			       const struct aod_tcp_hist *h);
int aod_probes_tcp_hist_foreach(struct aod_probes *p, aod_tcp_hist_fn fn, void *ctx);

/* The TCP counters (enum aod_tcp_counter), summed over CPUs; they never
 * reset. 0, -ENOENT if the TCP probe is not loaded, or -errno. */
int aod_probes_tcp_counters(struct aod_probes *p, uint64_t out[AOD_TCP_CNT_MAX]);

/* Destroys every link and map; after it returns nothing of aod is
 * attached. NULL is a no-op. */
void aod_probes_free(struct aod_probes *p);

const char *aod_probe_name(enum aod_probe_id id);            /* "smb", "block", "tcp" */
const char *aod_probe_state_name(enum aod_probe_state state); /* "disabled", ... */
const char *aod_blk_op_name(enum aod_blk_op op);             /* "read", "write", ... */

#endif /* AOD_PROBE_PROBES_H */
