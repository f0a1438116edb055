/* SPDX-License-Identifier: MIT */
/*
 * Collector: turns anomalies into bundles.
 *  - one collection per source at a time; anomalies of that source that
 *    arrive while it runs are coalesced into its bundle;
 *  - after a bundle, a holdoff (the rule's holdoff_sec) suppresses new
 *    bundles of the same rule; suppressed anomalies are counted and listed
 *    in that rule's next bundle;
 *  - actions run through the agent's action pool (max_concurrent_tasks in
 *    all), the flight recorder supplies events.jsonl.
 */
#ifndef AOD_AGENT_COLLECTOR_H
#define AOD_AGENT_COLLECTOR_H

#include <jansson.h>
#include <stdint.h>

struct aod_agent;
struct aod_collector;

struct aod_collector *aod_collector_new(struct aod_agent *agent);
void aod_collector_free(struct aod_collector *c);
json_t *aod_collector_status_json(struct aod_collector *c);

struct aod_bundle_counts {
	uint64_t written;  /* partial ones included */
	uint64_t partial;  /* cut short because aod was stopping */
	uint64_t failed;
};
void aod_collector_bundle_counts(struct aod_collector *c, struct aod_bundle_counts *out);

#endif /* AOD_AGENT_COLLECTOR_H */
