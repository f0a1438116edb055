/* SPDX-License-Identifier: MIT */
/*
 * aod impact: the arithmetic of a comparison (pure functions, no I/O).
 * The baseline is the runs without the agent; its run-to-run spread
 * (max - min) is the noise: a difference of the medians no larger than
 * that is "within noise".
 */
#ifndef AOD_IMPACT_STATS_H
#define AOD_IMPACT_STATS_H

#include <stddef.h>

struct aod_impact_summary {
	size_t n;
	double min, q1, median, q3, max;
};

/* Order statistics of v[0..n) (v is not changed); n == 0 gives all zeros.
 * Quartiles interpolate linearly between order statistics (R type 7). */
void aod_impact_summarize(const double *v, size_t n, struct aod_impact_summary *out);

enum aod_impact_verdict {
	AOD_IMPACT_TOO_FEW = 0, /* fewer than 2 runs a side: no spread to judge by */
	AOD_IMPACT_NOISE,       /* |with.median - base.median| <= base.max - base.min */
	AOD_IMPACT_SLOWER,      /* with.median - base.median > base.max - base.min */
	AOD_IMPACT_FASTER,      /* base.median - with.median > base.max - base.min */
};

struct aod_impact_compare {
	struct aod_impact_summary base, with;
	double ratio;           /* with.median / base.median (0 if base.median is 0) */
	double spread;          /* (base.max - base.min) / base.median: baseline noise, relative */
	enum aod_impact_verdict verdict;
};

void aod_impact_compare(const double *base, size_t nbase, const double *with, size_t nwith,
			struct aod_impact_compare *out);
const char *aod_impact_verdict_name(enum aod_impact_verdict v); /* "within noise", ... */

#endif /* AOD_IMPACT_STATS_H */
