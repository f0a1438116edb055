/* SPDX-License-Identifier: MIT */
/* aod impact: what /proc says about a process, and how big a directory is. */
#ifndef AOD_IMPACT_SAMPLER_H
#define AOD_IMPACT_SAMPLER_H

#include <stdint.h>
#include <sys/types.h>

/*
 * CPU seconds of pid from /proc/PID/stat: utime+stime of all its threads
 * plus cutime+cstime (the children it reaped: its actions). -errno if the
 * process is gone or the file cannot be parsed.
 */
int aod_impact_proc_cpu(pid_t pid, double *cpu_s);

/* Parse the text of a /proc/PID/stat file (for tests); ticks per second hz. */
int aod_impact_parse_stat(const char *text, long hz, double *cpu_s);

/* VmRSS of pid in KiB from /proc/PID/status. -errno on failure. */
int aod_impact_proc_rss(pid_t pid, uint64_t *kib);
int aod_impact_parse_status_rss(const char *text, uint64_t *kib);

/*
 * Bytes in the regular files below dir (st_size, symlinks not followed,
 * other file systems included). A missing dir is 0 bytes; other errors
 * are -errno.
 */
int aod_impact_dir_bytes(const char *dir, uint64_t *bytes);

#endif /* AOD_IMPACT_SAMPLER_H */
