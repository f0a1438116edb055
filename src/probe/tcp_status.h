/* SPDX-License-Identifier: MIT */
/*
 * The TCP aggregates as JSON, for `aod status --json` (its "tcp" object):
 * the counters, each histogram's count and sum per port, the listeners'
 * accept queues and the kernel's listen counters. The same numbers the
 * exporter API gives (probes.h, tcp_listen.h), for people and tests.
 */
#ifndef AOD_PROBE_TCP_STATUS_H
#define AOD_PROBE_TCP_STATUS_H

#include <jansson.h>

#include "probe/probes.h"

/* A new object; "loaded": false and no aggregates when the TCP probe is
 * not loaded (listeners and netstat are there either way). NULL on ENOMEM. */
json_t *aod_tcp_status_json(struct aod_probes *p);

/* "connects", "connect_failures", ... (the JSON name of a counter). */
const char *aod_tcp_counter_name(enum aod_tcp_counter c);
/* "connect", "accept", "rtt". */
const char *aod_tcp_hist_name(enum aod_tcp_hist_kind kind);

#endif /* AOD_PROBE_TCP_STATUS_H */
