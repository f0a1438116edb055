/* SPDX-License-Identifier: MIT */
/*
 * Untrusted text inside one-line messages (config errors, recording
 * errors): control characters are written as \xNN, so a message stays one
 * line and cannot drive a terminal.
 */
#ifndef AOD_COMMON_ESCAPE_H
#define AOD_COMMON_ESCAPE_H

#include <stddef.h>

/*
 * Copy s into out (len > 0 bytes, always NUL-terminated, truncated but never
 * inside an escape), bytes < 0x20 and 0x7f as \xNN. Returns out.
 */
char *aod_escape_ctl(char *out, size_t len, const char *s);

#endif /* AOD_COMMON_ESCAPE_H */
