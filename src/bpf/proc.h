/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The process probe's types, shared by src/bpf/proc.bpf.c and user space
 * (src/probe/proc_probe.c): its ring records, counters and knobs. The
 * process probe has a ring of its own: an exec record carries the whole
 * argv (up to the cap) and so has a variable size, unlike the fixed
 * struct aod_raw_event of the other probes. Include after <linux/types.h>
 * (user space) or vmlinux.h (BPF).
 *
 * A process is named by (start_ns, tgid): start_ns is the group leader's
 * start_boottime, the clock /proc/PID/stat's starttime counts in ticks, so
 * a process seeded from /proc can be matched by user space.
 */
#ifndef AOD_BPF_PROC_H
#define AOD_BPF_PROC_H

#define AOD_PROC_COMM_LEN 16
#define AOD_PROC_FILENAME_LEN 256
#define AOD_PROC_ARGV_MAX 65536      /* the largest argv cap accepted */
#define AOD_PROC_ARGV_DEFAULT 4096
#define AOD_PROC_MAP_MAX 65536       /* processes the kernel keeps state for */
#define AOD_PROC_IGNORE_COMM_MAX 64
#define AOD_PROC_EXE_PAT_MAX 8
#define AOD_PROC_PAT_PART 64         /* bytes of a pattern's prefix and suffix */

enum aod_proc_kind {
	AOD_PROC_FORK = 1, /* a new process (not a thread) */
	AOD_PROC_EXEC = 2, /* a successful exec: new image, argv */
	AOD_PROC_EXIT = 3, /* the last thread of a process exited */
	AOD_PROC_EXEC_FAILED = 4, /* execve/execveat returned an error (opt-in) */
};

/* aod_proc_hdr.flags */
#define AOD_PROCF_IN_TREE 0x1  /* descendant of a tracked root (inherited at fork) */
#define AOD_PROCF_NOSTATE 0x2  /* exit: the kernel had no state for it (started
				* before the probe, or the state map was full) */
#define AOD_PROCF_ARGV_TRUNC 0x4 /* exec: argv longer than the cap, cut */
#define AOD_PROCF_ARGV_FAULT 0x8 /* exec: argv could not be read */
#define AOD_PROCF_OOM 0x10     /* exit: the process was an OOM victim */
#define AOD_PROCF_FILTERED 0x40 /* exit: its image was filtered; nothing else is in
				 * it, it only withdraws the process (its fork may
				 * have been reported before the exec was filtered) */
#define AOD_PROCF_SEEDED 0x20  /* fork: not a fork, a process already running at
				* load (the task iterator's record) */

struct aod_proc_hdr {
	__u32 kind;
	__u32 tgid;
	__u64 start_ns;    /* group leader's start_boottime */
	__u64 ts_ns;       /* bpf_ktime_get_boot_ns() */
	__u32 pid;         /* the thread */
	__u32 flags;       /* AOD_PROCF_* */
	__u32 ppid;        /* real parent's tgid */
	__u32 uid;
	__u64 pstart_ns;   /* real parent's start_boottime */
	__u64 cgroup_id;   /* cgroup v2 id */
	char comm[AOD_PROC_COMM_LEN];
};

struct aod_proc_exec {
	struct aod_proc_hdr h;
	__u32 old_pid;     /* the thread that called exec (de_thread makes it the leader) */
	__u32 argv_len;    /* bytes of argv that follow filename */
	__u32 argv_full;   /* arg_end - arg_start: the whole argv's length */
	__u32 pad;
	char filename[AOD_PROC_FILENAME_LEN]; /* NUL-terminated */
	/* then argv_len bytes of argv, NUL-separated, as /proc/PID/cmdline */
};

struct aod_proc_exit {
	struct aod_proc_hdr h;
	__s32 exit_code;   /* wait status: code << 8 | core 0x80 | signal */
	__u32 pad;
	__u64 runtime_ns;  /* scheduler runtime, every thread: user + system */
	__u64 utime_ns;    /* tick-sampled user and system time: their ratio */
	__u64 stime_ns;    /*   splits runtime_ns, as getrusage does */
	__u64 prev_utime_ns, prev_stime_ns; /* signal->prev_cputime: what getrusage (or
					     * /proc/PID/stat) last reported; the split
					     * never goes below it */
	__u64 maxrss_pages;
	__u64 minflt, majflt;
	__u64 nvcsw, nivcsw;
};

struct aod_proc_exec_failed {
	struct aod_proc_hdr h;
	__s32 error;       /* negative errno */
	__u32 pad;
	char filename[AOD_PROC_FILENAME_LEN]; /* the path given, from user memory */
};

/* Per-CPU counters (array index). The first five mean what enum
 * aod_counter's do (events.h), so that the probe table's status and
 * loss metrics read them like any probe's. */
enum aod_proc_counter {
	AOD_PROC_CNT_EXITS = 0,       /* = AOD_CNT_OPS: processes ended */
	AOD_PROC_CNT_EVENTS = 1,      /* = AOD_CNT_EVENTS: records written to the ring */
	AOD_PROC_CNT_RB_DROPS = 2,    /* = AOD_CNT_RB_DROPS: ring full, record lost */
	AOD_PROC_CNT_STATE_FULL = 3,  /* = AOD_CNT_INFLIGHT_FULL: state map full, a
				       * process not followed */
	AOD_PROC_CNT_NOSTATE = 4,     /* = AOD_CNT_UNMATCHED: an exit of a process the
				       * kernel had no state for (neither its fork, its
				       * exec nor the start-up seed was seen) */
	AOD_PROC_CNT_FORKS = 5,
	AOD_PROC_CNT_EXECS = 6,
	AOD_PROC_CNT_FILTERED = 7,    /* execs ignored by comm or exe pattern */
	AOD_PROC_CNT_ARGV_TRUNC = 8,
	AOD_PROC_CNT_ARGV_FAULT = 9,
	AOD_PROC_CNT_MAX = 10,
};

/* Knobs (single-entry array), written at load and on reload. */
struct aod_proc_knobs {
	__u32 tree_only;   /* report only processes in a tracked tree */
	__u32 argv_cap;    /* bytes, <= AOD_PROC_ARGV_MAX */
	__u32 npat;        /* exe patterns in use */
	__u32 pad;
};

/* One executable-path pattern "PREFIX*SUFFIX" (or an exact path: no '*',
 * has_star 0). */
struct aod_proc_exe_pat {
	__u32 has_star;
	__u32 plen, slen;
	__u32 pad;
	char prefix[AOD_PROC_PAT_PART];
	char suffix[AOD_PROC_PAT_PART];
};

/* The kernel's state of a process (map keyed by tgid). */
#define AOD_PSTATE_TRACKED 0x1  /* in a traced tree */
#define AOD_PSTATE_FILTERED 0x2 /* its current image is ignored */

#endif /* AOD_BPF_PROC_H */
