/* SPDX-License-Identifier: MIT */
/*
 * SpaceWatcher: keep finished bundles within a disk budget and an age.
 *
 * Policy, decided at every check over the finished bundles only (names
 * aod_<digits>_<source>_<type>.tar.zst directly in batches/):
 *  - bundles older than max_log_age_days are deleted (at every check; the
 *    original ran this once per max age, so bundles lived up to 2x);
 *  - of what remains, total >= 95 % of the budget is an emergency: delete
 *    oldest first down to <= 50 %, and check again after interval/4;
 *  - total >= 90 %: delete oldest first down to <= 70 %;
 *  - the next check is never sooner than 1 s (interval/4 rounded down was
 *    0 in the original: a busy loop).
 * The original pruned *less* in emergency mode (80 % vs 50 %); here the
 * emergency is the more aggressive one.
 *
 * Staging directories (.staging-*) and archives being written (.aod_*.tmp)
 * are never counted nor deleted by a check; aod_retention_clean_staging()
 * removes them at start, when no collection can be running.
 */
#ifndef AOD_COLLECT_RETENTION_H
#define AOD_COLLECT_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define AOD_RETENTION_NAME_LEN 256

#define AOD_RETENTION_TRIGGER_PCT 90
#define AOD_RETENTION_TARGET_PCT 70
#define AOD_RETENTION_EMERGENCY_PCT 95
#define AOD_RETENTION_EMERGENCY_TARGET_PCT 50

enum aod_retention_verdict {
	AOD_RETAIN_KEEP = 0,
	AOD_RETAIN_DELETE_AGE = 1,       /* older than max_log_age_days */
	AOD_RETAIN_DELETE_SIZE = 2,      /* over 90 %: oldest go down to 70 % */
	AOD_RETAIN_DELETE_EMERGENCY = 3, /* over 95 %: oldest go down to 50 % */
	AOD_RETAIN_IGNORED = 4,          /* not a finished bundle: never counted or touched */
};

const char *aod_retention_verdict_name(enum aod_retention_verdict v); /* "keep", "age", "size", "emergency", "ignored" */

struct aod_retention_file {
	char name[AOD_RETENTION_NAME_LEN];
	uint64_t size;
	uint64_t mtime_ns;                  /* wall clock */
	enum aod_retention_verdict verdict; /* set by aod_retention_decide() */
};

struct aod_retention_policy {
	uint64_t budget_bytes;   /* max_total_log_size_mb; 0 = no size limit */
	uint64_t max_age_ns;     /* max_log_age_days; 0 = no age limit */
	uint32_t interval_sec;   /* cleanup_interval_sec */
};

struct aod_retention_decision {
	size_t ndelete;
	uint64_t delete_bytes;
	uint64_t age_bytes;      /* of delete_bytes: too old (the size rule sees the rest) */
	uint64_t total_before;   /* finished bundles, bytes */
	uint64_t total_after;    /* if every deletion succeeds */
	bool emergency;
	uint32_t next_check_sec; /* >= 1 */
};

void aod_retention_policy_from_config(const struct aod_config *cfg, struct aod_retention_policy *p);

/*
 * Pure: set files[i].verdict and fill d. Files whose name is not a
 * finished bundle get AOD_RETAIN_IGNORED and count for nothing. Order of
 * files is not changed; deletion order is oldest mtime first (then name).
 */
void aod_retention_decide(const struct aod_retention_policy *p, struct aod_retention_file *files,
			  size_t n, uint64_t now_ns, struct aod_retention_decision *d);

struct aod_retention_stats {
	uint32_t bundles;        /* finished bundles found */
	uint32_t deleted;
	uint32_t deleted_age;
	uint32_t deleted_size;   /* normal and emergency */
	uint64_t deleted_bytes;
	uint64_t total_before;
	uint64_t total_after;    /* what is left, failed deletions included */
	uint32_t errors;         /* deletions that failed (logged) */
	bool emergency;
	uint32_t next_check_sec;
};

/*
 * One check: scan <output_dir>/batches, decide, unlink, log each deletion
 * (name, size, reason). A missing batches/ is not an error (nothing to
 * do). Returns 0 (failed deletions are counted in st->errors) or a
 * negative errno if the directory cannot be read.
 */
int aod_retention_check(const char *output_dir, const struct aod_retention_policy *p,
			uint64_t now_ns, struct aod_retention_stats *st);

/*
 * Remove the leftovers of a crash: batches/.staging-<digits>/ directories
 * and batches/.aod_<...>.tar.zst.tmp files. Call at start, before any
 * collection runs. Returns the number removed or a negative errno.
 */
int aod_retention_clean_staging(const char *output_dir);

#endif /* AOD_COLLECT_RETENTION_H */
