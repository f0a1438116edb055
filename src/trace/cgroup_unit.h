/* SPDX-License-Identifier: MIT */
/* cgroup v2 ids to systemd units or containers (cgroup_unit.c). */
#ifndef AOD_TRACE_CGROUP_UNIT_H
#define AOD_TRACE_CGROUP_UNIT_H

#include <stdbool.h>
#include <stdint.h>

struct trace_cgroup {
	uint64_t id;
	char unit[256]; /* a directory name (d_name) */
};

struct trace_cgroups {
	struct trace_cgroup *v;
	uint32_t n, cap;
};

/* Walk the cgroup2 hierarchy: 0, or -ENOENT without cgroup2, or -errno. */
int trace_cgroups_load(struct trace_cgroups *c);
/* The unit of cgroup id, or NULL if the cgroup is in none (or gone). */
const char *trace_cgroups_unit(const struct trace_cgroups *c, uint64_t id);
void trace_cgroups_free(struct trace_cgroups *c);

#endif /* AOD_TRACE_CGROUP_UNIT_H */
