// SPDX-License-Identifier: MIT
#include "probe/hist.h"

#include <errno.h>
#include <string.h>

#define HIST_BAR_WIDTH 40

uint64_t aod_hist_slot_lo_us(unsigned slot)
{
	if (slot == 0)
		return 0;
	if (slot >= AOD_HIST_SLOTS)
		slot = AOD_HIST_SLOTS - 1;
	return 1ULL << slot;
}

uint64_t aod_hist_slot_hi_us(unsigned slot)
{
	if (slot >= AOD_HIST_SLOTS - 1)
		return UINT64_MAX;
	return (1ULL << (slot + 1)) - 1;
}

uint64_t aod_hist_total(const struct aod_hist *h)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < AOD_HIST_SLOTS; i++)
		total += h->slots[i];
	return total;
}

void aod_hist_merge(struct aod_hist *dst, const struct aod_hist *src)
{
	for (unsigned i = 0; i < AOD_HIST_SLOTS; i++)
		dst->slots[i] += src->slots[i];
	dst->sum_ns += src->sum_ns;
}

double aod_hist_percentile_us(const struct aod_hist *h, double pct)
{
	uint64_t total = aod_hist_total(h), before = 0;
	double rank;

	if (total == 0 || !(pct >= 0.0 && pct <= 100.0))
		return -1.0;
	rank = pct / 100.0 * (double)total;
	for (unsigned i = 0; i < AOD_HIST_SLOTS; i++) {
		uint64_t n = h->slots[i];
		double lo, width;

		if (n == 0 || (double)(before + n) < rank) {
			before += n;
			continue;
		}
		lo = (double)aod_hist_slot_lo_us(i);
		if (i == AOD_HIST_SLOTS - 1)
			return lo;
		width = (double)aod_hist_slot_hi_us(i) + 1.0 - lo;
		return lo + (rank - (double)before) / (double)n * width;
	}
	return (double)aod_hist_slot_lo_us(AOD_HIST_SLOTS - 1);
}

static void print_bar(uint64_t n, uint64_t max, FILE *out)
{
	unsigned stars = max ? (unsigned)(n * HIST_BAR_WIDTH / max) : 0;

	fputc('|', out);
	for (unsigned i = 0; i < HIST_BAR_WIDTH; i++)
		fputc(i < stars ? '*' : ' ', out);
	fputc('|', out);
}

int aod_hist_print(const struct aod_hist *h, const char *unit, FILE *out)
{
	int first = -1, last = -1;
	uint64_t max = 0;

	for (unsigned i = 0; i < AOD_HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		if (first < 0)
			first = (int)i;
		last = (int)i;
		if (h->slots[i] > max)
			max = h->slots[i];
	}
	if (first < 0) {
		fprintf(out, "(no samples)\n");
		return ferror(out) ? -EIO : 0;
	}
	fprintf(out, "%*s%-*s : count    distribution\n", 10, "", 14,
		unit ? unit : "usecs");
	for (int i = first; i <= last; i++) {
		char range[48];

		if (i == AOD_HIST_SLOTS - 1)
			snprintf(range, sizeof(range), "%llu -> ...",
				 (unsigned long long)aod_hist_slot_lo_us(i));
		else
			snprintf(range, sizeof(range), "%llu -> %llu",
				 (unsigned long long)aod_hist_slot_lo_us(i),
				 (unsigned long long)aod_hist_slot_hi_us(i));
		fprintf(out, "%24s : %-8llu ", range,
			(unsigned long long)h->slots[i]);
		print_bar(h->slots[i], max, out);
		fputc('\n', out);
	}
	return ferror(out) ? -EIO : 0;
}
