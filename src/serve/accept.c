// SPDX-License-Identifier: MIT
/* Accept-Encoding: does the client take gzip? (accept.h) */
#include "serve/accept.h"

#include <strings.h>

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* [p, end) trimmed of blanks at both ends. */
static void trim(const char **p, const char **end)
{
	while (*p < *end && blank(**p))
		(*p)++;
	while (*end > *p && blank((*end)[-1]))
		(*end)--;
}

static bool span_is(const char *p, const char *end, const char *word)
{
	size_t n = 0;

	while (word[n])
		n++;
	return (size_t)(end - p) == n && !strncasecmp(p, word, n);
}

/* A qvalue in [p, end): 1 if above 0, 0 if 0, -1 if not a qvalue. */
static int qvalue(const char *p, const char *end)
{
	bool one, positive;
	int digits = 0;

	if (p == end || (*p != '0' && *p != '1'))
		return -1;
	one = positive = *p == '1';
	if (++p == end)
		return positive;
	if (*p++ != '.')
		return -1;
	for (; p < end; p++, digits++) {
		if (digits == 3 || *p < '0' || *p > '9' || (one && *p != '0'))
			return -1;
		if (*p != '0')
			positive = true;
	}
	return positive;
}

/* One element [p, end): 1 wanted, 0 refused (q=0), -1 invalid; name gets its coding. */
static int element(const char *p, const char *end, const char **name, const char **name_end)
{
	const char *semi = p;
	int want = 1;

	while (semi < end && *semi != ';')
		semi++;
	*name = p;
	*name_end = semi;
	trim(name, name_end);
	while (semi < end) {
		const char *par = semi + 1, *par_end = par, *eq;

		while (par_end < end && *par_end != ';')
			par_end++;
		semi = par_end;
		for (eq = par; eq < par_end && *eq != '='; eq++)
			;
		if (eq < par_end) {
			const char *k = par, *k_end = eq, *v = eq + 1, *v_end = par_end;

			trim(&k, &k_end);
			trim(&v, &v_end);
			if (span_is(k, k_end, "q"))
				want = qvalue(v, v_end);
			if (want < 0)
				return -1;
		}
	}
	return want;
}

bool aod_accepts_gzip(const char *value, size_t len)
{
	const char *p = value, *end;
	int gzip = -1, star = -1;

	if (!value)
		return false;
	end = value + len;
	while (p < end) {
		const char *comma = p, *name, *name_end;
		int want;

		while (comma < end && *comma != ',')
			comma++;
		want = element(p, comma, &name, &name_end);
		if (want >= 0 && span_is(name, name_end, "gzip") && gzip < 0)
			gzip = want;
		else if (want >= 0 && span_is(name, name_end, "*") && star < 0)
			star = want;
		p = comma < end ? comma + 1 : end;
	}
	return gzip >= 0 ? gzip == 1 : star == 1;
}
