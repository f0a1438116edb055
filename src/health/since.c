// SPDX-License-Identifier: MIT
/*
 * `--since TIME` for the logs part: an absolute time (local unless it ends
 * in Z), @EPOCH, a relative one ("-2h", "90m ago", "1d"), today or yesterday.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "health/health.h"

static int relative(const char *s, uint64_t now, uint64_t *out)
{
	static const struct { const char *unit; uint64_t usec; } units[] = {
		{ "s", 1000000ULL }, { "sec", 1000000ULL }, { "m", 60000000ULL }, { "min", 60000000ULL },
		{ "h", 3600000000ULL }, { "d", 86400000000ULL }, { "w", 604800000000ULL },
	};
	char unit[8] = "", rest[8] = "";
	unsigned long long n;

	if (*s == '-')
		s++;
	if (sscanf(s, "%llu%7[a-z] %7s", &n, unit, rest) < 2 || (rest[0] && strcmp(rest, "ago")))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(unit, units[i].unit))
			continue;
		if (n > now / units[i].usec)
			return -EINVAL;
		*out = now - n * units[i].usec;
		return 0;
	}
	return -EINVAL;
}

static int day_start(uint64_t now, int days_back, uint64_t *out)
{
	time_t t = (time_t)(now / 1000000);
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday -= days_back;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t < 0)
		return -EINVAL;
	*out = (uint64_t)t * 1000000ULL;
	return 0;
}

static int absolute(const char *s, uint64_t *out)
{
	static const char *const formats[] = {
		"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d",
	};
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tm tm = { 0 };
		const char *end = strptime(s, formats[i], &tm);
		time_t t;

		if (!end || (*end && strcmp(end, "Z")))
			continue;
		tm.tm_isdst = -1;
		t = *end == 'Z' ? timegm(&tm) : mktime(&tm);
		if (t < 0)
			return -EINVAL;
		*out = (uint64_t)t * 1000000ULL;
		return 0;
	}
	return -EINVAL;
}

int aod_health_parse_since(const char *s, uint64_t now_usec, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "today"))
		return day_start(now_usec, 0, out);
	if (!strcmp(s, "yesterday"))
		return day_start(now_usec, 1, out);
	if (s[0] == '@') {
		v = strtoull(s + 1, &end, 10);
		if (end == s + 1 || *end)
			return -EINVAL;
		*out = v * 1000000ULL;
		return 0;
	}
	if (absolute(s, out) == 0)
		return 0;
	return relative(s, now_usec, out);
}
