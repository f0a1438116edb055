// SPDX-License-Identifier: MIT
/*
 * Scoring units against their history: robust baselines (median, MAD) per
 * unit and feature over past reports, one-sided robust z-scores, and the
 * report's `scores` section. The statistics are pure; the JSON glue reads
 * features out of reports (current and saved ones alike).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "health/hjson.h"
#include "health/score.h"

#define MAD_TO_SIGMA 1.4826
#define REL_FLOOR 0.10

static const struct {
	const char *name;
	double floor;
} features[AOD_F_N] = {
	[AOD_F_CPU] = { "cpu_rate", 0.05 },
	[AOD_F_MEMORY] = { "memory_bytes", 4.0 * 1024 * 1024 },
	[AOD_F_IO] = { "io_rate", 1024.0 * 1024 },
	[AOD_F_RESTARTS] = { "restarts_per_hour", 1.0 },
	[AOD_F_TASKS] = { "tasks", 2.0 },
	[AOD_F_ACTIVATION] = { "activation_usec", 100000.0 },
};

const char *aod_feature_name(enum aod_feature f)
{
	return f < AOD_F_N ? features[f].name : "?";
}

double aod_feature_floor(enum aod_feature f)
{
	return f < AOD_F_N ? features[f].floor : 1.0;
}

const char *aod_score_state_name(enum aod_score_state s)
{
	static const char *const names[] = { "learning", "normal", "anomaly" };

	return s <= AOD_SCORE_ANOMALY ? names[s] : "?";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double aod_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int aod_baseline(const double *v, size_t n, double floor, struct aod_baseline *b)
{
	double *tmp = malloc((n ? n : 1) * sizeof(*tmp));
	size_t k = 0;

	memset(b, 0, sizeof(*b));
	if (!tmp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]))
			tmp[k++] = v[i];
	if (!k) {
		free(tmp);
		return -EINVAL;
	}
	b->n = k;
	b->median = aod_median(tmp, k);
	for (size_t i = 0; i < k; i++)
		tmp[i] = fabs(tmp[i] - b->median);
	b->mad = aod_median(tmp, k);
	b->scale = fmax(MAD_TO_SIGMA * b->mad, fmax(floor, REL_FLOOR * fabs(b->median)));
	free(tmp);
	return 0;
}

double aod_score(const struct aod_baseline *b, double value)
{
	if (!isfinite(value) || !(b->scale > 0))
		return NAN;
	return fmax(0.0, (value - b->median) / b->scale);
}

enum aod_score_state aod_score_judge(const struct aod_baseline *b, double score,
				     size_t min_samples, double threshold)
{
	if (b->n < min_samples || !isfinite(score))
		return AOD_SCORE_LEARNING;
	return score > threshold ? AOD_SCORE_ANOMALY : AOD_SCORE_NORMAL;
}

/* ---- features out of reports ---- */

static const json_t *find_named(const json_t *arr, const char *key, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e) {
		const char *n = hj_gets(e, key);

		if (n && !strcmp(n, name))
			return e;
	}
	return NULL;
}

static const json_t *unit_usage(const json_t *report, const char *name)
{
	return report ? find_named(hj_path(report, "resources.units"), "name", name) : NULL;
}

static double restarts_per_hour(const json_t *report, const json_t *prev, const json_t *u)
{
	const json_t *pu = unit_usage(prev, hj_gets(u, "name"));
	const char *b1 = hj_gets(report, "boot_id"), *b0 = prev ? hj_gets(prev, "boot_id") : NULL;
	double n1 = hj_getn(u, "n_restarts", NAN), n0 = pu ? hj_getn(pu, "n_restarts", NAN) : NAN;
	double hours = (hj_getn(report, "time_usec", NAN) - hj_getn(prev, "time_usec", NAN)) / 3.6e9;

	if (!pu || !b0 || !b1 || strcmp(b0, b1) || !isfinite(n0) || !isfinite(n1) || n1 < n0 ||
	    !(hours > 0))
		return NAN;
	return (n1 - n0) / hours;
}

void aod_health_features(const json_t *report, const json_t *prev, const char *name,
			 double out[AOD_F_N])
{
	const json_t *u = unit_usage(report, name);
	const json_t *blame = find_named(hj_path(report, "boot.blame"), "unit", name);

	for (int f = 0; f < AOD_F_N; f++)
		out[f] = NAN;
	if (u) {
		out[AOD_F_CPU] = hj_getn(u, "cpu_rate", NAN);
		out[AOD_F_MEMORY] = hj_getn(u, "memory_current_bytes", NAN);
		out[AOD_F_IO] = hj_getn(u, "io_rate_bytes_per_sec", NAN);
		out[AOD_F_TASKS] = hj_getn(u, "tasks", NAN);
		out[AOD_F_RESTARTS] = prev ? restarts_per_hour(report, prev, u) : NAN;
	}
	if (blame)
		out[AOD_F_ACTIVATION] = hj_getn(blame, "usec", NAN);
}

/* ---- the scores section ---- */

struct unit_score {
	json_t *features;       /* array */
	double best;            /* highest judged score */
	enum aod_score_state state;
	size_t samples;
};

static json_t *feature_json(enum aod_feature f, double value, const struct aod_baseline *b,
			    double score, enum aod_score_state st)
{
	json_t *o = json_object();

	hj_set(o, "feature", json_string(aod_feature_name(f)));
	hj_set(o, "value", hj_real(value));
	hj_set(o, "samples", json_integer((json_int_t)b->n));
	hj_set(o, "median", b->n ? hj_real(b->median) : NULL);
	hj_set(o, "mad", b->n ? hj_real(b->mad) : NULL);
	hj_set(o, "score", st == AOD_SCORE_LEARNING ? NULL : hj_real(score));
	hj_set(o, "state", json_string(aod_score_state_name(st)));
	return o;
}

static void add_anomaly(json_t *anomalies, const char *unit, enum aod_feature f, double value,
			const struct aod_baseline *b, double score, double threshold)
{
	json_t *o = json_object();

	hj_set(o, "unit", hj_str(unit));
	hj_set(o, "feature", json_string(aod_feature_name(f)));
	hj_set(o, "value", hj_real(value));
	hj_set(o, "median", hj_real(b->median));
	hj_set(o, "score", hj_real(score));
	hj_set(o, "threshold", hj_real(threshold));
	hj_push(anomalies, o);
}

/* One feature of one unit: its past values, baseline, score. */
static int score_feature(const char *unit, enum aod_feature f, const double *past, size_t npast,
			 double value, const struct aod_health_config *cfg, struct unit_score *us,
			 json_t *anomalies)
{
	struct aod_baseline b = { 0 };
	enum aod_score_state st;
	double score = NAN;
	int err;

	if (!isfinite(value))
		return 0;
	err = aod_baseline(past, npast, aod_feature_floor(f), &b);
	if (err == -ENOMEM)
		return err;
	if (!err)
		score = aod_score(&b, value);
	st = aod_score_judge(&b, score, cfg->min_samples, cfg->threshold);
	hj_push(us->features, feature_json(f, value, &b, score, st));
	if (b.n > us->samples)
		us->samples = b.n;
	if (st != AOD_SCORE_LEARNING && (us->state == AOD_SCORE_LEARNING || score > us->best))
		us->best = score;
	if (st > us->state)
		us->state = st;
	if (st == AOD_SCORE_ANOMALY)
		add_anomaly(anomalies, unit, f, value, &b, score, cfg->threshold);
	return 0;
}

static json_t *unit_json(const char *unit, struct unit_score *us)
{
	json_t *o = json_object();

	hj_set(o, "unit", hj_str(unit));
	hj_set(o, "state", json_string(aod_score_state_name(us->state)));
	hj_set(o, "score", us->state == AOD_SCORE_LEARNING ? NULL : hj_real(us->best));
	hj_set(o, "samples", json_integer((json_int_t)us->samples));
	hj_set(o, "features", us->features);
	return o;
}

static int score_unit(json_t *report, json_t *const *past, size_t npast, const char *unit,
		      const struct aod_health_config *cfg, json_t *units, json_t *anomalies)
{
	struct unit_score us = { .features = json_array() };
	double now[AOD_F_N], *hist = malloc((npast ? npast : 1) * AOD_F_N * sizeof(double));
	int err = 0;

	if (!hist || !us.features) {
		free(hist);
		json_decref(us.features);
		return -ENOMEM;
	}
	aod_health_features(report, npast ? past[npast - 1] : NULL, unit, now);
	for (size_t i = 0; i < npast; i++) {
		double v[AOD_F_N];

		aod_health_features(past[i], i ? past[i - 1] : NULL, unit, v);
		for (int f = 0; f < AOD_F_N; f++)
			hist[(size_t)f * npast + i] = v[f];
	}
	for (int f = 0; !err && f < AOD_F_N; f++)
		err = score_feature(unit, (enum aod_feature)f, hist + (size_t)f * npast, npast, now[f],
				    cfg, &us, anomalies);
	free(hist);
	if (err) {
		json_decref(us.features);
		return err;
	}
	hj_push(units, unit_json(unit, &us));
	return 0;
}

int aod_health_score(json_t *report, json_t *const *past, size_t npast,
		     const struct aod_health_config *cfg)
{
	json_t *scores = json_object(), *units = json_array(), *anomalies = json_array(), *u;
	size_t i, first = npast > cfg->baseline_reports ? npast - cfg->baseline_reports : 0;
	int err = 0;

	json_array_foreach(hj_path(report, "resources.units"), i, u) {
		const char *name = hj_gets(u, "name");

		if (name && (err = score_unit(report, past + first, npast - first, name, cfg, units,
					      anomalies)))
			break;
	}
	hj_set(scores, "history_reports", json_integer((json_int_t)(npast - first)));
	hj_set(scores, "min_samples", json_integer(cfg->min_samples));
	hj_set(scores, "threshold", hj_real(cfg->threshold));
	hj_set(scores, "method", json_string("median/MAD robust z-score, increases only"));
	hj_set(scores, "units", units);
	hj_set(scores, "anomalies", anomalies);
	hj_set(scores, "error", err ? json_string(strerror(-err)) : NULL);
	hj_set(report, "scores", scores);
	return err;
}
