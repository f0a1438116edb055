/* SPDX-License-Identifier: MIT */
/*
 * events.jsonl of a bundle, written into its staging directory one event
 * at a time (the collector streams the flight recorder into it), so no
 * bundle ever holds its events in memory. One aod_event_to_json() object
 * per line, oldest first.
 */
#ifndef AOD_COLLECT_EVENTS_FILE_H
#define AOD_COLLECT_EVENTS_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "detect/event.h"

#define AOD_EVENTS_FILE "events.jsonl"

struct aod_events_file {
	FILE *f;
	size_t written; /* lines */
	int err;        /* first error (negative errno) */
};

/* Create events.jsonl (0600) in the staging directory dirfd. 0 or -errno. */
int aod_events_file_open(struct aod_events_file *w, int dirfd);
/* Append one event; errors are remembered, not returned. */
void aod_events_file_add(struct aod_events_file *w, const struct aod_event *ev);
/* Flush and close. 0 or the first error. */
int aod_events_file_close(struct aod_events_file *w);

#endif /* AOD_COLLECT_EVENTS_FILE_H */
