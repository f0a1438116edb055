/* SPDX-License-Identifier: MIT */
/*
 * Scoring a unit against its own past. Per unit and feature (CPU rate,
 * memory, I/O rate, restarts per hour, tasks, activation time) the baseline
 * is the median and the MAD of that feature over the last baseline_reports
 * saved reports; the score is how far above the median the current value
 * lies, in robust standard deviations:
 *
 *     scale = max(1.4826 * MAD, floor(feature), 10 % of |median|)
 *     score = max(0, (value - median) / scale)
 *
 * and the unit is an anomaly when score > threshold (3.5 by default, the
 * usual cut for robust z-scores). The floors keep steady units (MAD 0) from
 * scoring on noise: 0.05 cores, 4 MiB, 1 MiB/s, 1 restart/h, 2 tasks,
 * 100 ms. Only increases score: a unit that uses less is not flagged. CPU and
 * I/O are rates measured during the report (never the cumulative counters:
 * those only grow, and everything would look anomalous); restarts are the
 * NRestarts difference between consecutive reports of the same boot, per
 * hour. Fewer than min_samples past values: "learning", no score.
 */
#ifndef AOD_HEALTH_SCORE_H
#define AOD_HEALTH_SCORE_H

#include <jansson.h>
#include <stddef.h>

#include "config/config.h"

enum aod_feature {
	AOD_F_CPU = 0,        /* cpu_rate: cores */
	AOD_F_MEMORY,         /* memory_current_bytes */
	AOD_F_IO,             /* io_rate_bytes_per_sec */
	AOD_F_RESTARTS,       /* restarts per hour since the previous report */
	AOD_F_TASKS,          /* tasks */
	AOD_F_ACTIVATION,     /* activation time in this boot, usec */
	AOD_F_N,
};

enum aod_score_state {
	AOD_SCORE_LEARNING = 0,
	AOD_SCORE_NORMAL = 1,
	AOD_SCORE_ANOMALY = 2,
};

struct aod_baseline {
	size_t n;          /* values used (NaN ones are skipped) */
	double median, mad, scale;
};

const char *aod_feature_name(enum aod_feature f);      /* "cpu_rate", "memory_bytes", ... */
double aod_feature_floor(enum aod_feature f);
const char *aod_score_state_name(enum aod_score_state s); /* "learning", "normal", "anomaly" */

/* Median of v (n > 0; v is reordered). */
double aod_median(double *v, size_t n);
/* Baseline of the finite values in v. Returns -EINVAL if none, -ENOMEM. */
int aod_baseline(const double *v, size_t n, double floor, struct aod_baseline *b);
double aod_score(const struct aod_baseline *b, double value);
enum aod_score_state aod_score_judge(const struct aod_baseline *b, double score,
				     size_t min_samples, double threshold);

/*
 * Fill report.scores from past reports (oldest first; only the last
 * cfg->baseline_reports count). Features of a report are read from its
 * resources.units and boot.blame.
 */
int aod_health_score(json_t *report, json_t *const *past, size_t npast,
		     const struct aod_health_config *cfg);

/* The feature values of unit `name` in report (NaN where absent); prev may be NULL. */
void aod_health_features(const json_t *report, const json_t *prev, const char *name,
			 double out[AOD_F_N]);

#endif /* AOD_HEALTH_SCORE_H */
