/* SPDX-License-Identifier: MIT */
/*
 * Boot analysis from systemd's own timestamps, computed as systemd-analyze
 * does (pure, tested on synthetic tables):
 *  - times: firmware = Firmware - Loader, loader = Loader, kernel = InitRD (or
 *    Userspace without an initrd), initrd = Userspace - InitRD, userspace =
 *    Finish - Userspace (the Manager's *TimestampMonotonic properties; firmware
 *    and loader count backwards from the kernel's start);
 *  - blame: per unit ActiveEnter - InactiveExit (CLOCK_MONOTONIC, so this boot
 *    only; the seed keyed the journal by the wrong field and read every boot);
 *  - critical chain: from the default target, at each step the After=
 *    dependency that became active last (before the boot finished).
 */
#ifndef AOD_HEALTH_BOOT_H
#define AOD_HEALTH_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health/systemd.h"

#define AOD_CHAIN_MAX 64

struct aod_boot_times {
	uint64_t firmware, loader, kernel, initrd, userspace, total; /* usec */
	bool finished;
};

struct aod_blame {
	const char *unit;    /* points into the table */
	uint64_t usec;
};

struct aod_chain_link {
	const char *unit;
	uint64_t at_usec;     /* since userspace started: when it started (if it took time) or
			       * became active, as systemd-analyze's "@"; 0 if unknown */
	uint64_t delta_usec;  /* its own activation time; 0 if none */
	unsigned level;
};

void aod_boot_times(const struct aod_manager *m, struct aod_boot_times *t);
/* Every unit with a positive activation time, longest first. Returns the count; *out malloc'd. */
size_t aod_boot_blame(const struct aod_units *t, struct aod_blame **out);
size_t aod_boot_critical_chain(const struct aod_units *t, const char *target, uint64_t userspace,
			       uint64_t finish, struct aod_chain_link *out, size_t max);

#endif /* AOD_HEALTH_BOOT_H */
