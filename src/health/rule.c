// SPDX-License-Identifier: MIT
/* Health rules: which units of a report trip a `type: Health` rule (rule.h). */
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "health/hjson.h"
#include "health/rule.h"

static bool watched(const struct aod_health_rule *h, const char *unit)
{
	if (!h->nunits)
		return true;
	for (uint32_t i = 0; i < h->nunits; i++)
		if (!fnmatch(h->units[i], unit, 0))
			return true;
	return false;
}

static bool in_list(const json_t *arr, const char *key, const char *unit, const char *feature)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e) {
		const char *u = hj_gets(e, key), *f = hj_gets(e, "feature");

		if (u && !strcmp(u, unit) && (!feature || (f && !strcmp(f, feature))))
			return true;
	}
	return false;
}

static void add_key(struct aod_anomaly *a, const char *unit, const char *what, uint32_t count)
{
	struct aod_anomaly_key *k;

	if (a->nkeys >= AOD_ANOMALY_MAX_KEYS) {
		a->dropped++;
		return;
	}
	k = &a->keys[a->nkeys++];
	snprintf(k->key, sizeof(k->key), "%.*s/%s", (int)(sizeof(k->key) - strlen(what) - 2), unit, what);
	k->count = count;
}

static void failed_units(const struct aod_rule *r, const json_t *report, const json_t *prev,
			 struct aod_anomaly *a)
{
	size_t i;
	json_t *e;

	json_array_foreach(hj_path(report, "units.failed"), i, e) {
		const char *u = hj_gets(e, "name");

		if (u && watched(&r->health, u) && !in_list(hj_path(prev, "units.failed"), "name", u, NULL))
			add_key(a, u, "failed", 1);
	}
}

static void anomalous_units(const struct aod_rule *r, const json_t *report, const json_t *prev,
			    struct aod_anomaly *a)
{
	size_t i;
	json_t *e;

	json_array_foreach(hj_path(report, "scores.anomalies"), i, e) {
		const char *u = hj_gets(e, "unit"), *f = hj_gets(e, "feature");
		double score = hj_getn(e, "score", 0);

		if (u && f && watched(&r->health, u) &&
		    !in_list(hj_path(prev, "scores.anomalies"), "unit", u, f))
			add_key(a, u, f, score > 0 && score < 1e9 ? (uint32_t)lround(score) : 0);
	}
}

size_t aod_health_rule_eval(const struct aod_rule *r, const json_t *report, const json_t *prev,
			    uint64_t now_ns, struct aod_anomaly *a)
{
	uint64_t t = (uint64_t)hj_getn(report, "time_usec", 0) * 1000;

	memset(a, 0, sizeof(*a));
	if (r->type != AOD_RULE_HEALTH)
		return 0;
	if (r->health.on_failed)
		failed_units(r, report, prev, a);
	if (r->health.on_anomaly)
		anomalous_units(r, report, prev, a);
	if (!a->nkeys)
		return 0;
	a->id = now_ns;
	snprintf(a->rule, sizeof(a->rule), "%s", r->name);
	a->source = AOD_SOURCE_HEALTH;
	a->type = AOD_RULE_HEALTH;
	a->window_start_ns = a->window_end_ns = t ? t : now_ns;
	a->acceptable_count = 1;
	a->total = a->nkeys + a->dropped;
	return a->nkeys;
}
