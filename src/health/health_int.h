/* SPDX-License-Identifier: MIT */
/*
 * Private to src/health: the context one report is made in. It holds what
 * the parts share (the systemd connection and unit table, the cgroup
 * hierarchy, the boot id, the journal) so each is read once per report.
 */
#ifndef AOD_HEALTH_HEALTH_INT_H
#define AOD_HEALTH_HEALTH_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "health/cgroup.h"
#include "health/health.h"
#include "health/systemd.h"

typedef struct sd_journal sd_journal;

struct aod_health_ctx {
	const struct aod_health_config *cfg;
	unsigned parts;
	bool processes;               /* --processes: the process probe was asked for */
	uint64_t since_usec;
	bool systemd;                 /* PID 1 is systemd */
	char no_systemd[256];         /* why not */
	sd_bus *bus;
	int units_err;                /* listing failed: -errno */
	bool have_units;
	struct aod_units units;
	bool have_mgr;
	struct aod_manager mgr;
	struct aod_cg_hier cg;
	char boot_id[33];
	uint64_t now_mono_usec, now_wall_usec;
	sd_journal *journal;          /* NULL: no journal files */
	json_t *report;
	json_t *problem_logs;         /* unit -> recent_logs array (shared by the lists) */
	bool (*sleep)(void *arg, unsigned ms);
	void *sleep_arg;
	bool cancelled;               /* sleep said stop: no further parts */
};

/* Wait ms (opts.sleep, or nanosleep); false, and c->cancelled set, if told to stop. */
bool aod_health_wait(struct aod_health_ctx *c, unsigned ms);

/* Record an error of a part in report.errors (and return err). */
int aod_health_error(struct aod_health_ctx *c, const char *part, int err, const char *what);
/* A section object with "skipped"/"error" keys set to null. */
json_t *aod_health_section(void);
/* Wall-clock ISO time of a CLOCK_MONOTONIC usec in this boot (NULL if 0). */
json_t *aod_health_mono_iso(const struct aod_health_ctx *c, uint64_t mono_usec);
json_t *aod_health_wall_iso(uint64_t wall_usec);

/* Parts (each returns 0 or -errno; errors are also in the report). */
int aod_health_units(struct aod_health_ctx *c, json_t *section);
int aod_health_boot(struct aod_health_ctx *c, json_t *section);
int aod_health_resources(struct aod_health_ctx *c, json_t *section);
int aod_health_logs(struct aod_health_ctx *c, json_t *section);
int aod_health_deps(struct aod_health_ctx *c, json_t *section);

/* Journal helpers (journal.c). */
int aod_journal_open(sd_journal **j);
void aod_journal_close(sd_journal *j);
/* The last n lines of unit in this boot: "<iso> <message>". */
json_t *aod_journal_unit_lines(sd_journal *j, const char *boot_id, const char *unit, size_t n);
/* Units whose start job ended with JOB_RESULT=dependency in this boot (a JSON array of names). */
json_t *aod_journal_dependency_failed(sd_journal *j, const char *boot_id);
/* The value of a field of the current entry (without "FIELD="), or false. */
bool aod_journal_field(sd_journal *j, const char *name, const char **v, size_t *len);

/* A unit's names and states (name, description, load/active/sub state, result,
 * n_restarts, n_refused, main_pid, state_since): the keys every unit entry has (units.c). */
json_t *aod_health_unit_states(const struct aod_health_ctx *c, const struct aod_unit *u);

/* One unit's dependencies with their states and whether they explain it (deps.c). */
json_t *aod_health_unit_deps(const struct aod_units *t, const struct aod_unit *u, const char *why);

/* The resources figures of one unit (resources.c), for `aod health unit`. */
json_t *aod_health_unit_usage(struct aod_health_ctx *c, const struct aod_unit *u);

#endif /* AOD_HEALTH_HEALTH_INT_H */
