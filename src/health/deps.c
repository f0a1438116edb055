// SPDX-License-Identifier: MIT
/*
 * The deps part: for each failed unit (and each one held back by a failed
 * dependency) the state of every dependency and whether it explains the
 * failure (the seed's rules: a strong dependency -- Requires, Requisite,
 * BindsTo, PartOf -- that is failed, inactive, dead or not loaded; a Wants=
 * one that failed); and the cycles of the Requires/Requisite/BindsTo/Wants
 * graph over every loaded unit (Johnson's algorithm, the first 20 shown).
 * The seed attached every indented line of a tree to its first unit, so it
 * could never find one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "health/graph.h"
#include "health/health_int.h"
#include "health/hjson.h"

#define CYCLES_SHOWN 20
#define CYCLES_COUNTED 1000
#define CYCLE_STEPS 2000000

static const enum aod_dep_type dep_order[] = {
	AOD_DEP_REQUIRES, AOD_DEP_REQUISITE, AOD_DEP_BINDS_TO, AOD_DEP_PART_OF, AOD_DEP_WANTS,
};
#define NDEP_ORDER (sizeof(dep_order) / sizeof(dep_order[0]))

static bool eq(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

static bool dep_explains(enum aod_dep_type t, const struct aod_unit *d)
{
	if (!d)
		return t != AOD_DEP_WANTS;
	if (t == AOD_DEP_WANTS)
		return eq(d->active, "failed");
	return eq(d->active, "failed") || eq(d->active, "inactive") || eq(d->sub, "dead") ||
	       eq(d->load, "not-found") || eq(d->load, "error") || eq(d->load, "bad-setting") ||
	       eq(d->load, "masked");
}

/* Named by an earlier (stronger) type already: the first type that names a dependency wins. */
static bool listed_before(size_t ti, char **const *lists, const char *name)
{
	for (size_t k = 0; k < ti; k++)
		for (char **p = lists[dep_order[k]]; p && *p; p++)
			if (!strcmp(*p, name))
				return true;
	return false;
}

static json_t *dep_json(const struct aod_units *t, const char *name, enum aod_dep_type type,
			json_t *explained_by)
{
	const struct aod_unit *d = aod_units_find(t, name);
	json_t *o = json_object();
	bool explains = dep_explains(type, d);

	hj_set(o, "name", hj_str(name));
	hj_set(o, "type", json_string(aod_dep_name(type)));
	hj_set(o, "load_state", hj_str(d ? d->load : "unknown"));
	hj_set(o, "active_state", hj_str(d ? d->active : "unknown"));
	hj_set(o, "sub_state", hj_str(d ? d->sub : "unknown"));
	hj_set(o, "explains", json_boolean(explains));
	if (explains)
		hj_push(explained_by, hj_str(name));
	return o;
}

json_t *aod_health_unit_deps(const struct aod_units *t, const struct aod_unit *u, const char *why)
{
	json_t *o = json_object(), *deps = json_array(), *by = json_array();

	for (size_t ti = 0; ti < NDEP_ORDER; ti++)
		for (char **p = u->deps[dep_order[ti]]; p && *p; p++)
			if (!listed_before(ti, u->deps, *p))
				hj_push(deps, dep_json(t, *p, dep_order[ti], by));
	hj_set(o, "unit", hj_str(u->name));
	hj_set(o, "why", json_string(why));
	hj_set(o, "active_state", hj_str(u->active));
	hj_set(o, "dependencies", deps);
	hj_set(o, "explained", json_boolean(json_array_size(by) > 0));
	hj_set(o, "explained_by", by);
	return o;
}

static json_t *analysed_units(struct aod_health_ctx *c)
{
	json_t *arr = json_array(), *names, *n;
	size_t i;

	for (i = 0; i < c->units.n; i++)
		if (eq(c->units.u[i].active, "failed"))
			hj_push(arr, aod_health_unit_deps(&c->units, &c->units.u[i], "failed"));
	names = c->journal ? aod_journal_dependency_failed(c->journal, c->boot_id) : NULL;
	json_array_foreach(names, i, n) {
		const struct aod_unit *u = aod_units_find(&c->units, json_string_value(n));

		if (u && !eq(u->active, "active") && !eq(u->active, "activating") && !eq(u->active, "failed"))
			hj_push(arr, aod_health_unit_deps(&c->units, u, "dependency"));
	}
	json_decref(names);
	return arr;
}

/* ---- cycles ---- */

static const enum aod_dep_type cycle_types[] = {
	AOD_DEP_REQUIRES, AOD_DEP_REQUISITE, AOD_DEP_BINDS_TO, AOD_DEP_WANTS,
};
#define NCYCLE_TYPES (sizeof(cycle_types) / sizeof(cycle_types[0]))

struct cycle_out {
	const struct aod_units *t;
	json_t *cycles;
};

/* The strongest dependency type from u to v. */
static const char *edge_type(const struct aod_unit *u, const char *v)
{
	for (size_t k = 0; k < NCYCLE_TYPES; k++)
		for (char **p = u->deps[cycle_types[k]]; p && *p; p++)
			if (!strcmp(*p, v))
				return aod_dep_name(cycle_types[k]);
	return "?";
}

static void on_cycle(const size_t *cyc, size_t len, void *arg)
{
	struct cycle_out *co = arg;
	json_t *o, *path, *edges;

	if (json_array_size(co->cycles) >= CYCLES_SHOWN)
		return;
	o = json_object();
	path = json_array();
	edges = json_array();
	for (size_t i = 0; i <= len; i++) {
		const struct aod_unit *u = &co->t->u[cyc[i % len]];

		hj_push(path, hj_str(u->name));
		if (i < len)
			hj_push(edges, json_string(edge_type(u, co->t->u[cyc[(i + 1) % len]].name)));
	}
	hj_set(o, "path", path);
	hj_set(o, "edges", edges);
	hj_push(co->cycles, o);
}

static int build_graph(const struct aod_units *t, struct aod_graph *g)
{
	struct aod_edge *e = NULL;
	size_t n = 0, cap = 0;
	int err;

	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < NCYCLE_TYPES; k++)
			for (char **p = t->u[i].deps[cycle_types[k]]; p && *p; p++) {
				const struct aod_unit *v = aod_units_find(t, *p);

				if (!v)
					continue;
				if (n == cap) {
					struct aod_edge *grown;

					cap = cap ? 2 * cap : 1024;
					grown = realloc(e, cap * sizeof(*e));
					if (!grown) {
						free(e);
						return -ENOMEM;
					}
					e = grown;
				}
				e[n++] = (struct aod_edge){ i, (size_t)(v - t->u) };
			}
	err = aod_graph_build(g, t->n, e, n);
	free(e);
	return err;
}

static int cycles_json(struct aod_health_ctx *c, json_t *s)
{
	struct cycle_out co = { .t = &c->units, .cycles = json_array() };
	struct aod_cycle_stats st = { 0 };
	struct aod_graph g;
	json_t *graph = json_object();
	int err = build_graph(&c->units, &g);

	if (!err)
		err = aod_graph_cycles(&g, CYCLES_COUNTED, CYCLE_STEPS, on_cycle, &co, &st);
	hj_set(graph, "units", json_integer((json_int_t)g.n));
	hj_set(graph, "edges", json_integer((json_int_t)g.nedges));
	hj_set(graph, "types", json_pack("[ssss]", "Requires", "Requisite", "BindsTo", "Wants"));
	hj_set(s, "graph", graph);
	hj_set(s, "cycles", co.cycles);
	hj_set(s, "cycles_found", json_integer((json_int_t)st.found));
	hj_set(s, "cycles_truncated", json_boolean(st.truncated));
	aod_graph_free(&g);
	return err;
}

int aod_health_deps(struct aod_health_ctx *c, json_t *s)
{
	int err = 0;

	if (!c->systemd || !c->have_units) {
		if (!c->systemd)
			hj_set(s, "skipped", json_string(c->no_systemd));
		else
			err = aod_health_error(c, "deps", c->units_err, "cannot list units over D-Bus");
		hj_set(s, "units", json_array());
		hj_set(s, "graph", NULL);
		hj_set(s, "cycles", json_array());
		hj_set(s, "cycles_found", json_integer(0));
		hj_set(s, "cycles_truncated", json_false());
		return err;
	}
	hj_set(s, "units", analysed_units(c));
	err = cycles_json(c, s);
	if (err) {
		aod_health_error(c, "deps", err, "cycle search failed");
		hj_set(s, "error", json_string(strerror(-err)));
	}
	return err;
}
