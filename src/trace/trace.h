/* SPDX-License-Identifier: MIT */
/*
 * `aod trace`: the processes of one run, as the process probe reported
 * them, kept in memory until the run ends, then reported (text or JSON)
 * and optionally written to a store file. One thread.
 *
 * A process is (start_ns, tgid); records may come in any order the ring
 * delivers them (an exit can be the first record of a process whose fork
 * was lost: it is kept, and counted as unseen).
 */
#ifndef AOD_TRACE_TRACE_H
#define AOD_TRACE_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "probe/proc_probe.h"
#include "common/cgroup_unit.h"

struct trace_proc {
	uint64_t start_ns;
	uint32_t tgid;
	uint64_t pstart_ns;
	uint32_t ppid;
	uint32_t uid;
	uint64_t cgroup_id;
	char comm[AOD_PROC_COMM_LEN + 1];
	char *filename;
	char *argv;            /* NUL-separated */
	size_t argv_len;
	bool argv_truncated;
	uint32_t execs;
	uint64_t start_wall_ns, exec_wall_ns, exit_wall_ns;
	bool in_tree;
	bool root;
	bool forked_seen;      /* its fork record came */
	bool seeded;           /* already running when the trace began (--all) */
	bool filtered;         /* its image was filtered: left out of reports */
	bool exited;
	bool exit_lost;        /* gone, but no exit record came */
	int exit_code, signal;
	bool core_dumped, oom_killed;
	uint64_t duration_ns, cpu_user_ns, cpu_sys_ns, maxrss_bytes;
	uint64_t minflt, majflt, nvcsw, nivcsw;
	uint32_t next;         /* hash chain (index + 1; 0 ends) */
	int parent;            /* index of the parent in the table, -1 if not in it */
};

struct trace_exec_failed {
	uint32_t tgid, pid;
	uint64_t start_ns, wall_ns;
	char comm[AOD_PROC_COMM_LEN + 1];
	char filename[AOD_PROC_FILENAME_LEN];
	int error;                 /* negative errno */
	bool in_tree;
};

struct trace_table {
	struct trace_proc *v;
	uint32_t n, cap;
	uint32_t *bucket;      /* TRACE_BUCKETS heads, index + 1 */
	uint32_t live_in_tree; /* started, not exited */
	uint64_t dup_exits;    /* a second exit for one process (threads racing) */
	uint64_t exit_unseen;  /* exits of processes whose fork and exec never came */
	uint64_t exits_lost;   /* processes gone without an exit record */
	uint32_t root_tgid;
	struct trace_exec_failed *failed; /* execs that failed (--failed-execs) */
	uint32_t nfailed, capfailed;
	struct aod_cgroups cgroups; /* cgroup id -> unit, loaded after the run */
};

int trace_table_init(struct trace_table *t, uint32_t root_tgid);
void trace_table_free(struct trace_table *t);
/* A probe record; -ENOMEM if it could not be kept. */
int trace_table_add(struct trace_table *t, const struct aod_proc_event *ev);
/* Live in-tree processes that are gone from the kernel are marked lost
 * (their exit record was dropped). Returns how many were. */
uint32_t trace_table_reap_lost(struct trace_table *t);
/* Parent links and nothing else: call once after the run. */
void trace_table_link(struct trace_table *t);
/* The command line: argv joined by spaces (comm when no exec was seen). */
void trace_proc_cmdline(const struct trace_proc *p, char *out, size_t len);

struct trace_run {
	const char *command;       /* the traced command line */
	uint64_t started_wall_ns, ended_wall_ns;
	int exit_status;           /* as the shell reports it: code, or 128 + signal */
	const char *mode;          /* attach mode */
	uint64_t counters[AOD_PROC_CNT_MAX];
	bool all;                  /* --all */
};

void trace_report_text(FILE *f, const struct trace_table *t, const struct trace_run *r);
int trace_report_json(FILE *f, const struct trace_table *t, const struct trace_run *r);
/* Write the run and its processes to the store at path; err gets one
 * sentence. 0 or -errno. */
int trace_store_write(const char *path, const struct trace_table *t, const struct trace_run *r,
		      char *err, size_t errlen);

#endif /* AOD_TRACE_TRACE_H */
