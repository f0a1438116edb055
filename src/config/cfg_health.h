/* SPDX-License-Identifier: MIT */
/*
 * The `health:` section: where `aod health` keeps its history, how it
 * scores units against it, what its log analysis looks for, and whether
 * the agent runs the report periodically. Included by config/config.h.
 */
#ifndef AOD_CONFIG_CFG_HEALTH_H
#define AOD_CONFIG_CFG_HEALTH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define AOD_HEALTH_MAX_PATTERNS 32
#define AOD_HEALTH_PATTERN_NAME_LEN 48
#define AOD_HEALTH_REGEX_LEN 256

/* Log pattern classes, in the order the seed checks them. */
enum aod_log_class {
	AOD_LOG_CLASS_OOM = 0,
	AOD_LOG_CLASS_ERROR = 1,
	AOD_LOG_CLASS_WARNING = 2,
};

struct aod_health_pattern {
	char name[AOD_HEALTH_PATTERN_NAME_LEN]; /* metric label, [A-Za-z0-9_:/.-] */
	enum aod_log_class cls;
	char regex[AOD_HEALTH_REGEX_LEN];       /* POSIX extended, case-insensitive */
};

struct aod_health_config {
	char history_dir[PATH_MAX];   /* /var/lib/aod/health (made 0700) */
	uint32_t max_files;           /* 50; 0 keeps every report */
	uint32_t min_samples;         /* 5: fewer past values = "learning" */
	uint32_t baseline_reports;    /* 20: the baseline is over this many past reports */
	double threshold;             /* 3.5: anomaly when score > threshold */
	uint32_t journal_lines;       /* 20 journal lines per problem unit */
	uint32_t top_n;               /* 10 */
	uint32_t interval_sec;        /* 0 = the agent does not run reports */
	uint32_t flapping_restarts;   /* 3: NRestarts at or above = flapping */
	uint32_t log_priority;        /* 4 (warning): entries at or below count */
	uint32_t log_max_entries;     /* 50000 */
	uint32_t sample_ms;           /* 1000: rates are measured over this */
	bool builtin_patterns;        /* true: the seed's pattern classes after ours */
	uint32_t npatterns;
	struct aod_health_pattern patterns[AOD_HEALTH_MAX_PATTERNS];
};

/* The latest report as plain JSON, next to the history (what a Health bundle copies). */
#define AOD_HEALTH_LATEST_FILE "latest.json"

/* A `type: Health` rule: fires when a report has a unit newly failed or newly
 * over the score threshold; units (names or shell globs) limit it, none = all. */
#define AOD_HEALTH_RULE_UNITS 16
#define AOD_HEALTH_UNIT_LEN 128

struct aod_health_rule {
	bool on_failed;      /* default true */
	bool on_anomaly;     /* default true */
	uint32_t nunits;
	char units[AOD_HEALTH_RULE_UNITS][AOD_HEALTH_UNIT_LEN];
};

const char *aod_log_class_name(enum aod_log_class c);  /* "OOM", "Error", "Warning" */

#endif /* AOD_CONFIG_CFG_HEALTH_H */
