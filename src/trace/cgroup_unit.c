// SPDX-License-Identifier: MIT
/*
 * A cgroup v2 id (the kernfs inode number the probe reports) to its
 * systemd unit or container: the cgroup2 hierarchy is walked once, at the
 * end of the run, and every directory's inode number is its id. The unit
 * is the last path component that names a systemd service or scope
 * ("foo.service", "session-3.scope", "docker-<id>.scope").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace/cgroup_unit.h"

#define MAX_DEPTH 16
#define MAX_CGROUPS 65536

/* Where cgroup2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
 * hybrid host), from /proc/self/mountinfo. */
static int cgroup2_root(char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		char mnt[1024], *sep = strstr(line, " - ");

		if (!sep || strncmp(sep, " - cgroup2 ", 11))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) == 1 && strlen(mnt) < len) {
			snprintf(out, len, "%s", mnt);
			err = 0;
		}
	}
	fclose(f);
	return err;
}

static bool is_unit(const char *name)
{
	size_t n = strlen(name);

	return (n > 8 && !strcmp(name + n - 8, ".service")) || (n > 6 && !strcmp(name + n - 6, ".scope"));
}

static int add(struct trace_cgroups *c, uint64_t id, const char *unit)
{
	struct trace_cgroup *v;

	if (c->n == MAX_CGROUPS)
		return -E2BIG;
	if (c->n == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 64;

		if (!(v = realloc(c->v, cap * sizeof(*v))))
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].id = id;
	snprintf(c->v[c->n].unit, sizeof(c->v[c->n].unit), "%s", unit);
	c->n++;
	return 0;
}

/* dir (an open fd), whose unit is unit ("" if none yet). */
static void walk(struct trace_cgroups *c, int dfd, const char *unit, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		int sub;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			continue;
		if (fstat(sub, &st)) {
			close(sub);
			continue;
		}
		{
			const char *u = is_unit(de->d_name) ? de->d_name : unit;

			if (*u && add(c, st.st_ino, u)) {
				close(sub);
				break;
			}
			if (depth < MAX_DEPTH)
				walk(c, sub, u, depth + 1);
			else
				close(sub);
		}
	}
	closedir(d);
}

int trace_cgroups_load(struct trace_cgroups *c)
{
	char root[1024];
	int fd, err;

	memset(c, 0, sizeof(*c));
	if ((err = cgroup2_root(root, sizeof(root))))
		return err;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	walk(c, fd, "", 0);
	return 0;
}

const char *trace_cgroups_unit(const struct trace_cgroups *c, uint64_t id)
{
	for (uint32_t i = 0; id && i < c->n; i++)
		if (c->v[i].id == id)
			return c->v[i].unit;
	return NULL;
}

void trace_cgroups_free(struct trace_cgroups *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}
