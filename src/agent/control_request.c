// SPDX-License-Identifier: MIT
/*
 * Parsing of the control socket's request line (agent/control_request.h):
 * pure code, used by the server in control.c and by tests/fuzz.
 */
#include "agent/control_request.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	enum aod_control_req req;
} requests[] = {
	{ "status", AOD_CONTROL_STATUS },
	{ "snapshot", AOD_CONTROL_SNAPSHOT },
	{ "hist", AOD_CONTROL_HIST },
};

static int reject(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -EINVAL;
}

int aod_control_parse_request(const char *buf, size_t len, enum aod_control_req *req,
			      char *err, size_t errlen)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl ? (size_t)(nl - buf) : len;

	if (nl ? n + 1 > AOD_CONTROL_REQUEST_MAX : len >= AOD_CONTROL_REQUEST_MAX)
		return reject(err, errlen, "request line too long; expected status | snapshot | hist");
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0)
		return reject(err, errlen, "expected a request line: status | snapshot | hist");
	if (memchr(buf, '\0', n))
		return reject(err, errlen, "request contains a NUL byte; expected status | snapshot | hist");
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		if (strlen(requests[i].name) == n && !memcmp(buf, requests[i].name, n)) {
			*req = requests[i].req;
			return 0;
		}
	}
	return reject(err, errlen, "unknown request; expected status | snapshot | hist");
}
