/* SPDX-License-Identifier: MIT */
/*
 * The health history: one zstd-compressed JSON file per report,
 * <history_dir>/report-<id>.json.zst, where id is the report's UTC time
 * (20251201T191200.123Z), so names sort in time order. The directory is
 * made 0700 and files 0600; a report is written to a dot-file and renamed,
 * so a reader never sees half of one. Retention keeps the newest max_files
 * reports; max_files 0 keeps every one (the seed deleted every one).
 */
#ifndef AOD_HEALTH_HISTORY_H
#define AOD_HEALTH_HISTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AOD_HEALTH_ID_LEN 40
#define AOD_HEALTH_FILE_LEN 256
#define AOD_HEALTH_MAX_REPORT (64u << 20)   /* uncompressed bytes */

struct aod_hist_entry {
	char id[AOD_HEALTH_ID_LEN];
	char file[AOD_HEALTH_FILE_LEN];
	uint64_t size;       /* compressed bytes */
	uint64_t mtime_ns;
};

/* "report-<id>.json.zst" -> id. False for anything else (dot-files, other names). */
bool aod_history_name_parse(const char *file, char *id, size_t len);
/* How many of nfiles the oldest-first retention deletes. */
size_t aod_history_to_delete(size_t nfiles, uint32_t max_files);

/* Newest first. -ENOENT if the directory does not exist. */
int aod_history_list(const char *dir, struct aod_hist_entry **out, size_t *n);
/* Save (report's "id" names the file), then apply retention. */
int aod_history_save(const char *dir, const json_t *report, uint32_t max_files, int zstd_level,
		     size_t *deleted);
int aod_history_retain(const char *dir, uint32_t max_files, size_t *deleted);
/* dir/latest.json: the report as plain JSON, replaced each time (what Health bundles copy). */
int aod_history_write_latest(const char *dir, const json_t *report);
/* ARG: an id, a file name, or N (1 = newest, as `aod health history` numbers them). */
int aod_history_resolve(const char *dir, const char *arg, char *id, size_t len);
int aod_history_load(const char *dir, const char *id, json_t **out);
/* The newest max reports, oldest first; unreadable files are skipped and counted. */
int aod_history_load_recent(const char *dir, size_t max, json_t ***out, size_t *n,
			    size_t *unreadable);
void aod_history_free_reports(json_t **reports, size_t n);

#endif /* AOD_HEALTH_HISTORY_H */
