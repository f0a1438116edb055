/* SPDX-License-Identifier: MIT */
/*
 * JSON helpers for the health report. The report is a jansson document from
 * the start: each part fills its section, history keeps it, diff and scoring
 * read it back. Strings that come from other people (unit names, journal
 * messages, cgroup paths, process names) enter only through hj_str(), which
 * escapes control characters and invalid UTF-8 as \xHH, so no report, saved
 * or printed, carries a raw control byte.
 */
#ifndef AOD_HEALTH_HJSON_H
#define AOD_HEALTH_HJSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

json_t *hj_str(const char *s);                    /* NULL s -> JSON null */
json_t *hj_strn(const char *s, size_t len);
json_t *hj_u64(uint64_t v);                       /* integers beyond INT64_MAX clamp */
json_t *hj_real(double v);                        /* rounded to 6 significant decimals */

/* Setters that take ownership; a NULL value is stored as JSON null. */
void hj_set(json_t *obj, const char *key, json_t *v);
void hj_push(json_t *arr, json_t *v);

/* Readers: NULL / dflt when absent or of another type. */
const char *hj_gets(const json_t *obj, const char *key);
double hj_getn(const json_t *obj, const char *key, double dflt);
json_t *hj_path(const json_t *root, const char *dotted); /* "resources.system" */
size_t hj_len(const json_t *arr);                  /* 0 unless an array */
/* The strings of arr joined by sep into buf (cut at len; "?" for a non-string). */
const char *hj_join(const json_t *arr, const char *sep, char *buf, size_t len);

#endif /* AOD_HEALTH_HJSON_H */
