// SPDX-License-Identifier: MIT
/*
 * Maintenance thread, once a second: lets the probes attach what has
 * become available (the cifs module loaded after start), expires in-flight
 * entries that never completed, and re-reads the wall/monotonic offset so
 * a clock step is reflected in event timestamps within seconds.
 */
#include "agent/agent.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "probe/probes.h"

#define TICK_MS 1000
#define CLOCK_SYNC_TICKS 10

int aod_maintenance_main(struct aod_agent *agent)
{
	unsigned ticks = 0;

	while (!aod_agent_sleep(agent, TICK_MS)) {
		int err = aod_probes_tick(agent->probes, aod_mono_ns());

		if (err)
			log_debug("probe maintenance: %d", err);
		if (++ticks % CLOCK_SYNC_TICKS == 0)
			aod_decoder_sync_clock(&agent->decoder);
	}
	return 0;
}
