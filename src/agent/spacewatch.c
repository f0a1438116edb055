// SPDX-License-Identifier: MIT
/*
 * SpaceWatcher thread: keeps the finished bundles within the size budget
 * and the age limit (policy in src/collect/retention.c), checking every
 * cleanup_interval_sec, or 4x as often (at least once a second) while in
 * emergency. Crash leftovers (staging dirs) are removed by the collector
 * when it is created, before any collection can start (collector.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "collect/retention.h"
#include "common/log.h"
#include "common/timeutil.h"

int aod_spacewatch_main(struct aod_agent *agent)
{
	struct aod_config *cfg = malloc(sizeof(*cfg));
	struct aod_retention_policy policy;
	uint64_t gen = 0;
	bool emergency = false;

	if (!cfg)
		return -ENOMEM;
	do {
		struct aod_retention_stats st;
		int err;

		aod_agent_config_refresh(agent, cfg, &gen);
		aod_retention_policy_from_config(cfg, &policy);
		err = aod_retention_check(cfg->output_dir, &policy, aod_wall_ns(), &st);
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
		if (aod_agent_sleep(agent, st.next_check_sec * 1000u))
			break;
	} while (true);
	free(cfg);
	return 0;
}
