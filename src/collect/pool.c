// SPDX-License-Identifier: MIT
/*
 * One limit on running actions for the whole agent (max_concurrent_tasks):
 * a counting semaphore whose waiters are served quick-first, so a storm of
 * collections gets every bundle's cheap /proc reads before anyone's slow
 * journalctl. Cancel wakes every waiter (they return -ECANCELED) and
 * makes an eventfd readable that running programs poll next to their
 * output pipe, so they are killed at once (TERM, KILL after 1 s). The
 * pool also owns where its actions run (contain.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "collect/action.h"
#include "collect/action_internal.h"
#include "collect/contain.h"
#include "common/log.h"

struct aod_action_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned limit;
	unsigned held; /* slots taken */
	unsigned quick_waiting;
	bool cancelled;
	int cancel_fd;	     /* eventfd, written once on cancel */
	atomic_uint working; /* actions doing their work right now */
	atomic_uint peak;
	struct aod_contain *contain;
};

struct aod_action_pool *aod_action_pool_new(unsigned max_concurrent)
{
	struct aod_action_pool *pool = calloc(1, sizeof(*pool));

	if (!pool) {
		log_err("action pool: out of memory");
		return NULL;
	}
	pool->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pool->cancel_fd < 0) {
		log_err("action pool: eventfd: %s", strerror(errno));
		free(pool);
		return NULL;
	}
	pool->contain = aod_contain_new();
	if (!pool->contain) {
		log_err("action pool: out of memory");
		close(pool->cancel_fd);
		free(pool);
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->limit = max_concurrent ? max_concurrent : AOD_ACTION_DEFAULT_CONCURRENCY;
	atomic_init(&pool->working, 0);
	atomic_init(&pool->peak, 0);
	return pool;
}

void aod_action_pool_free(struct aod_action_pool *pool)
{
	if (!pool)
		return;
	aod_contain_free(pool->contain);
	close(pool->cancel_fd);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

void aod_action_pool_cancel(struct aod_action_pool *pool)
{
	uint64_t one = 1;

	pthread_mutex_lock(&pool->lock);
	pool->cancelled = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	if (write(pool->cancel_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("action pool: cancel eventfd: %s", strerror(errno));
}

unsigned aod_action_pool_peak(const struct aod_action_pool *pool)
{
	return atomic_load(&pool->peak);
}

int aod_action_pool_claim(struct aod_action_pool *pool, const char *output_dir)
{
	return aod_contain_claim(pool->contain, output_dir);
}

struct aod_contain *aod_pool_contain(struct aod_action_pool *pool)
{
	return pool->contain;
}

unsigned aod_pool_limit(const struct aod_action_pool *pool)
{
	return pool->limit;
}

int aod_pool_cancel_fd(const struct aod_action_pool *pool)
{
	return pool->cancel_fd;
}

bool aod_pool_cancelled(struct aod_action_pool *pool)
{
	bool c;

	pthread_mutex_lock(&pool->lock);
	c = pool->cancelled;
	pthread_mutex_unlock(&pool->lock);
	return c;
}

int aod_pool_acquire(struct aod_action_pool *pool, bool quick)
{
	int rc = 0;

	pthread_mutex_lock(&pool->lock);
	if (quick)
		pool->quick_waiting++;
	while (!pool->cancelled &&
	       (pool->held >= pool->limit || (!quick && pool->quick_waiting > 0)))
		pthread_cond_wait(&pool->cond, &pool->lock);
	if (quick && --pool->quick_waiting == 0)
		pthread_cond_broadcast(&pool->cond); /* slow waiters may go now */
	if (pool->cancelled)
		rc = -ECANCELED;
	else
		pool->held++;
	pthread_mutex_unlock(&pool->lock);
	return rc;
}

void aod_pool_release(struct aod_action_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->held--;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

void aod_pool_work_begin(struct aod_action_pool *pool)
{
	unsigned now = atomic_fetch_add(&pool->working, 1) + 1;
	unsigned peak = atomic_load(&pool->peak);

	while (now > peak && !atomic_compare_exchange_weak(&pool->peak, &peak, now))
		;
}

void aod_pool_work_end(struct aod_action_pool *pool)
{
	atomic_fetch_sub(&pool->working, 1);
}
