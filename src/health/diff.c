// SPDX-License-Identifier: MIT
/*
 * `aod health diff A B`: what changed between two reports. Problems are
 * (unit, problem) pairs of the units lists; a resource change is a feature
 * (CPU rate, memory, I/O rate, tasks) that moved by more than both its
 * scoring floor and 20 %; log patterns whose counts changed; cycles that
 * appeared or went away.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "health/health.h"
#include "health/hjson.h"
#include "health/score.h"

#define CHANGE_REL 0.20

static const char *const problem_lists[] = {
	"failed", "flapping", "sockets", "timers", "states", "dependency_failed",
};
#define NLISTS (sizeof(problem_lists) / sizeof(problem_lists[0]))

static bool has_problem(const json_t *r, const char *list, const char *unit)
{
	char path[64];
	size_t i;
	json_t *e;

	snprintf(path, sizeof(path), "units.%s", list);
	json_array_foreach(hj_path(r, path), i, e) {
		const char *n = hj_gets(e, "name");

		if (n && !strcmp(n, unit))
			return true;
	}
	return false;
}

/* Entries of a's lists that b lacks. */
static void problems_only_in(const json_t *a, const json_t *b, json_t *out)
{
	char path[64];

	for (size_t l = 0; l < NLISTS; l++) {
		size_t i;
		json_t *e;

		snprintf(path, sizeof(path), "units.%s", problem_lists[l]);
		json_array_foreach(hj_path(a, path), i, e) {
			const char *n = hj_gets(e, "name");

			if (!n || has_problem(b, problem_lists[l], n))
				continue;
			hj_push(out, json_pack("{s:s,s:O,s:O}", "unit", n, "problem",
					       json_object_get(e, "problem"), "reason",
					       json_object_get(e, "reason")));
		}
	}
}

static const enum aod_feature diff_features[] = { AOD_F_CPU, AOD_F_MEMORY, AOD_F_IO, AOD_F_TASKS };

static bool significant(enum aod_feature f, double from, double to)
{
	double d = fabs(to - from);

	return isfinite(d) && d > aod_feature_floor(f) && d > CHANGE_REL * fmax(fabs(from), fabs(to));
}

static void unit_changes(const json_t *a, const json_t *b, const char *unit, json_t *out)
{
	double va[AOD_F_N], vb[AOD_F_N];

	aod_health_features(a, NULL, unit, va);
	aod_health_features(b, NULL, unit, vb);
	for (size_t k = 0; k < sizeof(diff_features) / sizeof(diff_features[0]); k++) {
		enum aod_feature f = diff_features[k];
		json_t *o;

		if (!significant(f, va[f], vb[f]))
			continue;
		o = json_object();
		hj_set(o, "unit", hj_str(unit));
		hj_set(o, "feature", json_string(aod_feature_name(f)));
		hj_set(o, "from", hj_real(va[f]));
		hj_set(o, "to", hj_real(vb[f]));
		hj_set(o, "change_percent", va[f] != 0 ? hj_real(100.0 * (vb[f] - va[f]) / fabs(va[f])) : NULL);
		hj_push(out, o);
	}
}

static const json_t *find_unit(const json_t *r, const char *name)
{
	size_t i;
	json_t *u;

	json_array_foreach(hj_path(r, "resources.units"), i, u) {
		const char *n = hj_gets(u, "name");

		if (n && !strcmp(n, name))
			return u;
	}
	return NULL;
}

static void resource_changes(const json_t *a, const json_t *b, json_t *changes, json_t *appeared,
			     json_t *gone)
{
	size_t i;
	json_t *u;

	json_array_foreach(hj_path(b, "resources.units"), i, u) {
		const char *n = hj_gets(u, "name");

		if (!n)
			continue;
		if (find_unit(a, n))
			unit_changes(a, b, n, changes);
		else
			hj_push(appeared, json_string(n));
	}
	json_array_foreach(hj_path(a, "resources.units"), i, u) {
		const char *n = hj_gets(u, "name");

		if (n && !find_unit(b, n))
			hj_push(gone, json_string(n));
	}
}

static double pattern_count(const json_t *r, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(hj_path(r, "logs.patterns"), i, p) {
		const char *n = hj_gets(p, "name");

		if (n && !strcmp(n, name))
			return hj_getn(p, "count", 0);
	}
	return 0;
}

static void pattern_changes_from(const json_t *a, const json_t *b, const json_t *walk, json_t *out,
				 bool only_missing)
{
	size_t i;
	json_t *p;

	json_array_foreach(hj_path(walk, "logs.patterns"), i, p) {
		const char *n = hj_gets(p, "name");
		double from = pattern_count(a, n), to = pattern_count(b, n);

		if (!n || from == to || (only_missing && to != 0))
			continue;
		hj_push(out, json_pack("{s:s,s:I,s:I}", "name", n, "from", (json_int_t)from, "to",
				       (json_int_t)to));
	}
}

static json_t *cycle_strings(const json_t *r)
{
	json_t *set = json_object(), *c;
	size_t i;

	json_array_foreach(hj_path(r, "deps.cycles"), i, c) {
		char buf[2048];

		json_object_set_new(set, hj_join(json_object_get(c, "path"), " -> ", buf, sizeof(buf)),
				    json_true());
	}
	return set;
}

static json_t *set_minus(const json_t *x, const json_t *y)
{
	json_t *arr = json_array(), *v;
	const char *k;

	json_object_foreach((json_t *)x, k, v)
		if (!json_object_get(y, k))
			hj_push(arr, json_string(k));
	return arr;
}

static json_t *side(const json_t *r)
{
	return json_pack("{s:O,s:O,s:O}", "id", json_object_get(r, "id") ? json_object_get(r, "id") : json_null(),
			 "timestamp", json_object_get(r, "timestamp") ? json_object_get(r, "timestamp") : json_null(),
			 "status", hj_path(r, "summary.status") ? hj_path(r, "summary.status") : json_null());
}

json_t *aod_health_diff(const json_t *a, const json_t *b)
{
	json_t *d = json_object(), *res = json_array(), *appeared = json_array(), *gone = json_array();
	json_t *newp = json_array(), *resolved = json_array(), *pats = json_array(), *cycles = json_object();
	json_t *ca = cycle_strings(a), *cb = cycle_strings(b);

	problems_only_in(b, a, newp);
	problems_only_in(a, b, resolved);
	resource_changes(a, b, res, appeared, gone);
	pattern_changes_from(a, b, b, pats, false);
	pattern_changes_from(a, b, a, pats, true);
	hj_set(cycles, "new", set_minus(cb, ca));
	hj_set(cycles, "resolved", set_minus(ca, cb));
	json_decref(ca);
	json_decref(cb);
	hj_set(d, "from", side(a));
	hj_set(d, "to", side(b));
	hj_set(d, "new_problems", newp);
	hj_set(d, "resolved", resolved);
	hj_set(d, "resource_changes", res);
	hj_set(d, "units_appeared", appeared);
	hj_set(d, "units_gone", gone);
	hj_set(d, "log_patterns", pats);
	hj_set(d, "cycles", cycles);
	return d;
}
