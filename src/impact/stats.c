// SPDX-License-Identifier: MIT
#include "impact/stats.h"

#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Quantile p of sorted s[0..n), n >= 1: linear between order statistics. */
static double quantile(const double *s, size_t n, double p)
{
	double h = p * (double)(n - 1);
	size_t lo = (size_t)h;

	if (lo + 1 >= n)
		return s[n - 1];
	return s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]);
}

void aod_impact_summarize(const double *v, size_t n, struct aod_impact_summary *out)
{
	double small[64], *s = small;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return;
	if (n > sizeof(small) / sizeof(small[0]) && !(s = malloc(n * sizeof(*s))))
		return; /* out stays zero: n == 0 says "no figures" */
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	out->n = n;
	out->min = s[0];
	out->max = s[n - 1];
	out->q1 = quantile(s, n, 0.25);
	out->median = quantile(s, n, 0.5);
	out->q3 = quantile(s, n, 0.75);
	if (s != small)
		free(s);
}

void aod_impact_compare(const double *base, size_t nbase, const double *with, size_t nwith,
			struct aod_impact_compare *out)
{
	memset(out, 0, sizeof(*out));
	aod_impact_summarize(base, nbase, &out->base);
	aod_impact_summarize(with, nwith, &out->with);
	if (out->base.median > 0) {
		out->ratio = out->with.median / out->base.median;
		out->spread = (out->base.max - out->base.min) / out->base.median;
	}
	if (out->base.n < 2 || out->with.n < 2)
		out->verdict = AOD_IMPACT_TOO_FEW;
	else if (out->with.median - out->base.median > out->base.max - out->base.min)
		out->verdict = AOD_IMPACT_SLOWER;
	else if (out->base.median - out->with.median > out->base.max - out->base.min)
		out->verdict = AOD_IMPACT_FASTER;
	else
		out->verdict = AOD_IMPACT_NOISE;
}

const char *aod_impact_verdict_name(enum aod_impact_verdict v)
{
	switch (v) {
	case AOD_IMPACT_NOISE: return "within noise";
	case AOD_IMPACT_SLOWER: return "slower";
	case AOD_IMPACT_FASTER: return "faster";
	case AOD_IMPACT_TOO_FEW: break;
	}
	return "too few runs to judge";
}
