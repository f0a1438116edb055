/* SPDX-License-Identifier: MIT */
/*
 * Supervised worker threads. A worker's function runs until the agent
 * stops; if it returns early with an error it is restarted with backoff
 * (1 s doubling to 30 s), logged each time. AOD_WORKER_FATAL asks the
 * controller to stop the agent with a non-zero exit so systemd restarts it.
 */
#ifndef AOD_AGENT_WORKER_H
#define AOD_AGENT_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define AOD_WORKER_FATAL (-10000)

struct aod_agent;

struct aod_worker {
	const char *name;          /* thread name, <= 15 chars */
	int (*fn)(struct aod_agent *agent);
	struct aod_agent *agent;
	pthread_t thread;
	bool started;
	_Atomic uint32_t restarts;
	_Atomic int last_error;
};

int aod_worker_start(struct aod_worker *w, struct aod_agent *agent, const char *name,
		     int (*fn)(struct aod_agent *agent));
void aod_worker_join(struct aod_worker *w);

#endif /* AOD_AGENT_WORKER_H */
