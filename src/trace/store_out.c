// SPDX-License-Identifier: MIT
/*
 * A trace into the store schema (src/store, docs/store.md): one run of
 * kind "trace", one row per process, in one transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "trace/trace.h"

static void proc_row(const struct trace_table *t, const struct trace_proc *p,
		     struct aod_store_proc *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->id = (struct aod_proc_id){ .start_ns = p->start_ns, .tgid = p->tgid };
	sp->parent = (struct aod_proc_id){ .start_ns = p->pstart_ns, .tgid = p->ppid };
	sp->start_wall_ns = p->start_wall_ns;
	sp->exec_wall_ns = p->exec_wall_ns;
	sp->uid = p->uid;
	sp->cgroup_id = p->cgroup_id;
	sp->unit = aod_cgroups_unit(&t->cgroups, p->cgroup_id);
	memcpy(sp->comm, p->comm, sizeof(sp->comm) < AOD_PROC_COMM_LEN ? sizeof(sp->comm)
									: AOD_PROC_COMM_LEN);
	sp->filename = p->filename;
	sp->argv = p->argv;
	sp->argv_len = p->argv_len;
	sp->argv_truncated = p->argv_truncated;
	sp->in_tree = p->in_tree;
	sp->seeded = p->seeded;
}

static int put_proc(struct aod_store *st, int64_t run, const struct trace_table *t,
		    const struct trace_proc *p)
{
	struct aod_store_proc sp;
	struct aod_store_proc_exit x;
	int err;

	proc_row(t, p, &sp);
	err = aod_store_proc_start(st, run, &sp);
	if (!err && p->execs)
		err = aod_store_proc_exec(st, run, &sp);
	if (err || !p->exited)
		return err;
	x = (struct aod_store_proc_exit){
		.id = sp.id,
		.exit_wall_ns = p->exit_wall_ns,
		.duration_ns = p->duration_ns,
		.exit_code = p->exit_code,
		.signal = p->signal,
		.core_dumped = p->core_dumped,
		.cpu_user_ns = p->cpu_user_ns,
		.cpu_sys_ns = p->cpu_sys_ns,
		.peak_rss_bytes = p->maxrss_bytes,
		.minflt = p->minflt,
		.majflt = p->majflt,
		.nvcsw = p->nvcsw,
		.nivcsw = p->nivcsw,
		.oom_killed = p->oom_killed,
	};
	return aod_store_proc_exit(st, run, &x);
}

int trace_store_write(const char *path, const struct trace_table *t, const struct trace_run *r,
		      char *err, size_t errlen)
{
	struct aod_store *st;
	struct aod_store_run run = {
		.kind = "trace",
		.started_wall_ns = r->started_wall_ns,
		.command = r->command,
	};
	int64_t run_id;
	int e;

	for (uint32_t i = 0; i < t->n; i++)
		if (t->v[i].root)
			run.root = (struct aod_proc_id){ .start_ns = t->v[i].start_ns,
							 .tgid = t->v[i].tgid };
	e = aod_store_open(path, &st, err, errlen);
	if (e)
		return e;
	e = aod_store_begin(st);
	if (!e)
		e = aod_store_run_begin(st, &run, &run_id);
	for (uint32_t i = 0; !e && i < t->n; i++)
		if (!t->v[i].filtered)
			e = put_proc(st, run_id, t, &t->v[i]);
	for (uint32_t i = 0; !e && i < t->nfailed; i++) {
		const struct trace_exec_failed *x = &t->failed[i];
		struct aod_store_exec_failed f = {
			.wall_ns = x->wall_ns,
			.id = { .start_ns = x->start_ns, .tgid = x->tgid },
			.pid = x->pid,
			.filename = x->filename,
			.error = x->error,
		};

		memcpy(f.comm, x->comm, sizeof(f.comm));
		e = aod_store_put_exec_failed(st, run_id, &f);
	}
	if (!e)
		e = aod_store_run_end(st, run_id, r->ended_wall_ns, r->exit_status);
	if (!e)
		e = aod_store_commit(st);
	if (e) {
		snprintf(err, errlen, "%s: %s", path, aod_store_errmsg(st));
		if (aod_store_in_transaction(st))
			aod_store_rollback(st);
	}
	aod_store_close(st);
	return e;
}
