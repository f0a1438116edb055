/* SPDX-License-Identifier: MIT */
/*
 * Per-group figures from the cgroup files. cgroup v2 first (cpu.stat,
 * memory.current, memory.peak, io.stat, cgroup.procs); on a hybrid host
 * (cgroup2 at /sys/fs/cgroup/unified, controllers on v1) what v2 lacks is
 * read from the v1 controller at the same relative path (memory.usage_in_bytes,
 * memory.max_usage_in_bytes, blkio.throttle.io_service_bytes, cpuacct.usage).
 * The parsers take the file's text, so they are tested without a cgroup.
 */
#ifndef AOD_HEALTH_CGROUP_H
#define AOD_HEALTH_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum aod_cg_mode {
	AOD_CG_NONE = 0,
	AOD_CG_UNIFIED = 1,  /* cgroup2 only */
	AOD_CG_HYBRID = 2,   /* cgroup2 and v1 controllers */
	AOD_CG_LEGACY = 3,   /* v1 only */
};

struct aod_cg_hier {
	enum aod_cg_mode mode;
	char v2[PATH_MAX];          /* cgroup2 mount point, "" if none */
	char v1_memory[PATH_MAX];   /* v1 controller mount points, "" if none */
	char v1_blkio[PATH_MAX];
	char v1_cpuacct[PATH_MAX];
	char v1_pids[PATH_MAX];
};

struct aod_cg_stats {
	bool has_cpu, has_mem, has_mem_peak, has_io, has_tasks;
	uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
	uint64_t mem_current, mem_peak;
	uint64_t io_rbytes, io_wbytes, io_rios, io_wios;
	uint64_t tasks;
	const char *mem_source, *io_source, *cpu_source; /* "v2", "v1" or NULL */
};

const char *aod_cg_mode_name(enum aod_cg_mode m);   /* "none", "unified", "hybrid", "legacy" */

/* /proc/self/mountinfo text -> mount points. Returns 0 (mode NONE if nothing). */
int aod_cg_parse_mountinfo(const char *text, struct aod_cg_hier *h);
int aod_cg_detect(struct aod_cg_hier *h);

/* cpu.stat: usage_usec, user_usec, system_usec. -ENOENT if usage_usec is absent. */
int aod_cg_parse_cpu_stat(const char *text, struct aod_cg_stats *s);
/* io.stat: "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.." summed over every device. */
int aod_cg_parse_io_stat(const char *text, struct aod_cg_stats *s);
/* v1 blkio.throttle.io_service_bytes: "MAJ:MIN Read N" / "Write N" lines summed. */
int aod_cg_parse_blkio_bytes(const char *text, struct aod_cg_stats *s);
/* A single number, or "max" (*is_max set, *v = UINT64_MAX). */
int aod_cg_parse_u64(const char *text, uint64_t *v, bool *is_max);
/* Non-empty lines (cgroup.procs). */
size_t aod_cg_count_lines(const char *text);

/* Read one group: path relative to the hierarchy root ("/system.slice/x.service"). */
int aod_cg_read(const struct aod_cg_hier *h, const char *path, struct aod_cg_stats *s);
/* Only the counters that make rates (cpu, io): for the second sample. */
int aod_cg_read_counters(const struct aod_cg_hier *h, const char *path, struct aod_cg_stats *s);

#endif /* AOD_HEALTH_CGROUP_H */
