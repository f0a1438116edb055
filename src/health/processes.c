// SPDX-License-Identifier: MIT
/*
 * The processes part (--processes): the process probe loaded before the
 * analysis starts and closed when it ends, read by a thread of its own
 * (the seed polled its perf buffers in the main thread while the analyses
 * ran in a worker). Each exec and each exit is counted against the cgroup
 * it happened in (the probe's cgroup v2 id), per command (comm); an exit
 * is failed when its code is not 0 or a signal ended it, and carries the
 * whole CPU time of the process. At the end the cgroup ids are mapped to
 * paths and units (common/cgroup_unit.c) by walking the cgroup2 hierarchy,
 * once before the analysis too so that a cgroup removed meanwhile keeps
 * its name.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "health/health_int.h"
#include "health/hjson.h"
#include "health/processes.h"

#define NSLOT 16384 /* > 2 * AOD_PROCS_MAX_CGROUPS */
#define OTHER "(other)"
#define POLL_MS 100
#define ARGV_CAP 256 /* argv is not used: the least the probe copies */

/* ---- counting ---- */

int aod_procs_agg_init(struct aod_procs_agg *a)
{
	memset(a, 0, sizeof(*a));
	a->slot = calloc(NSLOT, sizeof(*a->slot));
	if (!a->slot)
		return -ENOMEM;
	a->nslot = NSLOT;
	return 0;
}

void aod_procs_agg_free(struct aod_procs_agg *a)
{
	for (uint32_t i = 0; i < a->ncg; i++)
		free(a->cg[i].cmds);
	free(a->cg);
	free(a->slot);
	memset(a, 0, sizeof(*a));
}

static uint32_t hash_id(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (uint32_t)id;
}

static struct aod_procs_cg *cgroup_of(struct aod_procs_agg *a, uint64_t id)
{
	uint32_t mask = a->nslot - 1, i = hash_id(id) & mask;
	struct aod_procs_cg *v;

	for (; a->slot[i]; i = (i + 1) & mask)
		if (a->cg[a->slot[i] - 1].id == id)
			return &a->cg[a->slot[i] - 1];
	if (a->ncg == AOD_PROCS_MAX_CGROUPS)
		return NULL;
	if (a->ncg == a->capcg) {
		uint32_t cap = a->capcg ? a->capcg * 2 : 32;

		if (!(v = realloc(a->cg, cap * sizeof(*v))))
			return NULL;
		a->cg = v;
		a->capcg = cap;
	}
	memset(&a->cg[a->ncg], 0, sizeof(a->cg[a->ncg]));
	a->cg[a->ncg].id = id;
	a->slot[i] = ++a->ncg;
	return &a->cg[a->ncg - 1];
}

static struct aod_procs_cmd *command_of(struct aod_procs_cg *g, const char *comm)
{
	struct aod_procs_cmd *v;
	uint32_t i;

	for (i = 0; i < g->ncmds; i++)
		if (!strcmp(g->cmds[i].comm, comm))
			return &g->cmds[i];
	if (g->ncmds >= AOD_PROCS_MAX_COMMANDS - 1 && strcmp(comm, OTHER))
		return command_of(g, OTHER); /* the last slot takes every further command */
	if (g->ncmds == g->capcmds) {
		uint32_t cap = g->capcmds ? g->capcmds * 2 : 4;

		if (!(v = realloc(g->cmds, cap * sizeof(*v))))
			return NULL;
		g->cmds = v;
		g->capcmds = cap;
	}
	v = &g->cmds[g->ncmds++];
	memset(v, 0, sizeof(*v));
	snprintf(v->comm, sizeof(v->comm), "%s", comm);
	return v;
}

void aod_procs_agg_add(struct aod_procs_agg *a, const struct aod_proc_event *ev)
{
	const struct aod_proc_hdr *h = ev->h;
	bool exec = h->kind == AOD_PROC_EXEC, failed;
	char comm[AOD_PROC_COMM_LEN + 1];
	struct aod_procs_cg *g;
	struct aod_procs_cmd *cmd = NULL;
	uint64_t cpu;

	if (!exec && (h->kind != AOD_PROC_EXIT || (h->flags & AOD_PROCF_FILTERED)))
		return;
	memcpy(comm, h->comm, AOD_PROC_COMM_LEN);
	comm[AOD_PROC_COMM_LEN] = '\0';
	failed = !exec && (ev->exit_code != 0 || ev->signal != 0);
	cpu = exec ? 0 : ev->cpu_user_ns + ev->cpu_sys_ns;
	a->execs += exec;
	a->exits += !exec;
	a->failed += failed;
	a->cpu_ns += cpu;
	g = cgroup_of(a, h->cgroup_id);
	if (g)
		cmd = command_of(g, comm);
	if (!g || !cmd) {
		a->not_kept++;
		if (!g)
			goto fail;
	}
	g->execs += exec;
	g->exits += !exec;
	g->failed += failed;
	g->cpu_ns += cpu;
	if (cmd) {
		cmd->execs += exec;
		cmd->exits += !exec;
		cmd->failed += failed;
		cmd->cpu_ns += cpu;
	}
fail:
	if (failed) {
		struct aod_procs_failure *f = &a->fail[a->nfail++ % AOD_PROCS_FAILURES];

		f->cgroup_id = h->cgroup_id;
		f->wall_ns = ev->wall_ns;
		f->tgid = h->tgid;
		memcpy(f->comm, comm, sizeof(f->comm));
		f->exit_code = ev->exit_code;
		f->signal = ev->signal;
		f->core_dumped = ev->core_dumped;
	}
}

/* ---- by unit ---- */

struct where {
	const char *name;   /* unit, else cgroup path */
	const char *unit;   /* NULL if in none */
	char cgroup[4096];  /* the unit's cgroup, or the cgroup; "" if unknown */
	char idname[40];    /* "cgroup id N" when the cgroup is unknown */
};

static void locate(const struct aod_cgroups *now, const struct aod_cgroups *before, uint64_t id,
		   struct where *w)
{
	const struct aod_cgroup *g = now ? aod_cgroups_find(now, id) : NULL;

	if (!g && before)
		g = aod_cgroups_find(before, id);
	memset(w, 0, sizeof(*w));
	if (!g) {
		snprintf(w->idname, sizeof(w->idname), "cgroup id %llu", (unsigned long long)id);
		w->name = w->idname;
		return;
	}
	w->unit = g->unit;
	if (g->unit)
		snprintf(w->cgroup, sizeof(w->cgroup), "%.*s", (int)g->unit_path_len, g->path);
	else
		snprintf(w->cgroup, sizeof(w->cgroup), "%s", g->path);
	w->name = g->unit ? g->unit : w->cgroup;
}

struct unit_acc {
	char *key;          /* the cgroup path, or "cgroup id N" */
	char *name, *unit, *cgroup;
	uint64_t execs, exits, failed, cpu_ns;
	struct aod_procs_cg cmds; /* only cmds/ncmds/capcmds used */
};

static int by_activity(const void *x, const void *y)
{
	const struct unit_acc *a = x, *b = y;
	uint64_t na = a->execs + a->exits, nb = b->execs + b->exits;

	if (na != nb)
		return na < nb ? 1 : -1;
	return strcmp(a->name, b->name);
}

static int cmd_by_activity(const void *x, const void *y)
{
	const struct aod_procs_cmd *a = x, *b = y;
	uint64_t na = a->execs + a->exits, nb = b->execs + b->exits;

	if (na != nb)
		return na < nb ? 1 : -1;
	return strcmp(a->comm, b->comm);
}

static json_t *counts_json(json_t *o, uint64_t execs, uint64_t exits, uint64_t failed, uint64_t cpu_ns)
{
	hj_set(o, "execs", hj_u64(execs));
	hj_set(o, "exits", hj_u64(exits));
	hj_set(o, "failed", hj_u64(failed));
	hj_set(o, "cpu_seconds", hj_real(cpu_ns / 1e9));
	return o;
}

/* Merge the cgroups into units; false when out of memory. */
static bool merge(const struct aod_procs_agg *a, const struct aod_cgroups *now,
		  const struct aod_cgroups *before, struct unit_acc **out, uint32_t *nout)
{
	struct unit_acc *u = calloc(a->ncg ? a->ncg : 1, sizeof(*u));
	struct where *w = malloc(sizeof(*w));
	uint32_t n = 0, i, j, k;

	if (!u || !w) {
		free(u);
		free(w);
		return false;
	}
	for (i = 0; i < a->ncg; i++) {
		const struct aod_procs_cg *g = &a->cg[i];
		const char *key;

		locate(now, before, g->id, w);
		key = w->cgroup[0] ? w->cgroup : w->idname;
		for (j = 0; j < n && strcmp(u[j].key, key); j++)
			;
		if (j == n) {
			u[n].key = strdup(key);
			u[n].name = strdup(w->name);
			u[n].unit = w->unit ? strdup(w->unit) : NULL;
			u[n].cgroup = w->cgroup[0] ? strdup(w->cgroup) : NULL;
			n++;
		}
		u[j].execs += g->execs;
		u[j].exits += g->exits;
		u[j].failed += g->failed;
		u[j].cpu_ns += g->cpu_ns;
		for (k = 0; k < g->ncmds; k++) {
			struct aod_procs_cmd *c = command_of(&u[j].cmds, g->cmds[k].comm);

			if (!c)
				continue;
			c->execs += g->cmds[k].execs;
			c->exits += g->cmds[k].exits;
			c->failed += g->cmds[k].failed;
			c->cpu_ns += g->cmds[k].cpu_ns;
		}
	}
	free(w);
	*out = u;
	*nout = n;
	return true;
}

static json_t *failures_json(const struct aod_procs_agg *a, const struct aod_cgroups *now,
			     const struct aod_cgroups *before)
{
	uint64_t kept = a->nfail < AOD_PROCS_FAILURES ? a->nfail : AOD_PROCS_FAILURES;
	struct where *w = malloc(sizeof(*w));
	json_t *arr = json_array();

	for (uint64_t i = 0; w && i < kept; i++) {
		const struct aod_procs_failure *f = &a->fail[(a->nfail - kept + i) % AOD_PROCS_FAILURES];
		json_t *o = json_object();

		locate(now, before, f->cgroup_id, w);
		hj_set(o, "time", aod_health_wall_iso(f->wall_ns / 1000));
		hj_set(o, "pid", json_integer(f->tgid));
		hj_set(o, "command", hj_str(f->comm));
		hj_set(o, "name", hj_str(w->name));
		hj_set(o, "exit_code", json_integer(f->exit_code));
		hj_set(o, "signal", f->signal ? json_integer(f->signal) : NULL);
		hj_set(o, "core_dumped", json_boolean(f->core_dumped));
		hj_push(arr, o);
	}
	free(w);
	return arr;
}

void aod_procs_agg_json(const struct aod_procs_agg *a, const struct aod_cgroups *now,
			const struct aod_cgroups *before, unsigned top_n, json_t *s)
{
	struct unit_acc *u = NULL;
	uint32_t n = 0, i, k;
	json_t *units = json_array();

	counts_json(s, a->execs, a->exits, a->failed, a->cpu_ns);
	hj_set(s, "not_kept", hj_u64(a->not_kept));
	if (!merge(a, now, before, &u, &n))
		hj_set(s, "error", json_string("out of memory grouping by unit"));
	if (n)
		qsort(u, n, sizeof(*u), by_activity);
	for (i = 0; i < n; i++) {
		json_t *o, *cmds = json_array();

		if (i < AOD_PROCS_MAX_UNITS) {
			o = json_object();
			hj_set(o, "name", hj_str(u[i].name));
			hj_set(o, "unit", hj_str(u[i].unit));
			hj_set(o, "cgroup", hj_str(u[i].cgroup));
			counts_json(o, u[i].execs, u[i].exits, u[i].failed, u[i].cpu_ns);
			if (u[i].cmds.ncmds)
				qsort(u[i].cmds.cmds, u[i].cmds.ncmds, sizeof(*u[i].cmds.cmds), cmd_by_activity);
			for (k = 0; k < u[i].cmds.ncmds && k < top_n; k++) {
				const struct aod_procs_cmd *c = &u[i].cmds.cmds[k];
				json_t *co = json_object();

				hj_set(co, "command", hj_str(c->comm));
				hj_push(cmds, counts_json(co, c->execs, c->exits, c->failed, c->cpu_ns));
			}
			hj_set(o, "commands", cmds);
			hj_set(o, "commands_omitted", json_integer(u[i].cmds.ncmds > k ? u[i].cmds.ncmds - k : 0));
			hj_push(units, o);
		} else {
			json_decref(cmds);
		}
		free(u[i].key);
		free(u[i].name);
		free(u[i].unit);
		free(u[i].cgroup);
		free(u[i].cmds.cmds);
	}
	free(u);
	hj_set(s, "units", units);
	hj_set(s, "units_omitted", json_integer(n > AOD_PROCS_MAX_UNITS ? n - AOD_PROCS_MAX_UNITS : 0));
	hj_set(s, "failures", failures_json(a, now, before));
}

json_t *aod_health_procs_skipped(bool requested, const char *why)
{
	json_t *s = json_object();
	struct aod_procs_agg none = { 0 };

	hj_set(s, "skipped", hj_str(why));
	hj_set(s, "error", NULL);
	hj_set(s, "requested", json_boolean(requested));
	hj_set(s, "mode", NULL);
	hj_set(s, "duration_ms", NULL);
	hj_set(s, "lost", NULL);
	aod_procs_agg_json(&none, NULL, NULL, 0, s);
	return s;
}

/* ---- the probe, in a thread ---- */

struct aod_health_procs {
	struct aod_proc_probe *pp;
	struct aod_procs_agg agg;
	struct aod_cgroups before;
	pthread_t thread;
	int stop;           /* __atomic */
	int poll_err;       /* the reader's: -errno, read after the join */
	uint64_t t0_ns;
};

static void on_event(void *ctx, const struct aod_proc_event *ev)
{
	aod_procs_agg_add(ctx, ev);
}

static void *reader(void *arg)
{
	struct aod_health_procs *p = arg;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		int n = aod_proc_probe_poll(p->pp, POLL_MS);

		if (n < 0 && n != -EINTR) {
			p->poll_err = n;
			break;
		}
	}
	return NULL;
}

int aod_health_procs_start(struct aod_health_procs **out, char *why, size_t len)
{
	struct aod_proc_probe_opts po = { .argv_cap = ARGV_CAP };
	struct aod_health_procs *p;
	char err[512] = "";
	int e;

	*out = NULL;
	if (geteuid() != 0) {
		snprintf(why, len, "not root: loading the process probe (eBPF) needs root");
		return -EPERM;
	}
	if (!(p = calloc(1, sizeof(*p))) || aod_procs_agg_init(&p->agg)) {
		free(p);
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	e = aod_cgroups_load(&p->before);
	if (e && e != -ENOENT)
		log_debug("health: reading the cgroup2 hierarchy: %s", strerror(-e));
	e = aod_proc_probe_open(&po, on_event, &p->agg, &p->pp, err, sizeof(err));
	if (e) {
		snprintf(why, len, "loading the process probe: %s", err[0] ? err : strerror(-e));
		goto fail;
	}
	p->t0_ns = aod_mono_ns();
	if ((e = -pthread_create(&p->thread, NULL, reader, p))) {
		snprintf(why, len, "starting the process probe's reader: %s", strerror(-e));
		aod_proc_probe_close(p->pp);
		goto fail;
	}
	log_debug("health: tracing processes (%s)", aod_proc_probe_mode(p->pp));
	*out = p;
	return 0;
fail:
	aod_cgroups_free(&p->before);
	aod_procs_agg_free(&p->agg);
	free(p);
	return e;
}

json_t *aod_health_procs_stop(struct aod_health_procs *p, unsigned top_n)
{
	uint64_t cnt[AOD_PROC_CNT_MAX] = { 0 };
	struct aod_cgroups now = { 0 };
	json_t *s = json_object();
	char msg[256];
	int e;

	__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
	pthread_join(p->thread, NULL);
	if (!p->poll_err)
		aod_proc_probe_poll(p->pp, 0); /* what came after the reader's last poll */
	hj_set(s, "skipped", NULL);
	if (p->poll_err) {
		snprintf(msg, sizeof(msg), "reading the process probe's ring: %s", strerror(-p->poll_err));
		hj_set(s, "error", json_string(msg));
	} else {
		hj_set(s, "error", NULL);
	}
	hj_set(s, "requested", json_true());
	hj_set(s, "mode", hj_str(aod_proc_probe_mode(p->pp)));
	hj_set(s, "duration_ms", hj_u64((aod_mono_ns() - p->t0_ns) / 1000000));
	e = aod_proc_probe_counters(p->pp, cnt);
	hj_set(s, "lost", e ? NULL : hj_u64(cnt[AOD_PROC_CNT_RB_DROPS]));
	aod_proc_probe_close(p->pp);
	e = aod_cgroups_load(&now);
	if (e && e != -ENOENT)
		log_debug("health: reading the cgroup2 hierarchy: %s", strerror(-e));
	aod_procs_agg_json(&p->agg, &now, &p->before, top_n, s);
	aod_cgroups_free(&now);
	aod_cgroups_free(&p->before);
	aod_procs_agg_free(&p->agg);
	free(p);
	return s;
}
