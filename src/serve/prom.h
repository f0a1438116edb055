/* SPDX-License-Identifier: MIT */
/*
 * A small writer of the Prometheus text exposition format 0.0.4 into a
 * growing buffer: # HELP / # TYPE once per family, samples with escaped
 * label values, counters as exact integers, histograms with cumulative
 * _bucket{le} lines ending in +Inf, then _sum and _count.
 *
 * Label values: backslash, double quote and newline are escaped as the
 * format says; any other control character or byte that is not valid
 * UTF-8 is written as the four characters \xNN (so it reaches nobody's
 * terminal raw, and the scrape stays valid UTF-8).
 *
 * Labels are passed as a NULL-terminated array of name, value pairs:
 *   (const char *[]){ "device", "vda", "operation", "read", NULL }
 * Allocation failure is sticky: every later call is a no-op and
 * aod_prom_error() returns -ENOMEM.
 */
#ifndef AOD_SERVE_PROM_H
#define AOD_SERVE_PROM_H

#include <stddef.h>
#include <stdint.h>

#define AOD_PROM_MAX_BUCKETS 64

struct aod_prom {
	char *buf;
	size_t len, cap;
	int err;
};

/* A histogram ready to write: finite buckets (le ascending, cumulative
 * counts), then the +Inf bucket is count. */
struct aod_prom_hist {
	size_t nbuckets;
	double le[AOD_PROM_MAX_BUCKETS];
	const char *le_text[AOD_PROM_MAX_BUCKETS]; /* optional: le[] already formatted */
	uint64_t cum[AOD_PROM_MAX_BUCKETS];
	uint64_t count;
	double sum;
};

void aod_prom_init(struct aod_prom *w);
void aod_prom_free(struct aod_prom *w);
void aod_prom_reset(struct aod_prom *w); /* len = 0, keeps the buffer */
int aod_prom_error(const struct aod_prom *w);

/* type: "counter", "gauge", "histogram". */
void aod_prom_family(struct aod_prom *w, const char *name, const char *type, const char *help);
void aod_prom_u64(struct aod_prom *w, const char *name, const char *const *labels, uint64_t v);
void aod_prom_double(struct aod_prom *w, const char *name, const char *const *labels, double v);
void aod_prom_histogram(struct aod_prom *w, const char *name, const char *const *labels,
			const struct aod_prom_hist *h);

/* Appends a label value escaped as above (exposed for tests). */
void aod_prom_escape(struct aod_prom *w, const char *value);
/* Shortest text that reads back as v; "+Inf", "-Inf", "NaN". */
void aod_prom_format_double(double v, char *buf, size_t len);

#endif /* AOD_SERVE_PROM_H */
