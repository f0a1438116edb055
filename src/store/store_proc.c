// SPDX-License-Identifier: MIT
/*
 * Process records: one row per process and run, keyed by (run_id,
 * start_ns, tgid), filled by whichever of start, exec, oom and exit comes
 * (an upsert each). What each call may change:
 *  - start (fork, /proc seed) fills only what is still unknown;
 *  - exec replaces the image (comm, filename, argv, exec time) and counts it;
 *  - oom sets oom_killed, which no later call clears;
 *  - exit sets the exit fields.
 * A failed exec (probes.proc.failed_execs) is an event of kind exec_failed,
 * as aod trace writes it (src/trace/store_out.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "probe/proc_probe.h"
#include "store/store_int.h"
#include "store/store_queue.h"

/* argv (NUL-separated) as one line, arguments joined by single spaces. */
static char *join_argv(const char *argv, size_t len)
{
	char *line;

	while (len && argv[len - 1] == '\0')
		len--;
	line = malloc(len + 1);
	if (!line)
		return NULL;
	for (size_t i = 0; i < len; i++)
		line[i] = argv[i] ? argv[i] : ' ';
	line[len] = '\0';
	return line;
}

static int bind_proc(sqlite3_stmt *s, int64_t run_id, const struct aod_store_proc *p)
{
	char *cmdline = NULL;

	if (p->argv && !(cmdline = join_argv(p->argv, p->argv_len)))
		return -ENOMEM;
	store_bind_i64(s, ":run", run_id);
	store_bind_u64(s, ":start", p->id.start_ns);
	store_bind_i64(s, ":tgid", p->id.tgid);
	if (p->parent.tgid) {
		store_bind_u64(s, ":pstart", p->parent.start_ns);
		store_bind_i64(s, ":ppid", p->parent.tgid);
	}
	if (p->uid >= 0)
		store_bind_i64(s, ":uid", p->uid);
	store_bind_nz(s, ":cgroup", p->cgroup_id);
	store_bind_text(s, ":unit", p->unit);
	if (p->comm[0])
		store_bind_textn(s, ":comm", p->comm, strnlen(p->comm, sizeof(p->comm)));
	store_bind_text(s, ":filename", p->filename);
	store_bind_text(s, ":cmdline", cmdline);
	if (p->argv)
		sqlite3_bind_blob(s, sqlite3_bind_parameter_index(s, ":argv"), p->argv,
				  (int)p->argv_len, SQLITE_TRANSIENT);
	store_bind_i64(s, ":truncated", p->argv_truncated);
	store_bind_text(s, ":cwd", p->cwd);
	store_bind_nz(s, ":start_wall", p->start_wall_ns);
	store_bind_nz(s, ":exec_wall", p->exec_wall_ns);
	store_bind_i64(s, ":seeded", p->seeded);
	if (p->in_tree >= 0)
		store_bind_i64(s, ":in_tree", p->in_tree > 0);
	free(cmdline);
	return 0;
}

int aod_store_proc_start(struct aod_store *st, int64_t run_id, const struct aod_store_proc *p)
{
	sqlite3_stmt *s = st->stmt[ST_PROC_START];
	int err = bind_proc(s, run_id, p);

	if (err)
		return err;
	store_bind_i64(s, ":execs", p->exec_wall_ns ? 1 : 0);
	return store_exec_stmt(st, s);
}

int aod_store_proc_exec(struct aod_store *st, int64_t run_id, const struct aod_store_proc *p)
{
	sqlite3_stmt *s = st->stmt[ST_PROC_EXEC];
	int err = bind_proc(s, run_id, p);

	if (err)
		return err;
	store_bind_i64(s, ":execs", 1);
	return store_exec_stmt(st, s);
}

int aod_store_proc_exit(struct aod_store *st, int64_t run_id, const struct aod_store_proc_exit *x)
{
	sqlite3_stmt *s = st->stmt[ST_PROC_EXIT];

	store_bind_i64(s, ":run", run_id);
	store_bind_u64(s, ":start", x->id.start_ns);
	store_bind_i64(s, ":tgid", x->id.tgid);
	store_bind_u64(s, ":exit_wall", x->exit_wall_ns);
	store_bind_u64(s, ":duration", x->duration_ns);
	store_bind_i64(s, ":code", x->exit_code);
	store_bind_i64(s, ":signal", x->signal);
	store_bind_i64(s, ":core", x->core_dumped);
	store_bind_u64(s, ":utime", x->cpu_user_ns);
	store_bind_u64(s, ":stime", x->cpu_sys_ns);
	store_bind_u64(s, ":rss", x->peak_rss_bytes);
	store_bind_u64(s, ":minflt", x->minflt);
	store_bind_u64(s, ":majflt", x->majflt);
	store_bind_u64(s, ":nvcsw", x->nvcsw);
	store_bind_u64(s, ":nivcsw", x->nivcsw);
	store_bind_i64(s, ":oom", x->oom_killed);
	return store_exec_stmt(st, s);
}

int aod_store_proc_oom(struct aod_store *st, int64_t run_id, struct aod_proc_id id)
{
	sqlite3_stmt *s = st->stmt[ST_PROC_OOM];

	store_bind_i64(s, ":run", run_id);
	store_bind_u64(s, ":start", id.start_ns);
	store_bind_i64(s, ":tgid", id.tgid);
	return store_exec_stmt(st, s);
}

/* ---- the process probe's records, for the store queue ---- */

/* A failed exec: the process that tried (its image unchanged: the exec did
 * not happen), the thread, the path and the errno. mono_ns: the probe's
 * clock is CLOCK_BOOTTIME; the same instant on CLOCK_MONOTONIC, as the
 * dispatcher dates process exits. */
static int rec_exec_failed(struct aod_store_rec *rec, const struct aod_proc_event *ev)
{
	const struct aod_proc_hdr *h = ev->h;
	uint64_t now_wall = aod_wall_ns(), now_mono = aod_mono_ns();

	memset(rec, 0, sizeof(*rec));
	rec->kind = AOD_STORE_REC_EXEC_FAILED;
	rec->exec_failed = (struct aod_store_exec_failed){
		.wall_ns = ev->wall_ns,
		.mono_ns = now_wall > ev->wall_ns && now_mono > now_wall - ev->wall_ns
				   ? now_mono - (now_wall - ev->wall_ns) : now_mono,
		.id = { .start_ns = h->start_ns, .tgid = h->tgid },
		.pid = h->pid,
		.error = ev->exec_error,
	};
	memcpy(rec->exec_failed.comm, h->comm,
	       sizeof(rec->exec_failed.comm) < sizeof(h->comm) ? sizeof(rec->exec_failed.comm)
							       : sizeof(h->comm));
	if (ev->filename && !(rec->exec_failed.filename = strdup(ev->filename))) {
		rec->kind = 0;
		return -ENOMEM;
	}
	return 0;
}

int aod_store_rec_from_proc(struct aod_store_rec *rec, const struct aod_proc_event *ev)
{
	const struct aod_proc_hdr *h = ev->h;
	struct aod_store_proc p = {
		.id = { .start_ns = h->start_ns, .tgid = h->tgid },
		.parent = { .start_ns = h->pstart_ns, .tgid = h->ppid },
		.start_wall_ns = ev->start_wall_ns,
		.uid = h->uid,
		.cgroup_id = h->cgroup_id,
		.filename = ev->filename,
		.argv = ev->argv,
		.argv_len = ev->argv_len,
		.argv_truncated = ev->argv_truncated,
		.seeded = (h->flags & AOD_PROCF_SEEDED) != 0,
		.in_tree = -1,
	};

	memcpy(p.comm, h->comm, sizeof(p.comm) < sizeof(h->comm) ? sizeof(p.comm) : sizeof(h->comm));
	switch (h->kind) {
	case AOD_PROC_FORK:
		return aod_store_rec_proc(rec, AOD_STORE_REC_PROC_START, &p);
	case AOD_PROC_EXEC:
		p.exec_wall_ns = ev->wall_ns;
		return aod_store_rec_proc(rec, AOD_STORE_REC_PROC_EXEC, &p);
	case AOD_PROC_EXIT:
		if (h->flags & AOD_PROCF_FILTERED)
			return 1; /* nothing to store: the filter hides the process */
		memset(rec, 0, sizeof(*rec));
		rec->kind = AOD_STORE_REC_PROC_EXIT;
		rec->proc_exit = (struct aod_store_proc_exit){
			.id = p.id,
			.exit_wall_ns = ev->wall_ns,
			.duration_ns = ev->duration_ns,
			.exit_code = ev->exit_code,
			.signal = ev->signal,
			.core_dumped = ev->core_dumped,
			.cpu_user_ns = ev->cpu_user_ns,
			.cpu_sys_ns = ev->cpu_sys_ns,
			.peak_rss_bytes = ev->maxrss_bytes,
			.minflt = ev->minflt,
			.majflt = ev->majflt,
			.nvcsw = ev->nvcsw,
			.nivcsw = ev->nivcsw,
			.oom_killed = ev->oom_killed,
		};
		return 0;
	case AOD_PROC_EXEC_FAILED:
		return rec_exec_failed(rec, ev);
	}
	return -EINVAL;
}
