// SPDX-License-Identifier: MIT
/* log2 kernel histograms -> Prometheus buckets (see log2hist.h). */
#include "serve/log2hist.h"

#include "probe/hist.h"

double aod_log2hist_le_seconds(unsigned slot)
{
	uint64_t ns = (aod_hist_slot_hi_us(slot) + 1) * 1000 - 1;

	return (double)ns / 1e9;
}

double aod_log2hist_sum_seconds(const struct aod_hist *h)
{
	double us = 0;

	/* Midpoint estimate until the kernel keeps an exact sum (see log2hist.h). */
	for (unsigned i = 0; i < AOD_HIST_SLOTS; i++) {
		double mid;

		if (i == 0)
			mid = 1.0;
		else if (i == AOD_HIST_SLOTS - 1)
			mid = (double)aod_hist_slot_lo_us(i);
		else
			mid = 1.5 * (double)aod_hist_slot_lo_us(i);
		us += mid * (double)h->slots[i];
	}
	return us / 1e6;
}

void aod_log2hist_to_prom(const struct aod_hist *h, struct aod_prom_hist *out)
{
	uint64_t cum = 0;

	out->nbuckets = AOD_HIST_SLOTS - 1;
	for (unsigned i = 0; i < AOD_HIST_SLOTS - 1; i++) {
		cum += h->slots[i];
		out->le[i] = aod_log2hist_le_seconds(i);
		out->cum[i] = cum;
	}
	out->count = cum + h->slots[AOD_HIST_SLOTS - 1];
	out->sum = aod_log2hist_sum_seconds(h);
}
