/* SPDX-License-Identifier: MIT */
/*
 * <aod_output_dir>/anomalies.jsonl: one JSON line per anomaly, bounded.
 * When the file would grow past a quarter of cleanup.max_anomaly_log_mb
 * it is rotated (anomalies.jsonl.1, .2, .3; the oldest goes), so the log
 * never takes more than max_anomaly_log_mb; the SpaceWatcher counts it in
 * the output budget. Used by the detector thread only.
 */
#ifndef AOD_AGENT_ANOMALY_LOG_H
#define AOD_AGENT_ANOMALY_LOG_H

#include <stddef.h>
#include <stdint.h>

#define AOD_ANOMALY_LOG "anomalies.jsonl"
#define AOD_ANOMALY_LOG_KEEP 3 /* rotated files kept */

struct aod_anomaly_log {
	char dir[4096];
	uint64_t max_bytes; /* for the live file and the rotated ones together */
	int fd;             /* -1: not open */
	uint64_t size;      /* of the live file */
	uint64_t rotations;
};

void aod_anomaly_log_init(struct aod_anomaly_log *l);
/* New output dir or limit (start, reload): closes the file if the dir changed. */
void aod_anomaly_log_configure(struct aod_anomaly_log *l, const char *dir, uint64_t max_bytes);
/* Append line (no newline in it); rotates first if needed. 0 or -errno. */
int aod_anomaly_log_append(struct aod_anomaly_log *l, const char *line, size_t len);
void aod_anomaly_log_close(struct aod_anomaly_log *l);

/* Bytes the anomaly log takes in dir now (live and rotated files). */
uint64_t aod_anomaly_log_bytes(const char *dir);

#endif /* AOD_AGENT_ANOMALY_LOG_H */
