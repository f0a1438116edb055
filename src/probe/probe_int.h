/* SPDX-License-Identifier: MIT */
/*
 * Internals of src/probe shared by the lifecycle code (probes.c) and the
 * per-probe loaders (smb_probe.c, blk_probe.c). Not for other rooms.
 *
 * A probe is one table entry (struct probe_ops): its attach modes, how to
 * compute and write its knobs, and how to read its in-flight map. The
 * lifecycle code knows nothing else about it.
 */
#ifndef AOD_PROBE_INT_H
#define AOD_PROBE_INT_H

#include <bpf/libbpf.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/knobs.h"
#include "probe/probes.h"
#include "probe/tracked.h"

#define PROBE_MAX_LINKS 8
#define PROBE_ERR_LEN 256

/* One loaded BPF object (either skeleton) and its links. */
struct probe_obj {
	void *skel;                 /* struct aod_smb * or struct aod_block * */
	struct bpf_object *obj;
	struct bpf_link *links[PROBE_MAX_LINKS];
	int nlinks;
	int counters_fd;            /* per-CPU enum aod_counter */
	int inflight_fd;            /* swept by user space; values start with ts_ns
				     * (only for probes with ops->inflight_entry) */
	const char *mode_suffix;    /* shown after the mode ("+fentry"), or NULL */
	size_t inflight_key_size;
	size_t inflight_value_size;
};

/* What every loader needs from the lifecycle code. */
struct probe_load_env {
	int ring_fd;                /* the shared ring buffer */
	uint64_t wakeup_bytes;
	struct ring_buffer *rb;     /* its consumer: a probe with a ring of its own
				     * adds it here (the process probe) */
	aod_proc_fn proc_fn;        /* process records (aod_probes_opts) */
	void *proc_ctx;
};

struct probe_ops {
	const char *name;           /* "smb", "block" */
	const char *force_env;      /* environment variable that forces a mode */
	const char *const *modes;   /* attach modes, in fallback order */
	/* Can it attach now (module loaded)? NULL: always. why: what was found,
	 * or the waiting reason. */
	bool (*kernel_side_present)(char *why, size_t len);
	unsigned attach_retries;    /* ticks with the kernel side present before FAILED */
	size_t enable_offset;       /* offsetof(struct aod_config, probes.<name>) */
	bool refresh_each_tick;     /* knobs depend on the host (block device names) */

	size_t knobs_size;
	void (*compute_knobs)(const struct aod_config *cfg, bool record_all, void *knobs);
	bool (*knobs_needed)(const void *knobs);
	bool (*knobs_equal)(const void *a, const void *b);
	uint64_t (*stuck_threshold_ns)(const void *knobs); /* AOD_THRESH_OFF: none */

	int (*load)(struct probe_obj *po, const char *mode, const struct probe_load_env *env,
		    const void *knobs, char *err, size_t len);
	int (*write_knobs)(struct probe_obj *po, const void *knobs, bool late_watch);
	void (*destroy)(struct probe_obj *po);

	/* Records: which kinds are its slow ops, errors, unmatched ends, stuck ops. */
	uint32_t kind_slow, kind_err, kind_unmatched, kind_stuck;
	/* An in-flight map entry: its identity, and the stuck record it makes
	 * (everything but ts_ns, latency and batch). NULL: no in-flight sweep
	 * (then record_id, fill_late and hist_key are never called either). */
	void (*inflight_entry)(const void *key, const void *value, struct aod_op_id *id,
			       struct aod_raw_event *rec);
	/* A completion record's identity (start_ns = ts - latency). */
	void (*record_id)(const struct aod_raw_event *rec, struct aod_op_id *id);
	/* Copy the issuer and start-side fields of a tracked op into a late
	 * completion record. */
	void (*fill_late)(struct aod_raw_event *rec, const struct aod_raw_event *start);
	/* User-space histogram key of a record (late completions). */
	void (*hist_key)(const struct aod_raw_event *rec, uint32_t *a, uint32_t *b);
};

extern const struct probe_ops aod_smb_probe_ops;
extern const struct probe_ops aod_blk_probe_ops;
extern const struct probe_ops aod_tcp_probe_ops;
extern const struct probe_ops aod_proc_probe_ops;

/* ---- probe_util.c */
void probe_libbpf_log_init(void);
void probe_raise_memlock(void);
bool probe_mode_valid(const char *mode, const char *const *modes);
/* Autoload only the named programs (NULL-terminated); attach them after
 * load with probe_attach_named(). */
int probe_select_programs(struct bpf_object *obj, const char *const *names,
			  char *err, size_t len);
int probe_attach_named(struct probe_obj *po, const char *const *names,
		       char *err, size_t len);
/* What every loader does with its freshly opened object: keep it in po,
 * autoload only progs, and make its events map the shared ring. 0 or -errno
 * (err says what). */
int probe_use_object(struct probe_obj *po, struct bpf_object *obj, struct bpf_map *events,
		     const char *const *progs, int ring_fd, char *err, size_t len);
void probe_detach(struct probe_obj *po);
const char *probe_load_error(int err); /* text for an object load error */
int probe_sum_counters(int fd, uint64_t out[AOD_CNT_MAX]);
/* The n entries of a per-CPU u64 array, each summed over CPUs. */
int probe_sum_percpu(int fd, uint32_t n, uint64_t *out);
/* A zeroed record of kind for the task an in-flight entry names (the
 * sweep's stuck ops). */
void probe_rec_for_task(struct aod_raw_event *rec, uint32_t kind, uint32_t pid, uint32_t tgid,
			const char comm[AOD_COMM_LEN]);
/* A late completion takes the task of the op's start (the completion runs
 * in whatever context the reply arrived). */
void probe_rec_task_from(struct aod_raw_event *rec, const struct aod_raw_event *start);
uint64_t probe_recursion_misses(struct bpf_object *obj);
/*
 * Every entry of a hash map: fn(ctx, key, value) for each, from a copy
 * taken in batches; fn returns true to delete the entry, which is done
 * only if its first 8 value bytes (ts_ns) are still those seen (the key
 * may have been reused meanwhile). Returns entries visited or -errno.
 */
typedef bool (*probe_entry_fn)(void *ctx, const void *key, const void *value);
/* The copy's room, allocated at the first scan and kept: a sweep runs four
 * times a second, and only the pages the kernel fills become resident. */
struct probe_scan_buf {
	unsigned char *keys, *values;
};
int probe_scan_map(struct probe_scan_buf *buf, int fd, size_t key_size, size_t value_size,
		   probe_entry_fn fn, void *ctx);
void probe_scan_buf_free(struct probe_scan_buf *buf);
int probe_prog_stats(struct bpf_object *obj, struct aod_prog_stats *out, int max);
/* Make a hash map hold exactly these entries (key at offset 0 of each,
 * value at value_off): new ones are written first, stale ones deleted
 * after, so no key that stays is ever missing mid-update. */
int probe_sync_hash(int fd, const void *entries, size_t entry_size, size_t key_size,
		    size_t value_off, uint32_t n);

/* ---- smb_probe.c (also used by tests, which drive the loaded programs
 * with BPF_PROG_TEST_RUN) */
extern const char *const aod_smb_modes[];  /* in the order tried */
int smb_probe_prepare(struct probe_obj *po, const char *mode,
		      const struct probe_load_env *env,
		      const struct aod_smb_knob_set *k, char *err, size_t len);
int smb_probe_write_knobs(struct probe_obj *po, const struct aod_smb_knob_set *k,
			  bool late_watch);
int smb_probe_hist(struct probe_obj *po, unsigned cmd, struct aod_hist *out);
int smb_probe_share_hists(struct probe_obj *po, struct aod_smb_share_hist *out, int max);
int smb_probe_err_counts(struct probe_obj *po, struct aod_smb_err_count *out, int max);
void smb_probe_destroy(struct probe_obj *po);

/* ---- blk_probe.c */
extern const char *const aod_blk_modes[];
int blk_probe_hist_map_fd(struct probe_obj *po);

/* ---- tcp_probe.c */
extern const char *const aod_tcp_modes[];
struct tcp_hist_entry {
	enum aod_tcp_hist_kind kind;
	uint32_t port;
	struct aod_tcp_hist hist;
};
/* Copies up to max histograms of one kind; returns how many or -errno. */
int tcp_probe_hist_copy(struct probe_obj *po, enum aod_tcp_hist_kind kind,
			struct tcp_hist_entry *out, int max);
int tcp_probe_counters(struct probe_obj *po, uint64_t out[AOD_TCP_CNT_MAX]);

#endif /* AOD_PROBE_INT_H */
