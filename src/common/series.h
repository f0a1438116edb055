/* SPDX-License-Identifier: MIT */
/*
 * A bounded table of counters keyed by up to three label values, for
 * metrics whose label sets come from the config or from the machine (rule
 * names, action names, devices): the first `cap` label sets get a series,
 * later ones are refused and counted once per distinct label set in
 * `dropped` (aod_metrics_series_dropped_total). Counters never reset.
 * Thread-safe; every call holds the table's mutex for a few compares.
 */
#ifndef AOD_COMMON_SERIES_H
#define AOD_COMMON_SERIES_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define AOD_SERIES_LABELS 3
#define AOD_SERIES_VALUE_LEN 64
#define AOD_SERIES_MAX 64
#define AOD_SERIES_REFUSED_MAX 256 /* distinct refused sets remembered */

struct aod_series {
	char v[AOD_SERIES_LABELS][AOD_SERIES_VALUE_LEN]; /* "" for unused labels */
	uint64_t value;
};

struct aod_series_table {
	pthread_mutex_t lock;
	unsigned cap;       /* <= AOD_SERIES_MAX */
	unsigned n;
	struct aod_series e[AOD_SERIES_MAX];
	unsigned nrefused;
	uint64_t refused[AOD_SERIES_REFUSED_MAX]; /* hashes of refused label sets */
	uint64_t dropped;
};

/* cap 0 or above AOD_SERIES_MAX means AOD_SERIES_MAX. */
void aod_series_init(struct aod_series_table *t, unsigned cap);
void aod_series_destroy(struct aod_series_table *t);

/* Adds n to the series (a, b, c) (NULL = ""), creating it while the cap
 * allows; values longer than AOD_SERIES_VALUE_LEN - 1 are cut. Returns 0,
 * or -ENOSPC when the label set was refused. n = 0 only admits. */
int aod_series_add(struct aod_series_table *t, const char *a, const char *b, const char *c,
		   uint64_t n);

/* Copies up to max series (in insertion order); returns how many, and
 * the dropped count if dropped is not NULL. */
size_t aod_series_copy(struct aod_series_table *t, struct aod_series *out, size_t max,
		       uint64_t *dropped);

uint64_t aod_series_dropped(struct aod_series_table *t);

#endif /* AOD_COMMON_SERIES_H */
