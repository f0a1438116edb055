/* SPDX-License-Identifier: MIT */
/*
 * Service health: what is wrong with a unit, decided from its properties
 * alone (pure, tested on synthetic units). In the seed's order:
 *   failed      ActiveState failed (the Result says how: exit-code, signal,
 *               core-dump, oom-kill, timeout, start-limit-hit, ...)
 *   flapping    a service with NRestarts >= health.flapping_restarts
 *   socket      NRefused > 0, a Result other than success, or a state other
 *               than active (listening/running) or inactive
 *   timer       a Result other than success, the unit it triggers failed,
 *               or a state other than active (waiting/running/elapsed) or inactive
 *   state       load state error/bad-setting, or activating/deactivating/
 *               reloading for more than 60 s (not while waiting to restart)
 *   dependency  not started because a dependency failed (JOB_RESULT=dependency
 *               in this boot's journal; set by the units part, not here)
 * A unit can have several problems (a socket that failed is failed and socket).
 */
#ifndef AOD_HEALTH_UNITS_H
#define AOD_HEALTH_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health/systemd.h"

#define AOD_STUCK_SEC 60

enum aod_problem {
	AOD_P_FAILED = 0,
	AOD_P_FLAPPING,
	AOD_P_SOCKET,
	AOD_P_TIMER,
	AOD_P_STATE,
	AOD_P_DEPENDENCY,
	AOD_P_N,
};

struct aod_unit_verdict {
	unsigned mask;                  /* 1 << enum aod_problem */
	char reason[AOD_P_N][200];
};

const char *aod_problem_name(enum aod_problem p);  /* "failed", "flapping", ... */
const char *aod_problem_list_key(enum aod_problem p); /* "failed", "flapping", "sockets", ... */

/* all: for the unit a timer triggers (may be NULL). */
void aod_unit_judge(const struct aod_unit *u, const struct aod_units *all, uint32_t flapping_restarts,
		    uint64_t now_mono_usec, struct aod_unit_verdict *v);

/*
 * The seed's device-unit de-duplication: [prefix@]dev-disk-by\x2duuid-1234.device
 * is unescaped to /dev/disk/by-uuid/1234, resolved with resolve() (realpath)
 * and named [prefix@]dev-<basename>.<suffix> (the seed's name class, plus the ":" and
 * "." of by-path names, which the seed missed); of units whose canonical names
 * collide, the one already named canonically (else the first) is kept.
 */
typedef bool (*aod_resolve_fn)(const char *path, char *out, size_t len);
bool aod_unit_dev_canonical(const char *name, aod_resolve_fn resolve, char *out, size_t len);
size_t aod_units_dedup(struct aod_units *t, aod_resolve_fn resolve);  /* returns how many dropped */
bool aod_resolve_realpath(const char *path, char *out, size_t len);

#endif /* AOD_HEALTH_UNITS_H */
