// SPDX-License-Identifier: MIT
/*
 * Fuzz the recording decoder: one line -> aod_record_line_decode() (what
 * `aod replay` calls per line) -> event, header or error. Properties: an
 * error message is one non-empty line; a decoded event encodes
 * (aod_event_to_json) to a line that decodes to the same event, bit for
 * bit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/evjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const char *err)
{
	if (!err[0] || strchr(err, '\n')) {
		fprintf(stderr, "bad error message: '%s'\n", err);
		abort();
	}
}

static void check_round_trip(const struct aod_event *ev)
{
	struct aod_event back;
	char err[512] = "";
	uint64_t start;
	json_t *obj = aod_event_to_json(ev);
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	if (!text) {
		fprintf(stderr, "a decoded event does not encode\n");
		abort();
	}
	memset(&back, 0, sizeof(back));
	if (aod_record_line_decode(text, strlen(text), &back, &start, err, sizeof(err)) !=
	    AOD_RECORD_LINE_EVENT) {
		fprintf(stderr, "encoded event does not decode: %s\n%s\n", err, text);
		abort();
	}
	if (memcmp(&back, ev, sizeof(back))) {
		fprintf(stderr, "event changes on re-decode:\n%s\n", text);
		abort();
	}
	free(text);
	json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aod_event ev;
	char err[512] = "";
	uint64_t start;
	int rc;

	memset(&ev, 0, sizeof(ev));
	rc = aod_record_line_decode((const char *)data, size, &ev, &start, err, sizeof(err));
	if (rc < 0)
		check_error(err);
	else if (rc == AOD_RECORD_LINE_EVENT)
		check_round_trip(&ev);
	return 0;
}
