// SPDX-License-Identifier: MIT
/*
 * Fuzz the Accept-Encoding parser (aod_accepts_gzip, serve/accept.h), the
 * one piece of request parsing aod does itself. Property: its answer equals
 * an oracle written from the header's grammar (RFC 9110 12.5.3) in another
 * way: the value lowercased into a NUL-terminated copy, cut into elements
 * and parameters with strsep, the qvalue matched character by character.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/accept.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* 1: weight above 0, 0: weight 0, -1: not a qvalue. */
static int oracle_q(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 5 || (v[0] != '0' && v[0] != '1') || (n >= 2 && v[1] != '.'))
		return -1;
	for (size_t i = 2; i < n; i++)
		if (!isdigit((unsigned char)v[i]) || (v[0] == '1' && v[i] != '0'))
			return -1;
	if (v[0] == '1')
		return 1;
	return strspn(v + (n >= 2 ? 2 : 1), "0") != strlen(v + (n >= 2 ? 2 : 1));
}

static bool oracle(const char *data, size_t size)
{
	char *copy = malloc(size + 1), *rest = copy, *el;
	int gzip = -1, star = -1;

	if (!copy)
		abort();
	for (size_t i = 0; i < size; i++)
		copy[i] = (char)tolower((unsigned char)data[i]);
	copy[size] = '\0';
	/* a NUL inside the value: the parser sees bytes, the oracle a string;
	 * the harness only feeds NUL-free inputs to both */
	while ((el = strsep(&rest, ",")) != NULL) {
		char *params = el, *name = strip(strsep(&params, ";")), *par;
		int want = 1;

		while (params && (par = strsep(&params, ";")) != NULL) {
			char *eq = strchr(par, '=');

			if (!eq)
				continue;
			*eq = '\0';
			if (!strcmp(strip(par), "q"))
				want = oracle_q(strip(eq + 1));
			if (want < 0)
				break;
		}
		if (want < 0)
			continue;
		if (!strcmp(name, "gzip") && gzip < 0)
			gzip = want;
		else if (!strcmp(name, "*") && star < 0)
			star = want;
	}
	free(copy);
	return gzip >= 0 ? gzip == 1 : star == 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	bool got;

	if (memchr(d, '\0', size))
		return 0; /* a header value never holds a NUL (libmicrohttpd gives a C string) */
	got = aod_accepts_gzip(d, size);
	if (got != oracle(d, size)) {
		fprintf(stderr, "aod_accepts_gzip('%.*s') = %d, the grammar says %d\n", (int)size, d,
			got, !got);
		abort();
	}
	if (aod_accepts_gzip(NULL, 0))
		abort();
	return 0;
}
