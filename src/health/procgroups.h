/* SPDX-License-Identifier: MIT */
/*
 * Child process groups (the seed's docker.service case): for every active
 * service with a main PID, all its descendants (each PID counted once),
 * grouped by (service, lowercase basename of argv[0]), with summed CPU
 * seconds and RSS; a group is kept at >= 5 MiB or >= 60 s of CPU, the
 * 50 biggest by (CPU, memory). The grouping is pure: it takes a process table.
 */
#ifndef AOD_HEALTH_PROCGROUPS_H
#define AOD_HEALTH_PROCGROUPS_H

#include <stddef.h>
#include <stdint.h>

#define AOD_PG_MAX_GROUPS 50
#define AOD_PG_PIDS 5
#define AOD_PG_MIN_MEM (5ULL << 20)
#define AOD_PG_MIN_CPU_SEC 60.0

struct aod_proc {
	int pid, ppid;
	char command[64];          /* lowercase basename of argv[0] (or comm) */
	double cpu_seconds;        /* utime + stime */
	uint64_t rss_bytes;
};

struct aod_proc_root {
	const char *unit;
	int pid;
};

struct aod_proc_group {
	const char *unit;
	char command[64];
	size_t count;
	int pids[AOD_PG_PIDS];
	double cpu_seconds;
	uint64_t mem_bytes;
};

/* Every process in /proc. */
int aod_procs_read(struct aod_proc **out, size_t *n);
/* Groups of roots' descendants; *out malloc'd; returns the count. */
size_t aod_proc_groups(const struct aod_proc *procs, size_t n, const struct aod_proc_root *roots,
		       size_t nroots, struct aod_proc_group **out);

#endif /* AOD_HEALTH_PROCGROUPS_H */
