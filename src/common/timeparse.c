// SPDX-License-Identifier: MIT
/* Parsing the times of --since/--until: RFC 3339 and relative (timeparse.h). */
#include "common/timeparse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS 1000000000LL

static int parse_relative(const char *s, uint64_t now_ns, int64_t *out)
{
	static const struct { const char *unit; int64_t ns; } units[] = {
		{ "ms", 1000000LL }, { "s", NS }, { "m", 60 * NS }, { "h", 3600 * NS },
		{ "d", 86400 * NS }, { "w", 7 * 86400 * NS },
	};
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s + 1, &end, 10);
	if (errno || end == s + 1 || n < 0 || !isdigit((unsigned char)s[1]))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (n > INT64_MAX / units[i].ns)
			return -EINVAL;
		*out = (int64_t)now_ns - n * units[i].ns;
		return 0;
	}
	return -EINVAL;
}

/* ".123456789" -> ns; advances *p. */
static int64_t fraction(const char **p)
{
	int64_t ns = 0, scale = NS / 10;

	if (**p != '.' && **p != ',')
		return 0;
	for ((*p)++; isdigit((unsigned char)**p); (*p)++, scale /= 10)
		ns += (**p - '0') * scale;
	return ns;
}

/* "Z", "+HH:MM", "-HH:MM" -> seconds east of UTC; -1 on error. */
static int zone(const char *p, long *east)
{
	int h, m, n = 0;

	if ((p[0] == 'Z' || p[0] == 'z') && !p[1]) {
		*east = 0;
		return 0;
	}
	if ((p[0] != '+' && p[0] != '-') || sscanf(p + 1, "%2d:%2d%n", &h, &m, &n) != 2 ||
	    p[1 + n] || n != 5 || h > 23 || m > 59)
		return -1;
	*east = (p[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
	return 0;
}

static int parse_rfc3339(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *p;
	long east = 0;
	int64_t frac = 0;
	int n = 0;

	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10)
		return -EINVAL;
	p = s + n;
	if (*p) {
		if ((*p != 'T' && *p != 't' && *p != ' ') ||
		    sscanf(p + 1, "%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 3 ||
		    n != 8)
			return -EINVAL;
		p += 1 + n;
		frac = fraction(&p);
		if (zone(p, &east))
			return -EINVAL;
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = ((int64_t)timegm(&tm) - east) * NS + frac;
	return 0;
}

int aod_parse_time(const char *s, uint64_t now_ns, int64_t *out_ns)
{
	if (!strcmp(s, "now")) {
		*out_ns = (int64_t)now_ns;
		return 0;
	}
	if (s[0] == '-')
		return parse_relative(s, now_ns, out_ns);
	return parse_rfc3339(s, out_ns);
}
