// SPDX-License-Identifier: MIT
#include "common/log.h"
#include "common/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*
 * The two settings below are written once by aod_log_init() before any
 * thread starts and only read afterwards, so they need no lock.
 */
static enum aod_log_level log_max = AOD_LOG_INFO;
static int log_journal;

static const char *const level_names[] = {
	[AOD_LOG_ERR] = "error", [AOD_LOG_WARN] = "warning",
	[AOD_LOG_NOTICE] = "notice", [AOD_LOG_INFO] = "info",
	[AOD_LOG_DEBUG] = "debug",
};

void aod_log_init(enum aod_log_level max_level)
{
	log_max = max_level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

int aod_log_level_from_name(const char *name)
{
	for (int l = AOD_LOG_ERR; l <= AOD_LOG_DEBUG; l++)
		if (!strcasecmp(name, level_names[l]))
			return l;
	if (!strcasecmp(name, "warn"))
		return AOD_LOG_WARN;
	return -1;
}

/* Log lines carry names others chose (processes, paths, shares): no
 * control character reaches the terminal or the journal unescaped. */
static void emit_line(enum aod_log_level level, const char *line, int len)
{
	char safe[2048];
	struct timespec ts;
	struct tm tm;

	if (aod_text_needs_escape(line, (size_t)len, false)) {
		size_t need = aod_text_escape(line, (size_t)len, safe, sizeof(safe), false);

		line = safe;
		len = (int)(need < sizeof(safe) ? need : sizeof(safe) - 1);
	}
	if (log_journal) {
		fprintf(stderr, "<%d>%.*s\n", level, len, line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ aod %s: %.*s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[level],
		len, line);
}

void aod_vlog(enum aod_log_level level, const char *fmt, va_list ap)
{
	char *text = NULL, *line, *nl;

	if (level > log_max)
		return;
	/* Whole message, however long: a verifier log's last line is the one that matters. */
	if (vasprintf(&text, fmt, ap) < 0)
		return;
	for (line = text; *line; line = nl + 1) {
		nl = strchrnul(line, '\n');
		if (nl > line)
			emit_line(level, line, (int)(nl - line));
		if (!*nl)
			break;
	}
	free(text);
}

void aod_log(enum aod_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	aod_vlog(level, fmt, ap);
	va_end(ap);
}
