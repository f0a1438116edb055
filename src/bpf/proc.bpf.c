// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Processes: fork, exec (with the whole argv in one record), exit (once
 * per process, when its last thread leaves, with the CPU time, peak RSS,
 * page faults and context switches getrusage would give).
 *
 *   sched:sched_process_fork  a new process (threads are skipped): its
 *                             state inherits "tracked" from the parent
 *   sched:sched_process_exec  filters (comm, executable pattern), argv from
 *                             the new mm's arg_start..arg_end
 *   sched:sched_process_exit  runs per thread; the process is done when
 *                             signal->live reached 0 (it is decremented
 *                             just before, and signal->maxrss folded in)
 *
 * No syscall tracepoint is used by default: hooking sys_enter/sys_exit
 * slows every syscall of every process (execsnoop's getppid() cost); failed
 * execs (raw_syscalls:sys_exit, execve/execveat < 0) are opt-in. Each program
 * exists as tp_btf (preferred) and raw_tp (same arguments); BPF_CORE_READ
 * is used in both. OOM victims are recognised at exit by signal->oom_mm,
 * which mark_oom_victim() sets once and nothing clears.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "proc.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SIGNAL_GROUP_EXIT 0x00000004

/* Set by user space before load. */
const volatile __u64 wakeup_bytes = 65536;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by user space */
} proc_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AOD_PROC_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} proc_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_PROC_MAP_MAX);
	__type(key, __u32);   /* tgid */
	__type(value, __u32); /* AOD_PSTATE_* */
} proc_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aod_proc_knobs);
} proc_knobs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_PROC_IGNORE_COMM_MAX);
	__type(key, char[AOD_PROC_COMM_LEN]);
	__type(value, __u8);
} proc_ignore_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AOD_PROC_EXE_PAT_MAX);
	__type(key, __u32);
	__type(value, struct aod_proc_exe_pat);
} proc_exe_pat SEC(".maps");

/* An exec record is composed here, then copied out with its real size.
 * One per CPU: the programs run with migration disabled and do not nest
 * (all three are process-context tracepoints). */
struct exec_buf {
	struct aod_proc_exec e;
	char argv[AOD_PROC_ARGV_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY); /* per-CPU values are limited to 32 KiB */
	__uint(max_entries, 1);           /* set to the number of CPUs by user space */
	__type(key, __u32);               /* CPU */
	__type(value, struct exec_buf);
} proc_scratch SEC(".maps");

static __always_inline void cnt(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&proc_counters, &idx);

	if (v)
		*v += 1; /* per-CPU slot: no other writer */
}

static __always_inline struct aod_proc_knobs *knobs(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&proc_knobs, &zero);
}

static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&proc_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
		       ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Identity, parent, uid, cgroup (v2) and comm of task. */
static __always_inline void fill_hdr(struct aod_proc_hdr *h, __u32 kind,
				     struct task_struct *task)
{
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);

	h->kind = kind;
	h->tgid = BPF_CORE_READ(task, tgid);
	h->pid = BPF_CORE_READ(task, pid);
	h->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->flags = 0;
	h->ppid = BPF_CORE_READ(parent, tgid);
	h->pstart_ns = BPF_CORE_READ(parent, group_leader, start_boottime);
	h->uid = BPF_CORE_READ(task, real_cred, uid.val);
	h->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	/* zero-padded: the comm is a hash key for the filter (the scratch and
	 * ring memory hold whatever came before) */
	__builtin_memset(h->comm, 0, sizeof(h->comm));
	BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
}

/* ---- fork ---- */

static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child)
{
	struct aod_proc_knobs *k = knobs();
	__u32 ptgid = BPF_CORE_READ(parent, tgid), tgid = BPF_CORE_READ(child, tgid);
	__u32 *pst, st = 0, flags = 0;
	struct aod_proc_hdr *h;

	if (!k || BPF_CORE_READ(child, pid) != tgid)
		return 0; /* a thread, not a process */
	pst = bpf_map_lookup_elem(&proc_state, &ptgid);
	if (pst && (*pst & AOD_PSTATE_TRACKED)) {
		st = AOD_PSTATE_TRACKED;
		flags = AOD_PROCF_IN_TREE;
	}
	if (k->tree_only && !st)
		return 0;
	cnt(AOD_PROC_CNT_FORKS);
	if (bpf_map_update_elem(&proc_state, &tgid, &st, BPF_ANY))
		cnt(AOD_PROC_CNT_STATE_FULL);
	h = bpf_ringbuf_reserve(&proc_events, sizeof(*h), 0);
	if (!h) {
		cnt(AOD_PROC_CNT_RB_DROPS);
		return 0;
	}
	fill_hdr(h, AOD_PROC_FORK, child);
	h->flags = flags;
	bpf_ringbuf_submit(h, rb_flags());
	cnt(AOD_PROC_CNT_EVENTS);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(aod_proc_fork_bt, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(aod_proc_fork_rt, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

/* ---- exec ---- */

/* Does the executable path (n bytes, NUL excluded) match pattern p? */
static __always_inline bool pat_match(const struct aod_proc_exe_pat *p, const char *fn, __u32 n)
{
	__u32 plen = p->plen, slen = p->slen;

	if (plen > AOD_PROC_PAT_PART || slen > AOD_PROC_PAT_PART || n >= AOD_PROC_FILENAME_LEN)
		return false;
	if (p->has_star ? n < plen + slen : n != plen)
		return false;
	for (__u32 i = 0; i < AOD_PROC_PAT_PART; i++) {
		if (i >= plen)
			break;
		if (fn[i & (AOD_PROC_FILENAME_LEN - 1)] != p->prefix[i])
			return false;
	}
	for (__u32 i = 0; i < AOD_PROC_PAT_PART; i++) {
		if (i >= slen)
			break;
		if (fn[(n - slen + i) & (AOD_PROC_FILENAME_LEN - 1)] != p->suffix[i])
			return false;
	}
	return true;
}

static __always_inline bool exe_ignored(const struct aod_proc_knobs *k, const char *fn, __u32 n)
{
	for (__u32 i = 0; i < AOD_PROC_EXE_PAT_MAX; i++) {
		struct aod_proc_exe_pat *p;
		__u32 key = i;

		if (i >= k->npat)
			break;
		p = bpf_map_lookup_elem(&proc_exe_pat, &key);
		if (p && pat_match(p, fn, n))
			return true;
	}
	return false;
}

/* argv from the new image's stack into b; returns the bytes read. */
static __always_inline __u32 read_argv(struct exec_buf *b, struct task_struct *task, __u32 cap)
{
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	__u64 full = end > start ? end - start : 0;
	__u32 len = full > cap ? cap : (__u32)full;

	b->e.argv_full = full > 0xffffffffULL ? 0xffffffffU : (__u32)full;
	if (full > len) {
		b->e.h.flags |= AOD_PROCF_ARGV_TRUNC;
		cnt(AOD_PROC_CNT_ARGV_TRUNC);
	}
	barrier_var(len);
	len &= AOD_PROC_ARGV_MAX * 2 - 1;
	if (len > AOD_PROC_ARGV_MAX)
		len = AOD_PROC_ARGV_MAX;
	barrier_var(len);
	if (len && bpf_probe_read_user(b->argv, len, (const void *)start)) {
		b->e.h.flags |= AOD_PROCF_ARGV_FAULT;
		cnt(AOD_PROC_CNT_ARGV_FAULT);
		return 0;
	}
	return len;
}

static __always_inline int on_exec(struct task_struct *task, pid_t old_pid,
				   struct linux_binprm *bprm)
{
	struct aod_proc_knobs *k = knobs();
	__u32 tgid = BPF_CORE_READ(task, tgid), cpu = bpf_get_smp_processor_id(), st = 0, *pst;
	__u32 size;
	struct exec_buf *b;
	long n;

	if (!k)
		return 0;
	pst = bpf_map_lookup_elem(&proc_state, &tgid);
	if (pst)
		st = *pst;
	if (k->tree_only && !(st & AOD_PSTATE_TRACKED))
		return 0;
	b = bpf_map_lookup_elem(&proc_scratch, &cpu);
	if (!b)
		return 0;
	cnt(AOD_PROC_CNT_EXECS);
	fill_hdr(&b->e.h, AOD_PROC_EXEC, task);
	if (st & AOD_PSTATE_TRACKED)
		b->e.h.flags |= AOD_PROCF_IN_TREE;
	b->e.old_pid = old_pid;
	n = bpf_probe_read_kernel_str(b->e.filename, sizeof(b->e.filename),
				      BPF_CORE_READ(bprm, filename));
	if (n < 1)
		n = 1;
	st &= ~AOD_PSTATE_FILTERED;
	if (bpf_map_lookup_elem(&proc_ignore_comm, b->e.h.comm) ||
	    exe_ignored(k, b->e.filename, (__u32)n - 1))
		st |= AOD_PSTATE_FILTERED;
	if (bpf_map_update_elem(&proc_state, &tgid, &st, BPF_ANY))
		cnt(AOD_PROC_CNT_STATE_FULL);
	if (st & AOD_PSTATE_FILTERED) {
		cnt(AOD_PROC_CNT_FILTERED);
		return 0;
	}
	b->e.argv_len = read_argv(b, task, k->argv_cap);
	b->e.pad = 0;
	/* a bound the verifier can see on the very register passed on */
	size = b->e.argv_len;
	barrier_var(size);
	size &= AOD_PROC_ARGV_MAX * 2 - 1;
	if (size > AOD_PROC_ARGV_MAX)
		size = AOD_PROC_ARGV_MAX;
	barrier_var(size);
	size += sizeof(b->e);
	if (bpf_ringbuf_output(&proc_events, b, size, rb_flags())) {
		cnt(AOD_PROC_CNT_RB_DROPS);
		return 0;
	}
	cnt(AOD_PROC_CNT_EVENTS);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(aod_proc_exec_bt, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(p, old_pid, bprm);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(aod_proc_exec_rt, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(p, old_pid, bprm);
}

/* ---- exit ---- */

static __always_inline int on_exit(struct task_struct *task)
{
	struct aod_proc_knobs *k = knobs();
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	__u32 tgid = BPF_CORE_READ(task, tgid), st = 0, *pst, flags = 0;
	struct aod_proc_exit *x;
	int code;

	if (!k || BPF_CORE_READ(sig, live.counter) != 0)
		return 0; /* other threads still run */
	pst = bpf_map_lookup_elem(&proc_state, &tgid);
	if (pst)
		st = *pst;
	if (k->tree_only && !(st & AOD_PSTATE_TRACKED))
		return 0;
	if (!pst) {
		flags |= AOD_PROCF_NOSTATE;
		cnt(AOD_PROC_CNT_NOSTATE);
	}
	if (pst)
		bpf_map_delete_elem(&proc_state, &tgid);
	if (!(st & AOD_PSTATE_FILTERED))
		cnt(AOD_PROC_CNT_EXITS);
	x = bpf_ringbuf_reserve(&proc_events, sizeof(*x), 0);
	if (!x) {
		cnt(AOD_PROC_CNT_RB_DROPS);
		return 0;
	}
	fill_hdr(&x->h, AOD_PROC_EXIT, task);
	if (st & AOD_PSTATE_FILTERED) {
		/* withdraws the process: the filter hides it, fork included */
		x->h.flags = AOD_PROCF_FILTERED | (st & AOD_PSTATE_TRACKED ? AOD_PROCF_IN_TREE : 0);
		bpf_ringbuf_submit(x, rb_flags());
		cnt(AOD_PROC_CNT_EVENTS);
		return 0;
	}
	if (st & AOD_PSTATE_TRACKED)
		flags |= AOD_PROCF_IN_TREE;
	if (BPF_CORE_READ(sig, oom_mm))
		flags |= AOD_PROCF_OOM;
	x->h.flags = flags;
	code = BPF_CORE_READ(task, exit_code);
	if (BPF_CORE_READ(sig, flags) & SIGNAL_GROUP_EXIT)
		code = BPF_CORE_READ(sig, group_exit_code);
	x->exit_code = code;
	x->pad = 0;
	x->runtime_ns = BPF_CORE_READ(sig, sum_sched_runtime) +
			BPF_CORE_READ(task, se.sum_exec_runtime);
	x->utime_ns = BPF_CORE_READ(sig, utime) + BPF_CORE_READ(task, utime);
	x->stime_ns = BPF_CORE_READ(sig, stime) + BPF_CORE_READ(task, stime);
	x->prev_utime_ns = BPF_CORE_READ(sig, prev_cputime.utime);
	x->prev_stime_ns = BPF_CORE_READ(sig, prev_cputime.stime);
	x->maxrss_pages = BPF_CORE_READ(sig, maxrss);
	x->minflt = BPF_CORE_READ(sig, min_flt) + BPF_CORE_READ(task, min_flt);
	x->majflt = BPF_CORE_READ(sig, maj_flt) + BPF_CORE_READ(task, maj_flt);
	x->nvcsw = BPF_CORE_READ(sig, nvcsw) + BPF_CORE_READ(task, nvcsw);
	x->nivcsw = BPF_CORE_READ(sig, nivcsw) + BPF_CORE_READ(task, nivcsw);
	bpf_ringbuf_submit(x, rb_flags());
	cnt(AOD_PROC_CNT_EVENTS);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(aod_proc_exit_bt, struct task_struct *p)
{
	return on_exit(p);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(aod_proc_exit_rt, struct task_struct *p)
{
	return on_exit(p);
}

/* ---- failed execs (opt-in) ---- */

/* sys_exit runs for every syscall of every task: loaded only on request
 * (aod trace --failed-execs), it costs every syscall while attached. */
#if defined(__TARGET_ARCH_x86)
#define NR_EXECVE 59
#define NR_EXECVEAT 322
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define NR_EXECVE 221
#define NR_EXECVEAT 281
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, syscallno)
#endif

static __always_inline int on_sys_exit(struct pt_regs *regs, long ret)
{
#ifdef NR_EXECVE
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct aod_proc_knobs *k;
	struct aod_proc_exec_failed *f;
	__u32 tgid, st = 0, *pst;
	long nr;
	const char *path;

	if (ret >= 0)
		return 0;
	nr = SYSCALL_NR(regs);
	if (nr != NR_EXECVE && nr != NR_EXECVEAT)
		return 0;
	k = knobs();
	tgid = bpf_get_current_pid_tgid() >> 32;
	pst = bpf_map_lookup_elem(&proc_state, &tgid);
	if (pst)
		st = *pst;
	if (!k || (k->tree_only && !(st & AOD_PSTATE_TRACKED)))
		return 0;
	f = bpf_ringbuf_reserve(&proc_events, sizeof(*f), 0);
	if (!f) {
		cnt(AOD_PROC_CNT_RB_DROPS);
		return 0;
	}
	fill_hdr(&f->h, AOD_PROC_EXEC_FAILED, task);
	f->h.flags = st & AOD_PSTATE_TRACKED ? AOD_PROCF_IN_TREE : 0;
	f->error = (__s32)ret;
	f->pad = 0;
	path = nr == NR_EXECVE ? (const char *)PT_REGS_PARM1_CORE(regs)
			       : (const char *)PT_REGS_PARM2_CORE(regs);
	if (bpf_probe_read_user_str(f->filename, sizeof(f->filename), path) < 0)
		f->filename[0] = '\0';
	bpf_ringbuf_submit(f, rb_flags());
	cnt(AOD_PROC_CNT_EVENTS);
#endif
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(aod_proc_sysexit_bt, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(aod_proc_sysexit_rt, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret);
}

/* ---- seed: the processes already running ---- */

/* Read once by user space right after attach (bpf_iter): one header per
 * process (thread group leaders only), and a state entry for each, so that
 * their exits are not taken for losses. A process forked meanwhile is
 * seen by both the iterator and the fork program: user space keeps one. */
static __always_inline void seed_write(struct seq_file *seq, struct task_struct *task)
{
	struct aod_proc_hdr h;
	__u32 tgid = BPF_CORE_READ(task, tgid), st = 0;

	bpf_map_update_elem(&proc_state, &tgid, &st, BPF_NOEXIST);
	fill_hdr(&h, AOD_PROC_FORK, task);
	h.flags = AOD_PROCF_SEEDED;
	bpf_seq_write(seq, &h, sizeof(h));
}

/* init was written (by the walk, or as a parent): see aod_proc_seed */
bool seed_init_done;

SEC("iter/task")
int aod_proc_seed(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task, *parent;

	if (!task || task->pid != task->tgid)
		return 0;
	/*
	 * On some kernels (6.18 here) the walk never yields PID 1 itself, not
	 * even when asked for it by pid, though every orphan's real_parent is
	 * it: so init is written once from the first process whose parent it
	 * is, which also gives its exact identity.
	 */
	parent = task->real_parent;
	if (task->tgid == 1) {
		seed_init_done = true;
	} else if (!seed_init_done && parent && BPF_CORE_READ(parent, tgid) == 1) {
		seed_init_done = true;
		seed_write(ctx->meta->seq, BPF_CORE_READ(parent, group_leader));
	}
	seed_write(ctx->meta->seq, task);
	return 0;
}
