// SPDX-License-Identifier: MIT
/*
 * The run's process table: one entry per (start_ns, tgid), filled by
 * whichever records come, hashed by tgid.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/trace.h"

#define TRACE_BUCKETS 4096

int trace_table_init(struct trace_table *t, uint32_t root_tgid)
{
	memset(t, 0, sizeof(*t));
	t->bucket = calloc(TRACE_BUCKETS, sizeof(*t->bucket));
	t->root_tgid = root_tgid;
	return t->bucket ? 0 : -ENOMEM;
}

void trace_table_free(struct trace_table *t)
{
	for (uint32_t i = 0; i < t->n; i++) {
		free(t->v[i].filename);
		free(t->v[i].argv);
	}
	free(t->v);
	free(t->bucket);
	free(t->failed);
	aod_cgroups_free(&t->cgroups);
	memset(t, 0, sizeof(*t));
}

static int find(const struct trace_table *t, uint64_t start_ns, uint32_t tgid)
{
	for (uint32_t i = t->bucket[tgid % TRACE_BUCKETS]; i; i = t->v[i - 1].next)
		if (t->v[i - 1].tgid == tgid && t->v[i - 1].start_ns == start_ns)
			return (int)i - 1;
	return -1;
}

static struct trace_proc *get(struct trace_table *t, const struct aod_proc_hdr *h, bool *created)
{
	int i = find(t, h->start_ns, h->tgid);
	struct trace_proc *p;

	*created = i < 0;
	if (i >= 0)
		return &t->v[i];
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 256;
		struct trace_proc *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	p = &t->v[t->n];
	memset(p, 0, sizeof(*p));
	p->start_ns = h->start_ns;
	p->tgid = h->tgid;
	p->pstart_ns = h->pstart_ns;
	p->ppid = h->ppid;
	p->uid = h->uid;
	p->cgroup_id = h->cgroup_id;
	memcpy(p->comm, h->comm, AOD_PROC_COMM_LEN);
	p->in_tree = (h->flags & AOD_PROCF_IN_TREE) != 0;
	p->root = h->tgid == t->root_tgid && p->in_tree;
	p->parent = -1;
	p->next = t->bucket[h->tgid % TRACE_BUCKETS];
	t->bucket[h->tgid % TRACE_BUCKETS] = ++t->n;
	return p;
}

/* filename and argv of ev (an exec, or a seed's from /proc). */
static int set_image(struct trace_proc *p, const struct aod_proc_event *ev)
{
	char *fn = ev->filename ? strdup(ev->filename) : NULL;
	char *argv = malloc(ev->argv_len ? ev->argv_len : 1);

	if ((ev->filename && !fn) || !argv) {
		free(fn);
		free(argv);
		return -ENOMEM;
	}
	free(p->filename);
	free(p->argv);
	p->filename = fn;
	p->argv = argv;
	if (ev->argv)
		memcpy(argv, ev->argv, ev->argv_len);
	p->argv_len = ev->argv ? ev->argv_len : 0;
	p->argv_truncated = ev->argv_truncated;
	return 0;
}

static int proc_execed(struct trace_proc *p, const struct aod_proc_event *ev)
{
	int err = set_image(p, ev);

	if (err)
		return err;
	p->exec_wall_ns = ev->wall_ns;
	p->execs++;
	memcpy(p->comm, ev->h->comm, AOD_PROC_COMM_LEN);
	p->uid = ev->h->uid;
	p->cgroup_id = ev->h->cgroup_id;
	return 0;
}

static void proc_exited(struct trace_table *t, struct trace_proc *p, const struct aod_proc_event *ev)
{
	if (p->exited) {
		t->dup_exits++;
		return;
	}
	p->exited = true;
	p->exit_wall_ns = ev->wall_ns;
	p->duration_ns = ev->duration_ns;
	p->exit_code = ev->exit_code;
	p->signal = ev->signal;
	p->core_dumped = ev->core_dumped;
	p->oom_killed = ev->oom_killed;
	p->cpu_user_ns = ev->cpu_user_ns;
	p->cpu_sys_ns = ev->cpu_sys_ns;
	p->maxrss_bytes = ev->maxrss_bytes;
	p->minflt = ev->minflt;
	p->majflt = ev->majflt;
	p->nvcsw = ev->nvcsw;
	p->nivcsw = ev->nivcsw;
	if (!p->execs)
		memcpy(p->comm, ev->h->comm, AOD_PROC_COMM_LEN);
}

static int add_failed(struct trace_table *t, const struct aod_proc_event *ev)
{
	struct trace_exec_failed *f;

	if (t->nfailed == t->capfailed) {
		uint32_t cap = t->capfailed ? t->capfailed * 2 : 16;
		struct trace_exec_failed *v = realloc(t->failed, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->failed = v;
		t->capfailed = cap;
	}
	f = &t->failed[t->nfailed++];
	memset(f, 0, sizeof(*f));
	f->tgid = ev->h->tgid;
	f->pid = ev->h->pid;
	f->start_ns = ev->h->start_ns;
	f->wall_ns = ev->wall_ns;
	f->error = ev->exec_error;
	f->in_tree = (ev->h->flags & AOD_PROCF_IN_TREE) != 0;
	memcpy(f->comm, ev->h->comm, AOD_PROC_COMM_LEN);
	snprintf(f->filename, sizeof(f->filename), "%s", ev->filename ? ev->filename : "");
	return 0;
}

int trace_table_add(struct trace_table *t, const struct aod_proc_event *ev)
{
	const struct aod_proc_hdr *h = ev->h;
	bool created;
	struct trace_proc *p;

	if (h->kind == AOD_PROC_EXEC_FAILED)
		return add_failed(t, ev);
	p = get(t, h, &created);
	if (p && h->kind == AOD_PROC_EXIT && (h->flags & AOD_PROCF_FILTERED)) {
		/* withdrawn: the filter hides it; it no longer keeps the trace open */
		if (!created && p->in_tree && !p->exited && !p->exit_lost && t->live_in_tree)
			t->live_in_tree--;
		if (p->exit_lost) {
			p->exit_lost = false;
			t->exits_lost--;
		}
		p->filtered = true;
		p->exited = true;
		return 0;
	}

	if (!p)
		return -ENOMEM;
	if (created) {
		p->start_wall_ns = ev->start_wall_ns;
		if (p->in_tree && h->kind != AOD_PROC_EXIT)
			t->live_in_tree++;
		if (h->kind == AOD_PROC_EXIT && !p->root)
			t->exit_unseen++;
	}
	if (!created && (h->flags & AOD_PROCF_IN_TREE) && !p->in_tree) {
		/* tracked after its fork record was written (the root under --all) */
		p->in_tree = true;
		p->root = h->tgid == t->root_tgid;
		if (!p->exited && h->kind != AOD_PROC_EXIT)
			t->live_in_tree++;
	}
	switch (h->kind) {
	case AOD_PROC_FORK:
		p->forked_seen = true;
		p->seeded = (h->flags & AOD_PROCF_SEEDED) != 0;
		if (p->seeded && ev->argv && !p->argv)
			return set_image(p, ev);
		return 0;
	case AOD_PROC_EXEC:
		return proc_execed(p, ev);
	case AOD_PROC_EXIT:
		if (!p->exited && !created && p->in_tree && !p->exit_lost && t->live_in_tree)
			t->live_in_tree--;
		if (p->exit_lost) { /* its exit came after all */
			p->exit_lost = false;
			t->exits_lost--;
		}
		proc_exited(t, p, ev);
		return 0;
	}
	return 0;
}

/* Is the process (start_ns, tgid) still there? /proc/PID/stat's start
 * time is in clock ticks of the same clock. */
static bool still_there(const struct trace_proc *p)
{
	char path[64], buf[1024], *rp;
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", p->tgid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	if (!rp || hz <= 0)
		return true; /* cannot tell: assume it is */
	/* fields after comm: state(3) ... starttime(22) */
	if (sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
		   "%*d %*d %llu", &ticks) != 1)
		return true;
	return ticks == p->start_ns / (1000000000ULL / (unsigned long long)hz);
}

uint32_t trace_table_reap_lost(struct trace_table *t)
{
	uint32_t lost = 0;

	for (uint32_t i = 0; i < t->n; i++) {
		struct trace_proc *p = &t->v[i];

		if (!p->in_tree || p->exited || p->exit_lost || still_there(p))
			continue;
		p->exit_lost = true;
		t->exits_lost++;
		if (t->live_in_tree)
			t->live_in_tree--;
		lost++;
	}
	return lost;
}

void trace_table_link(struct trace_table *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		t->v[i].parent = find(t, t->v[i].pstart_ns, t->v[i].ppid);
}

void trace_proc_cmdline(const struct trace_proc *p, char *out, size_t len)
{
	size_t n = p->argv_len;

	if (!len)
		return;
	while (n && p->argv && p->argv[n - 1] == '\0')
		n--;
	if (!p->argv || !n) {
		snprintf(out, len, "%s", p->comm);
		return;
	}
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = p->argv[i] ? p->argv[i] : ' ';
	out[n] = '\0';
}
