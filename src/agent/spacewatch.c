// SPDX-License-Identifier: MIT
/*
 * SpaceWatcher thread: keeps the output within the size budget and the
 * age limit (policy in src/collect/retention.c), checking every
 * cleanup_interval_sec, 4x as often (at least once a second) while in
 * emergency, and right after each bundle is published (the collector kicks
 * spacewatch_kick). The anomaly log (bounded by its own rotation) counts in
 * the budget: the bundles get what it leaves. Crash leftovers (staging
 * dirs) are removed by the collector when it is created, before any
 * collection can start (collector.c).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/anomaly_log.h"
#include "collect/retention.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "store/store.h"

/* Sleep until the next check, a kick, or stop. Returns true if stopping. */
static bool wait_next(struct aod_agent *agent, unsigned sec)
{
	struct pollfd pfd[2] = {
		{ .fd = agent->stop_eventfd, .events = POLLIN },
		{ .fd = agent->spacewatch_kick, .events = POLLIN },
	};
	uint64_t n;

	if (poll(pfd, 2, (int)(sec * 1000u)) > 0 && (pfd[1].revents & POLLIN) &&
	    read(agent->spacewatch_kick, &n, sizeof(n)) < 0)
		log_debug("space watcher: kick: %m");
	return aod_agent_stopping(agent);
}

/* The budget left for bundles once the anomaly log and the store have their share. */
static void budget_for_bundles(const struct aod_config *cfg, struct aod_retention_policy *p)
{
	uint64_t store = cfg->store.enabled ? aod_store_disk_bytes(cfg->store.path) : 0;
	uint64_t store_max = aod_config_store_max_bytes(cfg);
	/* the store's writer holds it to its share within a second: a WAL peak
	 * between two of its checks costs no bundle */
	uint64_t log_bytes = aod_anomaly_log_bytes(cfg->output_dir) +
			     (store < store_max ? store : store_max);

	if (p->budget_bytes)
		p->budget_bytes = p->budget_bytes > log_bytes ? p->budget_bytes - log_bytes : 1;
}

int aod_spacewatch_main(struct aod_agent *agent)
{
	const struct aod_config *cfg = NULL;
	struct aod_retention_policy policy;
	uint64_t gen = 0;
	bool emergency = false;

	do {
		struct aod_retention_stats st;
		int err;

		aod_agent_config_refresh(agent, &cfg, &gen);
		aod_retention_policy_from_config(cfg, &policy);
		budget_for_bundles(cfg, &policy);
		err = aod_retention_check(cfg->output_dir, &policy, aod_wall_ns(), &st);
		if (!err)
			atomic_store(&agent->counters.output_bytes, st.total_after);
		if (err) {
			log_warn("space watcher: cannot scan %s/batches: %s", cfg->output_dir,
				 strerror(-err));
			st.next_check_sec = policy.interval_sec ? policy.interval_sec : 60;
		} else if (st.emergency != emergency) {
			emergency = st.emergency;
			if (emergency)
				log_warn("space watcher: emergency, bundles use >= 95%% of the budget; "
					 "checking every %u s", st.next_check_sec);
		}
		if (!st.next_check_sec)
			st.next_check_sec = 1;
		if (wait_next(agent, st.next_check_sec))
			break;
	} while (true);
	aod_config_unref(cfg);
	return 0;
}
