// SPDX-License-Identifier: MIT
/* Bounded label-set counter tables (see series.h). */
#include "common/series.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void aod_series_init(struct aod_series_table *t, unsigned cap)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->cap = cap && cap <= AOD_SERIES_MAX ? cap : AOD_SERIES_MAX;
}

void aod_series_destroy(struct aod_series_table *t)
{
	pthread_mutex_destroy(&t->lock);
}

/* Zero-padded, so that keys compare with memcmp. */
static void set_key(struct aod_series *s, const char *const v[AOD_SERIES_LABELS])
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < AOD_SERIES_LABELS; i++)
		snprintf(s->v[i], sizeof(s->v[i]), "%s", v[i] ? v[i] : "");
}

static uint64_t key_hash(const struct aod_series *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < AOD_SERIES_LABELS; i++)
		for (const char *p = s->v[i];; p++) {
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
			if (!*p)
				break;
		}
	return h;
}

/* Under the lock: count a refused label set once (as long as we can remember it). */
static void refuse(struct aod_series_table *t, const struct aod_series *key)
{
	uint64_t h = key_hash(key);

	for (unsigned i = 0; i < t->nrefused; i++)
		if (t->refused[i] == h)
			return;
	if (t->nrefused < AOD_SERIES_REFUSED_MAX)
		t->refused[t->nrefused++] = h;
	t->dropped++;
}

int aod_series_add(struct aod_series_table *t, const char *a, const char *b, const char *c,
		   uint64_t n)
{
	const char *const v[AOD_SERIES_LABELS] = { a, b, c };
	struct aod_series key;
	int ret = 0;
	unsigned i;

	set_key(&key, v);
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->n; i++)
		if (!memcmp(t->e[i].v, key.v, sizeof(key.v)))
			break;
	if (i == t->n && t->n < t->cap)
		t->e[t->n++] = key;
	if (i < t->n)
		t->e[i].value += n;
	else {
		refuse(t, &key);
		ret = -ENOSPC;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

size_t aod_series_copy(struct aod_series_table *t, struct aod_series *out, size_t max,
		       uint64_t *dropped)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->n < max ? t->n : max;
	memcpy(out, t->e, n * sizeof(*out));
	if (dropped)
		*dropped = t->dropped;
	pthread_mutex_unlock(&t->lock);
	return n;
}

uint64_t aod_series_dropped(struct aod_series_table *t)
{
	uint64_t d;

	pthread_mutex_lock(&t->lock);
	d = t->dropped;
	pthread_mutex_unlock(&t->lock);
	return d;
}
