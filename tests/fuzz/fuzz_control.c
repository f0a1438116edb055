// SPDX-License-Identifier: MIT
/*
 * Fuzz the control socket's request parser (aod_control_parse_request).
 * Property, checked against the spec in agent/control_request.h: a request
 * is accepted exactly when the input is "status", "snapshot" or "hist", then
 * optionally "\r", then "\n" (and anything) or the end, within
 * AOD_CONTROL_REQUEST_MAX bytes; a rejection says why in one line.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/control_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Does the input start with word, then the end of the request line? */
static bool is_request(const char *d, size_t n, const char *word)
{
	size_t w = strlen(word);
	const char *nl = memchr(d, '\n', n);

	if (n < w || memcmp(d, word, w))
		return false;
	if (!nl)
		return n < AOD_CONTROL_REQUEST_MAX && (n == w || (n == w + 1 && d[w] == '\r'));
	return nl == d + w || (nl == d + w + 1 && d[w] == '\r');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	enum aod_control_req req = (enum aod_control_req)-1;
	char err[128] = "";
	int rc = aod_control_parse_request(d, size, &req, err, sizeof(err));
	bool status = is_request(d, size, "status"), snapshot = is_request(d, size, "snapshot");
	bool hist = is_request(d, size, "hist");

	if (rc == 0 && !(req == AOD_CONTROL_STATUS     ? status
			 : req == AOD_CONTROL_SNAPSHOT ? snapshot
			 : req == AOD_CONTROL_HIST && hist)) {
		fprintf(stderr, "accepted as %d, but the input is not that request\n", (int)req);
		abort();
	}
	if (rc != 0 && (status || snapshot || hist || !err[0] || strchr(err, '\n'))) {
		fprintf(stderr, "rejected (%d, '%s') a valid request or without a one-line reason\n",
			rc, err);
		abort();
	}
	return 0;
}
