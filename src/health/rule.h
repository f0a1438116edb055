/* SPDX-License-Identifier: MIT */
/*
 * `type: Health` rules against a health report (pure: tested on synthetic
 * reports). A rule fires for the units that are newly failed (failed now,
 * not in the previous report) or newly anomalous (a feature over the score
 * threshold now, not in the previous report), as its `on` says, among its
 * `units` (names or shell globs; none = every unit). So a unit that stays
 * failed makes one bundle, not one per report.
 */
#ifndef AOD_HEALTH_RULE_H
#define AOD_HEALTH_RULE_H

#include <jansson.h>
#include <stddef.h>

#include "config/config.h"
#include "detect/anomaly.h"

/* Fill a (keys "<unit>/failed", "<unit>/<feature>") and return how many keys; 0 = no fire.
 * prev may be NULL (the first report: everything present is new). now_ns: the anomaly's id. */
size_t aod_health_rule_eval(const struct aod_rule *r, const json_t *report, const json_t *prev,
			    uint64_t now_ns, struct aod_anomaly *a);

#endif /* AOD_HEALTH_RULE_H */
