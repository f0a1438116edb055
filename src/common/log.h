/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per message on stderr. Under systemd (JOURNAL_STREAM
 * set) lines carry a "<N>" syslog priority prefix that journald parses;
 * otherwise they carry a UTC timestamp and the level name.
 */
#ifndef AOD_COMMON_LOG_H
#define AOD_COMMON_LOG_H

#include <stdarg.h>

enum aod_log_level {
	AOD_LOG_ERR = 3,
	AOD_LOG_WARN = 4,
	AOD_LOG_NOTICE = 5,
	AOD_LOG_INFO = 6,
	AOD_LOG_DEBUG = 7,
};

/* Set once at start-up, before threads exist (AOD_LOG_LEVEL env or flag). */
void aod_log_init(enum aod_log_level max_level);
int aod_log_level_from_name(const char *name); /* "info" -> 6, or -1 */

__attribute__((format(printf, 2, 3)))
void aod_log(enum aod_log_level level, const char *fmt, ...);
void aod_vlog(enum aod_log_level level, const char *fmt, va_list ap);

#define log_err(...) aod_log(AOD_LOG_ERR, __VA_ARGS__)
#define log_warn(...) aod_log(AOD_LOG_WARN, __VA_ARGS__)
#define log_notice(...) aod_log(AOD_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) aod_log(AOD_LOG_INFO, __VA_ARGS__)
#define log_debug(...) aod_log(AOD_LOG_DEBUG, __VA_ARGS__)

#endif /* AOD_COMMON_LOG_H */
