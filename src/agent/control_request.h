/* SPDX-License-Identifier: MIT */
/*
 * The control socket's request line, parsed without any I/O (so it can be
 * fuzzed): one line, "status", "snapshot" or "hist", optionally ended by "\n" or
 * "\r\n". Bytes after the first "\n" are ignored (one request per
 * connection). Empty, over-long (no "\n" within AOD_CONTROL_REQUEST_MAX
 * bytes), NUL-containing and unknown lines are errors.
 */
#ifndef AOD_AGENT_CONTROL_REQUEST_H
#define AOD_AGENT_CONTROL_REQUEST_H

#include <stddef.h>

#define AOD_CONTROL_REQUEST_MAX 128 /* bytes read per request, "\n" included */

enum aod_control_req {
	AOD_CONTROL_STATUS = 0,
	AOD_CONTROL_SNAPSHOT = 1,
	AOD_CONTROL_HIST = 2,     /* the kernel histograms as JSON (aod hist) */
};

/*
 * Parse the first len bytes of buf (need not be NUL-terminated). Returns 0
 * with *req set, or -EINVAL with err set to one line for the client (no
 * "error: " prefix, no newline), e.g. "unknown request; expected status |
 * snapshot | hist".
 */
int aod_control_parse_request(const char *buf, size_t len, enum aod_control_req *req,
			      char *err, size_t errlen);

#endif /* AOD_AGENT_CONTROL_REQUEST_H */
