// SPDX-License-Identifier: MIT
#include "common/timeutil.h"

#include <stdio.h>

void aod_format_wall(uint64_t wall_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(wall_ns / AOD_NSEC_PER_SEC);
	unsigned ms = (unsigned)(wall_ns % AOD_NSEC_PER_SEC / AOD_NSEC_PER_MSEC);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ms);
}
