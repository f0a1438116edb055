// SPDX-License-Identifier: MIT
/*
 * The resources part: system figures from /proc sampled twice sample_ms
 * apart (so CPU, disk and network are rates), per-unit figures from each
 * unit's cgroup (from systemd's ControlGroup, or, without systemd, every
 * group of the cgroup tree up to depth 3), the top N by CPU, memory and
 * I/O, and the child process groups of services.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/timeutil.h"
#include "health/health_int.h"
#include "health/hjson.h"
#include "health/procfs.h"
#include "health/procgroups.h"
#include "health/units.h"

#define WALK_DEPTH 3
#define WALK_MAX 512

struct group {
	char *name, *path;                 /* unit name (or cgroup path) and cgroup path */
	const struct aod_unit *unit;       /* NULL without systemd */
	struct aod_cg_stats first, last;
};

struct groups {
	size_t n, cap;
	struct group *g;
};

static int add_group(struct groups *gs, const char *name, const char *path, const struct aod_unit *u)
{
	if (gs->n == gs->cap) {
		size_t cap = gs->cap ? 2 * gs->cap : 128;
		struct group *grown = realloc(gs->g, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		gs->g = grown;
		gs->cap = cap;
	}
	memset(&gs->g[gs->n], 0, sizeof(gs->g[gs->n]));
	gs->g[gs->n].name = strdup(name);
	gs->g[gs->n].path = strdup(path);
	gs->g[gs->n].unit = u;
	if (!gs->g[gs->n].name || !gs->g[gs->n].path) {
		free(gs->g[gs->n].name);
		free(gs->g[gs->n].path);
		return -ENOMEM;
	}
	gs->n++;
	return 0;
}

static void free_groups(struct groups *gs)
{
	for (size_t i = 0; i < gs->n; i++) {
		free(gs->g[i].name);
		free(gs->g[i].path);
	}
	free(gs->g);
}

static bool has_group(const struct groups *gs, const char *path)
{
	for (size_t i = 0; i < gs->n; i++)
		if (!strcmp(gs->g[i].path, path))
			return true;
	return false;
}

static bool has_cgroup(const struct aod_unit *u)
{
	return strcmp(u->active, "inactive") && !aod_unit_is(u, ".slice") && !aod_unit_is(u, ".target") &&
	       !aod_unit_is(u, ".device");
}

static int unit_groups(struct aod_health_ctx *c, struct groups *gs)
{
	struct aod_unit **want = calloc(c->units.n + 1, sizeof(*want));
	size_t n = 0;
	int err = want ? 0 : -ENOMEM;

	for (size_t i = 0; want && i < c->units.n; i++)
		if (has_cgroup(&c->units.u[i]))
			want[n++] = &c->units.u[i];
	if (!err)
		err = aod_sd_units_details(c->bus, want, n);
	for (size_t i = 0; !err && i < n; i++)
		if (want[i]->cgroup && want[i]->cgroup[0])
			err = add_group(gs, want[i]->name, want[i]->cgroup, want[i]);
	free(want);
	return err;
}

/* Every directory under root/rel, depth-first, to WALK_DEPTH levels. */
static int walk(const char *root, const char *rel, int depth, struct groups *gs)
{
	char path[PATH_MAX], child[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	if (depth > WALK_DEPTH || !(d = opendir(path)))
		return 0;
	while (!err && gs->n < WALK_MAX && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", rel, de->d_name) >= (int)sizeof(child))
			continue;
		if (!has_group(gs, child))
			err = add_group(gs, child, child, NULL);
		if (!err)
			err = walk(root, child, depth + 1, gs);
	}
	closedir(d);
	return err;
}

static int tree_groups(const struct aod_cg_hier *h, struct groups *gs)
{
	int err = walk(h->v2, "", 1, gs);

	/* a hybrid host keeps the groups that matter in the v1 memory tree */
	if (!err && h->v1_memory[0])
		err = walk(h->v1_memory, "", 1, gs);
	return err;
}

/* ---- JSON ---- */

static double rate(uint64_t a, uint64_t b, double secs)
{
	return secs > 0 && b >= a ? (double)(b - a) / secs : NAN;
}

static json_t *psi_json(const struct aod_sys_sample *s, int i)
{
	const struct aod_psi_line *lines[2] = { &s->psi[i].some, &s->psi[i].full };
	const char *keys[2] = { "some", "full" };
	json_t *o = json_object();

	if (!s->has_psi[i]) {
		json_decref(o);
		return NULL;
	}
	for (int k = 0; k < 2; k++) {
		json_t *l = lines[k]->present ? json_object() : NULL;

		if (l) {
			hj_set(l, "avg10", hj_real(lines[k]->avg10));
			hj_set(l, "avg60", hj_real(lines[k]->avg60));
			hj_set(l, "avg300", hj_real(lines[k]->avg300));
			hj_set(l, "total_usec", hj_u64(lines[k]->total_usec));
		}
		hj_set(o, keys[k], l);
	}
	return o;
}

static json_t *pressure_json(const struct aod_sys_sample *s)
{
	json_t *o = json_object();

	hj_set(o, "cpu", psi_json(s, AOD_PSI_CPU));
	hj_set(o, "memory", psi_json(s, AOD_PSI_MEMORY));
	hj_set(o, "io", psi_json(s, AOD_PSI_IO));
	return o;
}

static json_t *counter_pair(bool ok, const char *ka, uint64_t a0, uint64_t a1, const char *kb,
			    uint64_t b0, uint64_t b1, double secs)
{
	json_t *o = json_object();
	char key[64];

	if (!ok) {
		json_decref(o);
		return NULL;
	}
	snprintf(key, sizeof(key), "%s_bytes", ka);
	hj_set(o, key, hj_u64(a1));
	snprintf(key, sizeof(key), "%s_bytes", kb);
	hj_set(o, key, hj_u64(b1));
	snprintf(key, sizeof(key), "%s_bytes_per_sec", ka);
	hj_set(o, key, hj_real(rate(a0, a1, secs)));
	snprintf(key, sizeof(key), "%s_bytes_per_sec", kb);
	hj_set(o, key, hj_real(rate(b0, b1, secs)));
	return o;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : NAN;
}

static json_t *system_json(const struct aod_sys_sample *a, const struct aod_sys_sample *b)
{
	double secs = (double)(b->mono_ns - a->mono_ns) / 1e9;
	bool two = b->mono_ns > a->mono_ns;
	const struct aod_meminfo *m = &b->mem;
	json_t *o = json_object(), *load = json_array();

	hj_set(o, "cpu_count", json_integer(b->ncpus));
	hj_set(o, "cpu_percent", two && a->has_cpu && b->has_cpu ?
				 hj_real(aod_cpu_busy_percent(&a->cpu, &b->cpu)) : NULL);
	for (int i = 0; i < 3; i++)
		hj_push(load, b->has_load ? hj_real(b->load[i]) : NULL);
	hj_set(o, "load", load);
	hj_set(o, "mem_total_bytes", b->has_mem ? hj_u64(m->total) : NULL);
	hj_set(o, "mem_available_bytes", b->has_mem ? hj_u64(m->available) : NULL);
	hj_set(o, "mem_used_percent", b->has_mem ? hj_real(pct(m->total - m->available, m->total)) : NULL);
	hj_set(o, "swap_total_bytes", b->has_mem ? hj_u64(m->swap_total) : NULL);
	hj_set(o, "swap_used_bytes", b->has_mem ? hj_u64(m->swap_total - m->swap_free) : NULL);
	hj_set(o, "swap_used_percent", b->has_mem && m->swap_total ?
				       hj_real(pct(m->swap_total - m->swap_free, m->swap_total)) : NULL);
	hj_set(o, "pressure", pressure_json(b));
	hj_set(o, "disk", counter_pair(a->has_disk && b->has_disk, "read", a->disk_read_bytes,
				       b->disk_read_bytes, "write", a->disk_write_bytes, b->disk_write_bytes,
				       two ? secs : 0));
	hj_set(o, "network", counter_pair(a->has_net && b->has_net, "rx", a->net_rx_bytes, b->net_rx_bytes,
					  "tx", a->net_tx_bytes, b->net_tx_bytes, two ? secs : 0));
	return o;
}

static json_t *group_json(const struct group *g, double secs)
{
	const struct aod_cg_stats *a = &g->first, *b = &g->last;
	json_t *o = json_object(), *src = json_object();

	hj_set(o, "name", hj_str(g->name));
	hj_set(o, "cgroup", hj_str(g->path));
	hj_set(o, "cpu_usage_usec", b->has_cpu ? hj_u64(b->cpu_usage_usec) : NULL);
	hj_set(o, "cpu_rate", a->has_cpu && b->has_cpu && secs > 0 ?
			      hj_real(rate(a->cpu_usage_usec, b->cpu_usage_usec, secs) / 1e6) : NULL);
	hj_set(o, "memory_current_bytes", b->has_mem ? hj_u64(b->mem_current) : NULL);
	hj_set(o, "memory_peak_bytes", b->has_mem_peak ? hj_u64(b->mem_peak) : NULL);
	hj_set(o, "io_read_bytes", b->has_io ? hj_u64(b->io_rbytes) : NULL);
	hj_set(o, "io_write_bytes", b->has_io ? hj_u64(b->io_wbytes) : NULL);
	hj_set(o, "io_rate_bytes_per_sec", a->has_io && b->has_io && secs > 0 ?
		hj_real(rate(a->io_rbytes + a->io_wbytes, b->io_rbytes + b->io_wbytes, secs)) : NULL);
	hj_set(o, "tasks", b->has_tasks ? hj_u64(b->tasks) : NULL);
	hj_set(o, "n_restarts", g->unit && g->unit->has_restarts ? json_integer(g->unit->n_restarts) : NULL);
	hj_set(src, "cpu", b->cpu_source ? json_string(b->cpu_source) : NULL);
	hj_set(src, "memory", b->mem_source ? json_string(b->mem_source) : NULL);
	hj_set(src, "io", b->io_source ? json_string(b->io_source) : NULL);
	hj_set(o, "source", src);
	return o;
}

/* ---- top N ---- */

struct ranked {
	const char *name;
	double value;
};

static int highest_first(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return strcmp(x->name, y->name);
}

static double io_total(const json_t *u)
{
	return hj_getn(u, "io_read_bytes", 0) + hj_getn(u, "io_write_bytes", 0);
}

static json_t *top(const json_t *units, const char *key, size_t n)
{
	struct ranked *r = malloc((hj_len(units) + 1) * sizeof(*r));
	json_t *arr = json_array(), *u;
	size_t i, k = 0;

	json_array_foreach(units, i, u) {
		double v = key ? hj_getn(u, key, NAN) : io_total(u);

		if (r && isfinite(v) && v > 0)
			r[k++] = (struct ranked){ hj_gets(u, "name"), v };
	}
	if (r)
		qsort(r, k, sizeof(*r), highest_first);
	for (i = 0; r && i < k && i < n; i++) {
		json_t *o = json_object();

		hj_set(o, "name", json_string(r[i].name));
		hj_set(o, "value", hj_u64((uint64_t)r[i].value));
		hj_push(arr, o);
	}
	free(r);
	return arr;
}

/* ---- child process groups ---- */

static json_t *process_groups(const struct groups *gs)
{
	struct aod_proc_root *roots = malloc((gs->n + 1) * sizeof(*roots));
	struct aod_proc_group *g = NULL;
	struct aod_proc *procs = NULL;
	size_t np = 0, nr = 0, ng = 0;
	json_t *arr = json_array();

	for (size_t i = 0; roots && i < gs->n; i++)
		if (gs->g[i].unit && gs->g[i].unit->main_pid && aod_unit_is(gs->g[i].unit, ".service") &&
		    !strcmp(gs->g[i].unit->active, "active"))
			roots[nr++] = (struct aod_proc_root){ gs->g[i].unit->name, (int)gs->g[i].unit->main_pid };
	if (roots && nr && aod_procs_read(&procs, &np) == 0)
		ng = aod_proc_groups(procs, np, roots, nr, &g);
	for (size_t i = 0; i < ng; i++) {
		json_t *o = json_object(), *pids = json_array();

		hj_set(o, "unit", hj_str(g[i].unit));
		hj_set(o, "command", hj_str(g[i].command));
		hj_set(o, "processes", json_integer((json_int_t)g[i].count));
		for (size_t p = 0; p < g[i].count && p < AOD_PG_PIDS; p++)
			hj_push(pids, json_integer(g[i].pids[p]));
		hj_set(o, "pids", pids);
		hj_set(o, "cpu_seconds", hj_real(g[i].cpu_seconds));
		hj_set(o, "memory_bytes", hj_u64(g[i].mem_bytes));
		hj_push(arr, o);
	}
	free(g);
	free(procs);
	free(roots);
	return arr;
}

/* ---- the part ---- */

static json_t *cgroup_json(const struct aod_health_ctx *c, const char *source)
{
	json_t *o = json_object();

	hj_set(o, "mode", json_string(aod_cg_mode_name(c->cg.mode)));
	hj_set(o, "v2_root", c->cg.v2[0] ? hj_str(c->cg.v2) : NULL);
	hj_set(o, "v1_memory_root", c->cg.v1_memory[0] ? hj_str(c->cg.v1_memory) : NULL);
	hj_set(o, "groups_from", json_string(source));
	return o;
}

static void sample_groups(const struct aod_health_ctx *c, struct groups *gs, bool first)
{
	for (size_t i = 0; i < gs->n; i++) {
		if (first)
			aod_cg_read_counters(&c->cg, gs->g[i].path, &gs->g[i].first);
		else
			aod_cg_read(&c->cg, gs->g[i].path, &gs->g[i].last);
	}
}

static json_t *units_json(const struct groups *gs, double secs)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < gs->n; i++)
		if (gs->g[i].last.has_cpu || gs->g[i].last.has_mem || gs->g[i].last.has_io ||
		    gs->g[i].last.has_tasks)
			hj_push(arr, group_json(&gs->g[i], secs));
	return arr;
}

int aod_health_resources(struct aod_health_ctx *c, json_t *s)
{
	struct aod_sys_sample a, b;
	struct groups gs = { 0 };
	bool by_unit = c->systemd && c->have_units;
	json_t *units;
	double secs;
	int err = by_unit ? unit_groups(c, &gs) : tree_groups(&c->cg, &gs);

	if (err)
		aod_health_error(c, "resources", err, "cannot list the cgroups");
	aod_sys_sample(&a);
	sample_groups(c, &gs, true);
	if (c->cfg->sample_ms)
		aod_health_wait(c, c->cfg->sample_ms);
	aod_sys_sample(&b);
	sample_groups(c, &gs, false);
	if (!c->cfg->sample_ms)
		a = b;
	secs = (double)(b.mono_ns - a.mono_ns) / 1e9;
	units = units_json(&gs, secs);
	hj_set(s, "sample_usec", hj_u64((b.mono_ns - a.mono_ns) / 1000));
	hj_set(s, "cgroup", cgroup_json(c, by_unit ? "systemd" : "cgroupfs"));
	hj_set(s, "system", system_json(&a, &b));
	hj_set(s, "units", units);
	hj_set(s, "top_cpu", top(units, "cpu_usage_usec", c->cfg->top_n));
	hj_set(s, "top_memory", top(units, "memory_current_bytes", c->cfg->top_n));
	hj_set(s, "top_io", top(units, NULL, c->cfg->top_n));
	hj_set(s, "process_groups", process_groups(&gs));
	if (err)
		hj_set(s, "error", json_string(strerror(-err)));
	free_groups(&gs);
	return err;
}

json_t *aod_health_unit_usage(struct aod_health_ctx *c, const struct aod_unit *u)
{
	struct group g = { .name = u->name, .path = u->cgroup, .unit = u };

	if (!u->cgroup || !u->cgroup[0])
		return NULL;
	aod_cg_read_counters(&c->cg, g.path, &g.first);
	if (c->cfg->sample_ms)
		aod_health_wait(c, c->cfg->sample_ms);
	aod_cg_read(&c->cg, g.path, &g.last);
	return group_json(&g, c->cfg->sample_ms / 1000.0);
}
