// SPDX-License-Identifier: MIT
/* The latest health report of the agent, behind a mutex, and its metrics. */
#include <pthread.h>
#include <stdlib.h>

#include "health/health.h"
#include "health/latest.h"

struct aod_health_latest {
	pthread_mutex_t lock;
	json_t *report;
	uint64_t runs;
};

struct aod_health_latest *aod_health_latest_new(void)
{
	struct aod_health_latest *l = calloc(1, sizeof(*l));

	if (l)
		pthread_mutex_init(&l->lock, NULL);
	return l;
}

void aod_health_latest_free(struct aod_health_latest *l)
{
	if (!l)
		return;
	json_decref(l->report);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

void aod_health_latest_set(struct aod_health_latest *l, json_t *report)
{
	json_t *old;

	pthread_mutex_lock(&l->lock);
	old = l->report;
	l->report = report;
	l->runs++;
	pthread_mutex_unlock(&l->lock);
	json_decref(old);
}

json_t *aod_health_latest_get(struct aod_health_latest *l)
{
	json_t *r;

	if (!l)
		return NULL;
	pthread_mutex_lock(&l->lock);
	r = json_incref(l->report);
	pthread_mutex_unlock(&l->lock);
	return r;
}

uint64_t aod_health_latest_runs(struct aod_health_latest *l)
{
	uint64_t n;

	pthread_mutex_lock(&l->lock);
	n = l->runs;
	pthread_mutex_unlock(&l->lock);
	return n;
}

int aod_health_metrics_write(struct aod_health_latest *l, FILE *out)
{
	json_t *r = aod_health_latest_get(l);
	int err = r ? aod_health_metrics_render(r, out) : 0;

	json_decref(r);
	return err;
}
