/* SPDX-License-Identifier: MIT */
/*
 * The one part of a request aod parses itself (libmicrohttpd parses the
 * rest): Accept-Encoding, to decide whether /metrics goes out gzipped.
 * Pure, for tests and tests/fuzz/fuzz_accept.c.
 *
 * RFC 9110 12.5.3: a comma-separated list of codings, each optionally with
 * parameters after ';', of which "q" (case-insensitive) is its weight: "0",
 * "0." and up to three digits, "1", "1." and up to three zeros. gzip is
 * wanted when a "gzip" element (case-insensitive) has a weight above 0 (no
 * q means 1); without a gzip element, a "*" element decides the same way.
 * An element whose q is not a valid qvalue is ignored. Blanks (space, tab)
 * around elements, names, ';' and '=' are allowed.
 */
#ifndef AOD_SERVE_ACCEPT_H
#define AOD_SERVE_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>

/* value: the header's value (len bytes, need not be NUL-terminated); NULL: no header. */
bool aod_accepts_gzip(const char *value, size_t len);

#endif /* AOD_SERVE_ACCEPT_H */
