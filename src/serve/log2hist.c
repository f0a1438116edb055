// SPDX-License-Identifier: MIT
/* log2 kernel histograms -> Prometheus buckets (see log2hist.h). */
#include "serve/log2hist.h"

#include "probe/hist.h"

/* aod_log2hist_le_seconds(i) as text: formatting 31 floats per histogram
 * per scrape was a third of the render time (test_prom checks the table). */
static const char *const le_text[AOD_HIST_SLOTS - 1] = {
	"1.999e-06", "3.999e-06", "7.999e-06", "1.5999e-05", "3.1999e-05", "6.3999e-05",
	"0.000127999", "0.000255999", "0.000511999", "0.001023999", "0.002047999", "0.004095999",
	"0.008191999", "0.016383999", "0.032767999", "0.065535999", "0.131071999", "0.262143999",
	"0.524287999", "1.048575999", "2.097151999", "4.194303999", "8.388607999", "16.777215999",
	"33.554431999", "67.108863999", "134.217727999", "268.435455999", "536.870911999",
	"1073.741823999", "2147.483647999",
};

const char *aod_log2hist_le_text(unsigned slot)
{
	return slot < AOD_HIST_SLOTS - 1 ? le_text[slot] : "+Inf";
}

double aod_log2hist_le_seconds(unsigned slot)
{
	uint64_t ns = (aod_hist_slot_hi_us(slot) + 1) * 1000 - 1;

	return (double)ns / 1e9;
}

double aod_log2hist_sum_seconds(const struct aod_hist *h)
{
	return (double)h->sum_ns / 1e9;
}

void aod_log2hist_to_prom(const struct aod_hist *h, struct aod_prom_hist *out)
{
	uint64_t cum = 0;

	out->nbuckets = AOD_HIST_SLOTS - 1;
	for (unsigned i = 0; i < AOD_HIST_SLOTS - 1; i++) {
		cum += h->slots[i];
		out->le[i] = aod_log2hist_le_seconds(i);
		out->le_text[i] = le_text[i];
		out->cum[i] = cum;
	}
	out->count = cum + h->slots[AOD_HIST_SLOTS - 1];
	out->sum = aod_log2hist_sum_seconds(h);
}
