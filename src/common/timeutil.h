/* SPDX-License-Identifier: MIT */
#ifndef AOD_COMMON_TIMEUTIL_H
#define AOD_COMMON_TIMEUTIL_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#define AOD_NSEC_PER_SEC 1000000000ULL
#define AOD_NSEC_PER_MSEC 1000000ULL

static inline uint64_t aod_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * AOD_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline uint64_t aod_mono_ns(void) { return aod_clock_ns(CLOCK_MONOTONIC); }
static inline uint64_t aod_wall_ns(void) { return aod_clock_ns(CLOCK_REALTIME); }

/* "2026-11-23T18:47:59.123Z" (UTC, milliseconds). */
void aod_format_wall(uint64_t wall_ns, char *buf, size_t len);

#endif /* AOD_COMMON_TIMEUTIL_H */
