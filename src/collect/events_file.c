// SPDX-License-Identifier: MIT
/* events.jsonl streamed into a staging directory (events_file.h). */
#include "collect/events_file.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "agent/evjson.h"

int aod_events_file_open(struct aod_events_file *w, int dirfd)
{
	int fd;

	memset(w, 0, sizeof(*w));
	fd = openat(dirfd, AOD_EVENTS_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	w->f = fdopen(fd, "w");
	if (!w->f) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

void aod_events_file_add(struct aod_events_file *w, const struct aod_event *ev)
{
	json_t *obj;

	if (w->err)
		return;
	obj = aod_event_to_json(ev);
	if (!obj || json_dumpf(obj, w->f, JSON_COMPACT) < 0 || fputc('\n', w->f) == EOF)
		w->err = obj ? -EIO : -ENOMEM;
	else
		w->written++;
	json_decref(obj);
}

int aod_events_file_close(struct aod_events_file *w)
{
	if (w->f && fclose(w->f) != 0 && !w->err)
		w->err = -EIO;
	w->f = NULL;
	return w->err;
}
