// SPDX-License-Identifier: MIT
/*
 * SpaceWatcher thread: removes crash leftovers at start, then keeps the
 * finished bundles within the size budget and the age limit (policy in
 * src/collect/retention.c), checking every cleanup_interval_sec, or 4x as
 * often (at least once a second) while in emergency.
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
	int removed;

	if (!cfg)
		return -ENOMEM;
	aod_agent_config_refresh(agent, cfg, &gen);
	removed = aod_retention_clean_staging(cfg->output_dir);
	if (removed > 0)
		log_notice("removed %d staging leftovers of an earlier run", removed);
	do {
		struct aod_retention_stats st;
		int err;

		aod_agent_config_refresh(agent, cfg, &gen);
		aod_retention_policy_from_config(cfg, &policy);
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
		if (aod_agent_sleep(agent, st.next_check_sec * 1000u))
			break;
	} while (true);
	free(cfg);
	return 0;
}
