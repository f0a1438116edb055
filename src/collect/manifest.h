/* SPDX-License-Identifier: MIT */
/*
 * manifest.json: what a bundle holds and how each piece came to be, for
 * tools (jq) and for the engineer who has only the archive.
 *
 *   format, bundle, id (string: ns ids exceed a double), aod_version,
 *   created, created_ns, hostname, kernel, partial,
 *   config {path, hash}, anomaly, coalesced [...],
 *   suppressed {count, listed [...]},
 *   events {file, recorded, written, cut_by_size_cap, lost_in_recorder},
 *   status_file ("aod-status.json" or null),
 *   actions [{name, file, in_bundle, command, kind?, argv? | path?,
 *             exit_code, signal, start, start_ns, duration_ms, duration_ns,
 *             bytes, bytes_dropped, truncated, timed_out, skipped,
 *             error (null if none), problem (why not in the bundle, or null),
 *             bundle_cut_bytes, bytes_in_bundle}],
 *   budget {max_bundle_bytes, data_budget_bytes, files_cut, bytes_cut,
 *           cut [{file, size, cut, kept}]}
 * Anomalies are aod_anomaly_to_json() objects.
 */
#ifndef AOD_COLLECT_MANIFEST_H
#define AOD_COLLECT_MANIFEST_H

#include <jansson.h>

#include "collect/bundle.h"

/* A new reference, or NULL on allocation failure. */
json_t *aod_manifest_build(const struct aod_bundle_input *in, const struct aod_bundle_plan *plan);

#endif /* AOD_COLLECT_MANIFEST_H */
