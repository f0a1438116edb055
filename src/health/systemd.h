/* SPDX-License-Identifier: MIT */
/*
 * What `aod health` asks systemd over sd-bus (org.freedesktop.systemd1): the
 * unit list (Manager.ListUnits), each unit's properties (Properties.GetAll on
 * the Unit interface, and on the type's interface where it matters), the
 * Manager's boot timestamps. As root it talks to PID 1's private socket
 * (/run/systemd/private, no dbus-daemon needed), else to the system bus.
 * The table is read once per report and shared by every part.
 */
#ifndef AOD_HEALTH_SYSTEMD_H
#define AOD_HEALTH_SYSTEMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sd_bus sd_bus;

enum aod_dep_type {
	AOD_DEP_REQUIRES = 0,
	AOD_DEP_REQUISITE,
	AOD_DEP_BINDS_TO,
	AOD_DEP_PART_OF,
	AOD_DEP_WANTS,
	AOD_DEP_AFTER,        /* ordering only: the critical chain walks it */
	AOD_DEP_N,
};

struct aod_unit {
	char *name, *description, *load, *active, *sub, *object;
	char *result;                /* Service/Socket/Timer/Mount/... Result */
	char *cgroup;                /* ControlGroup, NULL if none */
	char *timer_unit;            /* Timer.Unit */
	uint32_t main_pid, n_restarts, n_refused;
	bool has_restarts, has_refused, has_details;
	/* CLOCK_MONOTONIC usec, 0 = never */
	uint64_t inactive_exit, active_enter, active_exit, inactive_enter, state_change;
	char **deps[AOD_DEP_N];      /* NULL-terminated, NULL if none */
};

struct aod_units {
	size_t n;
	struct aod_unit *u;          /* sorted by name */
	size_t listed;               /* before the device de-duplication */
};

struct aod_manager {
	uint64_t firmware, loader, kernel, initrd, userspace, finish; /* monotonic usec */
	uint64_t userspace_realtime;                                   /* wall usec */
	char version[64];
	char default_target[256];
};

/* Is PID 1 systemd? If not, reason says why (one line). */
bool aod_sd_running(char *reason, size_t len);
int aod_sd_connect(sd_bus **bus);
void aod_sd_close(sd_bus *bus);

int aod_sd_list_units(sd_bus *bus, struct aod_units *out);
/* Type-interface properties (Result, NRestarts, NRefused, ControlGroup, ...), once per unit. */
int aod_sd_unit_details(sd_bus *bus, struct aod_unit *u);
int aod_sd_units_details(sd_bus *bus, struct aod_unit *const *units, size_t n);
/* Load one unit by name (LoadUnit + GetAll), e.g. for `aod health unit NAME`. */
int aod_sd_load_unit(sd_bus *bus, const char *name, struct aod_unit *u);
int aod_sd_manager(sd_bus *bus, struct aod_manager *m);

const struct aod_unit *aod_units_find(const struct aod_units *t, const char *name);
void aod_unit_clear(struct aod_unit *u);
void aod_units_free(struct aod_units *t);
const char *aod_dep_name(enum aod_dep_type t);   /* "Requires", ... */
/* ".service" etc.: does name end with suffix? */
bool aod_unit_is(const struct aod_unit *u, const char *suffix);

#endif /* AOD_HEALTH_SYSTEMD_H */
