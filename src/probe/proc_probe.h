/* SPDX-License-Identifier: MIT */
/*
 * The process probe (src/bpf/proc.bpf.c): fork, exec with argv, exit with
 * resource usage, one record each, per process (threads are not
 * processes). It has a ring of its own (exec records have a variable
 * size), drained by aod_proc_probe_poll() in one thread. Used by
 * `aod trace`; docs/trace.md describes what each field means.
 *
 * Environment, for tests: AOD_PROC_ATTACH=tp_btf|raw_tp forces one attach
 * mode (no fallback).
 */
#ifndef AOD_PROBE_PROC_PROBE_H
#define AOD_PROBE_PROC_PROBE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/proc.h"

struct aod_proc_probe;

struct aod_proc_probe_opts {
	bool tree_only;             /* only processes under aod_proc_probe_track() roots */
	uint32_t argv_cap;          /* bytes; 0: AOD_PROC_ARGV_DEFAULT */
	uint32_t ring_mb;           /* 0: 8; rounded up to 2^n */
	const char *const *ignore_comm; /* NULL-terminated, or NULL */
	const char *const *ignore_exe;  /* "PREFIX*SUFFIX" or exact paths, NULL-terminated */
	bool failed_execs;          /* also hook raw_syscalls:sys_exit for execs that fail
				     * (costs every syscall of the host while attached);
				     * at open only */
};

/* One record, decoded. Pointers are valid during the callback only. */
struct aod_proc_event {
	const struct aod_proc_hdr *h; /* identity, parent, uid, cgroup, comm */
	uint64_t wall_ns;             /* h->ts_ns as CLOCK_REALTIME */
	uint64_t start_wall_ns;       /* h->start_ns as CLOCK_REALTIME */
	/* AOD_PROC_EXEC; a seeded AOD_PROC_FORK has them too (from /proc) */
	const char *filename;
	const char *argv;             /* argv_len bytes, NUL-separated */
	size_t argv_len;
	bool argv_truncated;
	uint32_t argv_full;           /* the whole argv's length */
	/* AOD_PROC_EXEC_FAILED: filename too */
	int exec_error;               /* negative errno */
	/* AOD_PROC_EXIT */
	uint64_t duration_ns;
	int exit_code;                /* 0..255, when signal == 0 */
	int signal;                   /* killing signal, 0 if it exited */
	bool core_dumped;
	uint64_t cpu_user_ns, cpu_sys_ns; /* split as getrusage splits them */
	uint64_t maxrss_bytes;
	uint64_t minflt, majflt, nvcsw, nivcsw;
	bool oom_killed;
};

typedef void (*aod_proc_fn)(void *ctx, const struct aod_proc_event *ev);

/*
 * Load and attach (tp_btf, else raw_tp). err gets one sentence on failure
 * (what each mode said). Returns 0 or -errno.
 */
int aod_proc_probe_open(const struct aod_proc_probe_opts *o, aod_proc_fn fn, void *ctx,
			struct aod_proc_probe **out, char *err, size_t errlen);
/* Rewrite the knobs and filters (reload). 0, or -EINVAL with err set for a
 * pattern it cannot take, or -errno. */
int aod_proc_probe_configure(struct aod_proc_probe *pp, const struct aod_proc_probe_opts *o,
			     char *err, size_t errlen);
/* Make tgid a traced root: it and every process it forks from now on. */
int aod_proc_probe_track(struct aod_proc_probe *pp, uint32_t tgid);
/* Wait up to timeout_ms, then drain every pending record. Returns the
 * number consumed or -errno. */
int aod_proc_probe_poll(struct aod_proc_probe *pp, int timeout_ms);
/* The kernel's counters (enum aod_proc_counter), summed over CPUs. */
int aod_proc_probe_counters(struct aod_proc_probe *pp, uint64_t out[AOD_PROC_CNT_MAX]);
const char *aod_proc_probe_mode(const struct aod_proc_probe *pp);
/* Report every process already running to fn, once, as an AOD_PROC_FORK
 * record flagged AOD_PROCF_SEEDED (argv from /proc/PID/cmdline, filename
 * from /proc/PID/exe), with its exact identity (a BPF task iterator), and
 * give each a state entry so that its exit is not counted as a loss.
 * Call after open. Returns the number reported or -errno. */
int aod_proc_probe_seed(struct aod_proc_probe *pp);

/* For the probe table (proc_table.c): exactly one mode, and the probe's
 * ring added to rb, the table's consumer (not owned: close leaves it). */
struct ring_buffer;
struct bpf_object;
int aod_proc_probe_open_mode(const char *mode, const struct aod_proc_probe_opts *o,
			     aod_proc_fn fn, void *ctx, struct ring_buffer *rb,
			     struct aod_proc_probe **out, char *err, size_t errlen);
int aod_proc_probe_counters_fd(const struct aod_proc_probe *pp);
struct bpf_object *aod_proc_probe_object(const struct aod_proc_probe *pp);
const char *const *aod_proc_probe_modes(void); /* "tp_btf", "raw_tp", NULL */
void aod_proc_probe_close(struct aod_proc_probe *pp);

const char *aod_proc_counter_name(enum aod_proc_counter c);

/* Split a scheduler runtime between user and system time in the ratio of
 * the sampled utime:stime, never below what was reported before (prev_*),
 * as the kernel's cputime_adjust() does for getrusage. */
void aod_proc_cpu_split(uint64_t runtime, uint64_t utime, uint64_t stime,
			uint64_t prev_utime, uint64_t prev_stime, uint64_t *user, uint64_t *sys);

/* Parse one executable pattern ("PREFIX*SUFFIX", at most one '*', each
 * part < AOD_PROC_PAT_PART bytes). 0 or -EINVAL with why set. */
int aod_proc_parse_exe_pattern(const char *s, struct aod_proc_exe_pat *out,
			       char *why, size_t len);

#endif /* AOD_PROBE_PROC_PROBE_H */
