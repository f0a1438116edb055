// SPDX-License-Identifier: MIT
/* The Prometheus text-format writer (see prom.h). */
#include "serve/prom.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_INITIAL_CAP 16384

void aod_prom_init(struct aod_prom *w)
{
	memset(w, 0, sizeof(*w));
}

void aod_prom_free(struct aod_prom *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void aod_prom_reset(struct aod_prom *w)
{
	w->len = 0;
	w->err = 0;
	if (w->buf)
		w->buf[0] = '\0';
}

int aod_prom_error(const struct aod_prom *w)
{
	return w->err;
}

static int reserve(struct aod_prom *w, size_t more)
{
	size_t cap = w->cap ? w->cap : PROM_INITIAL_CAP;
	char *nb;

	if (w->err)
		return w->err;
	if (w->len + more + 1 <= w->cap)
		return 0;
	while (cap < w->len + more + 1)
		cap *= 2;
	nb = realloc(w->buf, cap);
	if (!nb)
		return w->err = -ENOMEM;
	w->buf = nb;
	w->cap = cap;
	return 0;
}

static void put(struct aod_prom *w, const char *s, size_t n)
{
	if (reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void puts_(struct aod_prom *w, const char *s)
{
	put(w, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void putf(struct aod_prom *w, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Bytes from p that need no escaping (printable ASCII but \ and "). */
static size_t plain_run(const unsigned char *p)
{
	size_t n = 0;

	while (p[n] >= 0x20 && p[n] < 0x7f && p[n] != '\\' && p[n] != '"')
		n++;
	return n;
}

void aod_prom_escape(struct aod_prom *w, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;

	while (*p) {
		size_t n = plain_run(p);

		if (n) {
			put(w, (const char *)p, n);
			p += n;
			continue;
		}
		n = utf8_len(p);
		if (*p == '\\')
			puts_(w, "\\\\");
		else if (*p == '"')
			puts_(w, "\\\"");
		else if (*p == '\n')
			puts_(w, "\\n");
		else if (*p < 0x20 || *p == 0x7f || n == 0)
			putf(w, "\\\\x%02x", *p);
		else {
			put(w, (const char *)p, n);
			p += n;
			continue;
		}
		p++;
	}
}

static bool valid_name(const char *n)
{
	if (!*n || (*n >= '0' && *n <= '9'))
		return false;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
		      (*n >= '0' && *n <= '9') || *n == '_' || *n == ':'))
			return false;
	return true;
}

/* HELP text: backslash and newline escaped. */
static void put_help(struct aod_prom *w, const char *help)
{
	for (const char *p = help; *p;) {
		size_t n = strcspn(p, "\\\n");

		put(w, p, n);
		p += n;
		if (*p)
			puts_(w, *p++ == '\\' ? "\\\\" : "\\n");
	}
}

void aod_prom_family(struct aod_prom *w, const char *name, const char *type, const char *help)
{
	assert(valid_name(name));
	puts_(w, "# HELP ");
	puts_(w, name);
	put(w, " ", 1);
	put_help(w, help);
	puts_(w, "\n# TYPE ");
	puts_(w, name);
	put(w, " ", 1);
	puts_(w, type);
	put(w, "\n", 1);
}

/* name{l1="v1",...,extra="xv"} with extra optional (the le of a bucket). */
static void put_series(struct aod_prom *w, const char *name, const char *suffix,
		       const char *const *labels, const char *extra, const char *extra_value)
{
	bool any = false;

	puts_(w, name);
	puts_(w, suffix);
	for (const char *const *l = labels; l && l[0]; l += 2) {
		assert(valid_name(l[0]) && l[1]);
		put(w, any ? "," : "{", 1);
		puts_(w, l[0]);
		puts_(w, "=\"");
		aod_prom_escape(w, l[1]);
		put(w, "\"", 1);
		any = true;
	}
	if (extra) {
		put(w, any ? "," : "{", 1);
		puts_(w, extra);
		puts_(w, "=\"");
		puts_(w, extra_value);
		put(w, "\"", 1);
		any = true;
	}
	if (any)
		put(w, "}", 1);
	put(w, " ", 1);
}

void aod_prom_format_double(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, "%sInf", v > 0 ? "+" : "-");
	else {
		snprintf(buf, len, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, len, "%.17g", v);
	}
}

void aod_prom_u64(struct aod_prom *w, const char *name, const char *const *labels, uint64_t v)
{
	put_series(w, name, "", labels, NULL, NULL);
	putf(w, "%llu\n", (unsigned long long)v);
}

void aod_prom_double(struct aod_prom *w, const char *name, const char *const *labels, double v)
{
	char num[40];

	aod_prom_format_double(v, num, sizeof(num));
	put_series(w, name, "", labels, NULL, NULL);
	puts_(w, num);
	put(w, "\n", 1);
}

void aod_prom_histogram(struct aod_prom *w, const char *name, const char *const *labels,
			const struct aod_prom_hist *h)
{
	char le[40];

	assert(h->nbuckets <= AOD_PROM_MAX_BUCKETS);
	for (size_t i = 0; i < h->nbuckets; i++) {
		assert(i == 0 || (h->le[i] > h->le[i - 1] && h->cum[i] >= h->cum[i - 1]));
		if (!h->le_text[i])
			aod_prom_format_double(h->le[i], le, sizeof(le));
		put_series(w, name, "_bucket", labels, "le", h->le_text[i] ? h->le_text[i] : le);
		putf(w, "%llu\n", (unsigned long long)h->cum[i]);
	}
	put_series(w, name, "_bucket", labels, "le", "+Inf");
	putf(w, "%llu\n", (unsigned long long)h->count);
	put_series(w, name, "_sum", labels, NULL, NULL);
	aod_prom_format_double(h->sum, le, sizeof(le));
	puts_(w, le);
	put(w, "\n", 1);
	put_series(w, name, "_count", labels, NULL, NULL);
	putf(w, "%llu\n", (unsigned long long)h->count);
}
