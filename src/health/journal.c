// SPDX-License-Identifier: MIT
/*
 * sd-journal helpers for the health report: open the local journal (if it
 * has files), the last lines of one unit in this boot (what journalctl -u -b
 * shows: the unit's own messages and PID 1's about it), and the units whose
 * start job ended with JOB_RESULT=dependency.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "health/health_int.h"
#include "health/hjson.h"

int aod_journal_open(sd_journal **j)
{
	int r = sd_journal_open(j, SD_JOURNAL_LOCAL_ONLY);

	if (r < 0) {
		*j = NULL;
		return r;
	}
	if (sd_journal_has_persistent_files(*j) <= 0 && sd_journal_has_runtime_files(*j) <= 0) {
		sd_journal_close(*j);
		*j = NULL;
		return -ENOENT;
	}
	return 0;
}

void aod_journal_close(sd_journal *j)
{
	if (j)
		sd_journal_close(j);
}

static int match(sd_journal *j, const char *field, const char *value)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s=%s", field, value);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return sd_journal_add_match(j, buf, (size_t)n);
}

bool aod_journal_field(sd_journal *j, const char *name, const char **v, size_t *len)
{
	const void *data;
	size_t n, pl = strlen(name) + 1;

	if (sd_journal_get_data(j, name, &data, &n) < 0 || n < pl)
		return false;
	*v = (const char *)data + pl;
	*len = n - pl;
	return true;
}

/* "<iso ms> <message>" for the current entry. */
static json_t *entry_line(sd_journal *j)
{
	const char *msg = "";
	char when[40], *line;
	size_t len = 0;
	uint64_t usec = 0;
	json_t *v;

	aod_journal_field(j, "MESSAGE", &msg, &len);
	sd_journal_get_realtime_usec(j, &usec);
	v = aod_health_wall_iso(usec);
	snprintf(when, sizeof(when), "%s", json_string_value(v) ? json_string_value(v) : "?");
	json_decref(v);
	if (asprintf(&line, "%s %.*s", when, (int)len, msg) < 0)
		return NULL;
	v = hj_str(line);
	free(line);
	return v;
}

/* (_SYSTEMD_UNIT=u OR (UNIT=u AND _PID=1)) AND _BOOT_ID=b */
static int unit_matches(sd_journal *j, const char *boot_id, const char *unit)
{
	int r;

	sd_journal_flush_matches(j);
	if ((r = match(j, "_SYSTEMD_UNIT", unit)) < 0 || (r = sd_journal_add_disjunction(j)) < 0 ||
	    (r = match(j, "UNIT", unit)) < 0 || (r = match(j, "_PID", "1")) < 0 ||
	    (r = sd_journal_add_conjunction(j)) < 0 || (r = match(j, "_BOOT_ID", boot_id)) < 0)
		return r;
	return 0;
}

json_t *aod_journal_unit_lines(sd_journal *j, const char *boot_id, const char *unit, size_t n)
{
	json_t *lines = json_array();
	size_t got = 0;

	if (!lines || !n || unit_matches(j, boot_id, unit) < 0 || sd_journal_seek_tail(j) < 0)
		return lines;
	while (got < n && sd_journal_previous(j) > 0) {
		json_array_insert_new(lines, 0, entry_line(j));
		got++;
	}
	sd_journal_flush_matches(j);
	return lines;
}

json_t *aod_journal_dependency_failed(sd_journal *j, const char *boot_id)
{
	json_t *names = json_array(), *seen = json_object();
	const char *unit;
	size_t len;

	sd_journal_flush_matches(j);
	if (!names || !seen || match(j, "JOB_RESULT", "dependency") < 0 || match(j, "_PID", "1") < 0 ||
	    match(j, "_BOOT_ID", boot_id) < 0 || sd_journal_seek_head(j) < 0) {
		json_decref(seen);
		return names;
	}
	while (sd_journal_next(j) > 0) {
		char name[256];

		if (!aod_journal_field(j, "UNIT", &unit, &len) || len >= sizeof(name))
			continue;
		memcpy(name, unit, len);
		name[len] = '\0';
		if (!json_object_get(seen, name)) {
			json_object_set_new(seen, name, json_true());
			hj_push(names, hj_str(name));
		}
	}
	sd_journal_flush_matches(j);
	json_decref(seen);
	return names;
}
