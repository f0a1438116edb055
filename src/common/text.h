/* SPDX-License-Identifier: MIT */
/*
 * Text shown to a person: process names, paths, share and server names
 * come from other users (any local user can name a process with terminal
 * escape sequences, a server names its shares), so before they reach a
 * terminal, a log or a summary their control characters are escaped.
 */
#ifndef AOD_COMMON_TEXT_H
#define AOD_COMMON_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Copy in (at most inlen bytes, stopping at NUL) to out, NUL-terminated,
 * with every C0 control byte, DEL, C1 control character (U+0080..U+009F)
 * and byte that is not part of valid UTF-8 written as \xHH; keep_newlines
 * leaves '\n' and '\t' alone (multi-line text). Returns the length out
 * needed (like snprintf): truncated if >= outlen, never mid-escape.
 */
size_t aod_text_escape(const char *in, size_t inlen, char *out, size_t outlen,
		       bool keep_newlines);

/*
 * Length of the valid UTF-8 sequence at s (1..4, at most left bytes) and
 * its code point, or 0 if it is not one (overlong forms, surrogates and
 * code points past U+10FFFF are not).
 */
size_t aod_utf8_decode(const unsigned char *s, size_t left, uint32_t *cp);

/* Does s need escaping? */
bool aod_text_needs_escape(const char *s, size_t len, bool keep_newlines);

/* fputs of the escaped text. */
void aod_text_fput(FILE *f, const char *s, size_t len, bool keep_newlines);

/* fprintf to f with control characters escaped (newlines kept): for text a
 * person reads that quotes names others chose (process, share, path). */
__attribute__((format(printf, 2, 3))) void aod_text_printf(FILE *f, const char *fmt, ...);

#endif /* AOD_COMMON_TEXT_H */
