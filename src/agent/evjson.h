/* SPDX-License-Identifier: MIT */
/*
 * JSON for events and anomalies (jansson), and the one-line text form of
 * an anomaly for logs.
 *
 * Event object (one per line in a recording, see agent/replay.h):
 *   common  "ts": "2026-11-23T18:47:59.123Z"  wall clock, UTC, ms (for people)
 *           "wall_ns": 1795459679123456789     CLOCK_REALTIME at completion
 *           "mono_ns": 81234567890             CLOCK_MONOTONIC at completion
 *           "kind": "smb_slow" | "smb_err" | "blk_slow" | "blk_err" |
 *                   "smb_reconnect" | "smb_stuck" | "blk_stuck"
 *           "pid": thread id, "tgid": process id, "comm": "dd" (<= 15 chars)
 *           "was_stuck": true  (optional) the op was reported stuck before it completed
 *           "late": true       (optional) it completed after its in-flight entry expired
 *   smb_*   "cmd": "SMB2_WRITE", "cmd_id": 9, "sesid", "mid", "tid",
 *           "latency_ns" (0 when the enter was not seen)
 *   smb_err "status": "0xC0000022", "status_name": "STATUS_ACCESS_DENIED",
 *           "rc": -13
 *   blk_*   "dev": "253:0", "dev_t": 265289728 (major << 20 | minor),
 *           "disk": "vda" ("" if unknown), "op": "read" | "write" | "flush" |
 *           "discard" | "other", "sector", "bytes", "latency_ns"
 *   blk_err "error": -5
 *   *_stuck the fields of *_slow, with "age_ns" (age when the sweep found it)
 *           instead of "latency_ns", and "batch" (the sweep); mono_ns/wall_ns
 *           are when it was found
 *   smb_reconnect "conn_id", "currmid" (next message id at the break),
 *           "server" (hostname, <= 23 chars); context only, no rule counts it
 * Unsigned 64-bit fields above INT64_MAX (a session id can be) are
 * written as decimal strings; readers accept a number or such a string
 * ("0x..." hex too).
 *
 * Reading is strict: every field above is required except the derived
 * ones, unknown fields are errors. Derived fields: "ts" (used only when
 * "wall_ns" is absent), "status_name" (ignored), and one of each pair
 * "cmd"/"cmd_id" and "dev"/"dev_t" (if both are given they must agree).
 * "status" also accepts an NTSTATUS name.
 *
 * Anomaly object:
 *   "id", "ts" (ISO of id), "rule", "source", "type", "emergency" (bool),
 *   "window_start_ns", "window_start", "window_end_ns", "window_end",
 *   "window_sec", "acceptable_count", "emergency_threshold_ns" (latency
 *   rules), "total", "dropped",
 *   "keys": [{"key", "count", and for latency rules "threshold_ns",
 *             "max_latency_ns", for stuck ones "max_age_ns"}],
 *   "worst": [event objects]
 *
 * Recording header (first line of a recording, see agent/replay.h):
 *   {"aod_record": 1, "version": "0.1.0", "started": ISO,
 *    "started_wall_ns": N, "started_mono_ns": N}
 */
#ifndef AOD_AGENT_EVJSON_H
#define AOD_AGENT_EVJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "detect/anomaly.h"
#include "detect/event.h"

#define AOD_RECORD_FORMAT 1

/* A new reference, or NULL (out of memory). */
json_t *aod_event_to_json(const struct aod_event *ev);

/*
 * Decode one event object. Returns 0, or -EINVAL with err set to a
 * sentence naming the field and what was expected, e.g.
 * "field 'latency_ns': expected a non-negative integer, got a string".
 */
int aod_event_from_json(const json_t *obj, struct aod_event *ev, char *err, size_t errlen);

/* A new reference, or NULL (out of memory). */
json_t *aod_anomaly_to_json(const struct aod_anomaly *a);

/*
 * One journald-friendly line (no newline), key=value separated by spaces:
 *   anomaly id=1795459679123456789 rule=latency source=smb type=latency
 *   count=12/10 window=1s end=2026-11-23T18:47:59.123Z
 *   keys=SMB2_WRITE:9(>=20ms,max=130.2ms),SMB2_READ:3(>=20ms,max=110ms)
 *   worst=4242/dd:SMB2_WRITE:130.2ms,4242/dd:SMB2_WRITE:128ms,...
 * A stuck anomaly has "stuck=N oldest=AGE at=ISO" instead of count/window/end
 * and keys "NAME:COUNT(age=AGE)".
 * "emergency=yes" follows type= for emergencies, "dropped=N" follows end=
 * when the window overflowed. Error keys are "NAME:COUNT"; worst entries
 * are tgid/comm:what:latency or tgid/comm:what:error (at most 3; spaces,
 * commas and '=' in comm become '_'). Returns the length the full line
 * needs (like snprintf); the output is truncated to len - 1.
 */
int aod_anomaly_format_line(const struct aod_anomaly *a, char *buf, size_t len);

/* The header line of a recording. */
json_t *aod_record_header_to_json(uint64_t started_wall_ns, uint64_t started_mono_ns);

/* Is this object a recording header (has "aod_record")? */
bool aod_record_is_header(const json_t *obj);

/*
 * Check a header: format version must be AOD_RECORD_FORMAT. Fields other
 * than those above are allowed (informational). *started_mono_ns is 0 if
 * absent. Returns 0 or -EINVAL with err set.
 */
int aod_record_header_from_json(const json_t *obj, uint64_t *started_mono_ns, char *err,
				size_t errlen);

/*
 * One line of a recording, as `aod replay` reads it (len bytes, need not be
 * NUL-terminated; a NUL byte is an error). Returns AOD_RECORD_LINE_EVENT
 * with *ev set, AOD_RECORD_LINE_HEADER with *started_mono_ns set, or
 * -EINVAL with err set to one line (the caller adds "FILE:LINE: ").
 */
enum { AOD_RECORD_LINE_EVENT = 0, AOD_RECORD_LINE_HEADER = 1 };
int aod_record_line_decode(const char *line, size_t len, struct aod_event *ev,
			   uint64_t *started_mono_ns, char *err, size_t errlen);

/* Name used in the JSON: "smb_slow"...; NULL if out of range. */
const char *aod_event_kind_name(enum aod_event_kind kind);

#endif /* AOD_AGENT_EVJSON_H */
