// SPDX-License-Identifier: MIT
/*
 * Wall-clock formatting without libc's time zone machinery: gmtime_r()
 * takes glibc's tzset lock, which another thread may hold when an action's
 * child is forked, so the child (dmesg writes a time per line) would hang
 * on it. Civil date from days since 1970-01-01 (proleptic Gregorian, after
 * H. Hinnant's days_from_civil inverse), pure arithmetic.
 */
#include "common/timeutil.h"

#include <stdio.h>

struct civil {
	int64_t year;
	unsigned month, day;
};

static struct civil civil_from_days(int64_t z)
{
	int64_t era, yoe, doy, mp;
	struct civil c;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;                               /* [0, 146096] */
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365; /* [0, 399] */
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100); /* [0, 365] */
	mp = (5 * doy + 2) / 153;                             /* [0, 11], March = 0 */
	c.day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	c.month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	c.year = yoe + era * 400 + (c.month <= 2);
	return c;
}

void aod_format_wall(uint64_t wall_ns, char *buf, size_t len)
{
	uint64_t sec = wall_ns / AOD_NSEC_PER_SEC;
	unsigned ms = (unsigned)(wall_ns % AOD_NSEC_PER_SEC / AOD_NSEC_PER_MSEC);
	unsigned sod = (unsigned)(sec % 86400);
	struct civil c = civil_from_days((int64_t)(sec / 86400));

	snprintf(buf, len, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)c.year, c.month,
		 c.day, sod / 3600, sod / 60 % 60, sod % 60, ms);
}
