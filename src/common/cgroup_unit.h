/* SPDX-License-Identifier: MIT */
/*
 * cgroup v2 ids to cgroup paths and systemd units or containers
 * (cgroup_unit.c), for the process probe's cgroup_id: `aod trace` and the
 * processes part of `aod health`. The id is the cgroup's kernfs inode
 * number, so walking the hierarchy and stat()ing each directory maps
 * every cgroup that exists at that moment.
 */
#ifndef AOD_COMMON_CGROUP_UNIT_H
#define AOD_COMMON_CGROUP_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aod_cgroup {
	uint64_t id;
	char *path;            /* relative to the hierarchy's root: "/", "/system.slice/x.service/y" */
	char *unit;            /* the last component naming a service or scope; NULL if none */
	size_t unit_path_len;  /* bytes of path up to and including that component (0 if none) */
};

struct aod_cgroups {
	struct aod_cgroup *v;  /* sorted by id */
	uint32_t n, cap;
	uint32_t dropped;      /* directories not mapped (the table's limit, or no memory) */
};

/* Where cgroup2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
 * hybrid host). 0, -ENOENT without cgroup2, or -errno. */
int aod_cgroup2_root(char *out, size_t len);
/* Walk the cgroup2 hierarchy: 0, or -ENOENT without cgroup2, or -errno. */
int aod_cgroups_load(struct aod_cgroups *c);
/* Walk the tree under root (a cgroup2 mount, or any directory tree). */
int aod_cgroups_load_at(struct aod_cgroups *c, const char *root);
/* The cgroup of id, or NULL if it was not there when loaded. */
const struct aod_cgroup *aod_cgroups_find(const struct aod_cgroups *c, uint64_t id);
/* The unit of cgroup id, or NULL if the cgroup is in none (or gone). */
const char *aod_cgroups_unit(const struct aod_cgroups *c, uint64_t id);
void aod_cgroups_free(struct aod_cgroups *c);

#endif /* AOD_COMMON_CGROUP_UNIT_H */
