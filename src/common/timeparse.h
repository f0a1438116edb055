/* SPDX-License-Identifier: MIT */
/*
 * Times people type on a command line: RFC 3339 ("2026-11-23T18:47:59Z",
 * "2026-11-23 18:47:59.5+01:00", a date alone "2026-11-23" is its midnight
 * UTC), relative to now ("-1h", "-30m", "-45s", "-2d", "-1w", "-500ms"),
 * or "now".
 */
#ifndef AOD_COMMON_TIMEPARSE_H
#define AOD_COMMON_TIMEPARSE_H

#include <stdint.h>

/* Wall-clock ns of s, relative ones against now_ns. 0 or -EINVAL. */
int aod_parse_time(const char *s, uint64_t now_ns, int64_t *out_ns);

#endif /* AOD_COMMON_TIMEPARSE_H */
