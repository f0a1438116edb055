/* SPDX-License-Identifier: MIT */
/*
 * Replay: run recorded events through the detector on the recording's own
 * timeline (a virtual clock), as fast as the machine goes.
 *
 * Recording format (what `aod record` writes), JSON lines:
 *   line 1 (optional) header:
 *     {"aod_record":1,"version":"0.1.0","started":"2026-11-23T18:47:58.000Z",
 *      "started_wall_ns":N,"started_mono_ns":N, ...}
 *     "aod_record" is the format version (AOD_RECORD_FORMAT) and is
 *     required; the others are optional, and fields beyond them (host,
 *     kernel, ...) are informational and ignored.
 *   every other line: one event object (agent/evjson.h), in the order
 *     they were decoded. Blank lines are ignored.
 *
 * Timing: events go to the detector in file order, each at its own mono_ns
 * (the detector fires rules at event time, detector.h), as fast as the
 * machine goes; after the last event what is still due fires at its time.
 * So a replay fires exactly what the live agent fired on the same events.
 * Wall times come from the events.
 */
#ifndef AOD_AGENT_REPLAY_H
#define AOD_AGENT_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "detect/detector.h"
#include "detect/event.h"

/* ---- the virtual clock, event by event ---- */

struct aod_replay;

/* fn receives every anomaly (may be NULL). NULL on out of memory. */
struct aod_replay *aod_replay_new(const struct aod_config *cfg, aod_anomaly_fn fn, void *ctx);
void aod_replay_free(struct aod_replay *r);

/* Add ev to the detector. Returns anomalies fired. */
int aod_replay_feed(struct aod_replay *r, const struct aod_event *ev);

/* End of the recording: fire what is still due. Returns anomalies fired. */
int aod_replay_finish(struct aod_replay *r);

const struct aod_detector *aod_replay_detector(const struct aod_replay *r);

/* ---- whole files ---- */

struct aod_replay_opts {
	bool skip_bad;          /* skip malformed lines (counted) instead of stopping */
	aod_anomaly_fn on_anomaly;
	void *ctx;
	/* skipped line: "FILE:LINE: what was wrong" (may be NULL) */
	void (*on_bad_line)(const char *msg, void *ctx);
};

struct aod_replay_stats {
	uint64_t lines;     /* lines read, blank ones included */
	uint64_t events;    /* events fed to the detector */
	uint64_t skipped;   /* bad lines skipped (skip_bad) */
	uint64_t anomalies; /* anomalies fired */
};

/*
 * Replay a stream; name is used in messages. Returns 0, -EINVAL for a bad
 * line (err: "NAME:LINE: what was wrong") unless skip_bad, -ENOMEM, or
 * -errno on a read error (err set).
 */
int aod_replay_stream(FILE *in, const char *name, const struct aod_config *cfg,
		      const struct aod_replay_opts *opts, struct aod_replay_stats *stats,
		      char *err, size_t errlen);

/* The same on a file path ("-" is stdin). */
int aod_replay_file(const char *path, const struct aod_config *cfg,
		    const struct aod_replay_opts *opts, struct aod_replay_stats *stats,
		    char *err, size_t errlen);

#endif /* AOD_AGENT_REPLAY_H */
