// SPDX-License-Identifier: MIT
#include "agent/worker.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>

#include "agent/agent.h"
#include "common/log.h"

#define BACKOFF_FIRST_MS 1000u
#define BACKOFF_MAX_MS 30000u

static void *worker_thread(void *arg)
{
	struct aod_worker *w = arg;
	struct aod_agent *agent = w->agent;
	unsigned backoff = BACKOFF_FIRST_MS;

	prctl(PR_SET_NAME, w->name, 0, 0, 0);
	while (!aod_agent_stopping(agent)) {
		int err = w->fn(agent);

		if (aod_agent_stopping(agent))
			break;
		atomic_store(&w->last_error, err);
		if (err == AOD_WORKER_FATAL) {
			log_err("worker %s: fatal error, stopping the agent", w->name);
			aod_agent_request_stop(agent, 1);
			break;
		}
		atomic_fetch_add(&w->restarts, 1);
		log_warn("worker %s exited unexpectedly (%d: %s); restarting in %u ms", w->name,
			 err, err < 0 ? strerror(-err) : "no error", backoff);
		if (aod_agent_sleep(agent, backoff))
			break;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

int aod_worker_start(struct aod_worker *w, struct aod_agent *agent, const char *name,
		     int (*fn)(struct aod_agent *agent))
{
	int err;

	w->name = name;
	w->fn = fn;
	w->agent = agent;
	err = pthread_create(&w->thread, NULL, worker_thread, w);
	if (err) {
		log_err("cannot start worker %s: %s", name, strerror(err));
		return -err;
	}
	w->started = true;
	return 0;
}

void aod_worker_join(struct aod_worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
}
