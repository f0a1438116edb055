// SPDX-License-Identifier: MIT
/*
 * A cgroup v2 id (the kernfs inode number the process probe reports) to
 * its path and its systemd unit or container: the cgroup2 hierarchy is
 * walked, and every directory's inode number is its id. The unit is the
 * last path component that names a systemd service or scope
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

#include "common/cgroup_unit.h"

#define MAX_DEPTH 16
#define MAX_CGROUPS 65536
#define PATH_CAP 4096

int aod_cgroup2_root(char *out, size_t len)
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

/* path and its unit (unit_len bytes of path up to the unit's component, 0 if none). */
static int add(struct aod_cgroups *c, uint64_t id, const char *path, size_t unit_len)
{
	struct aod_cgroup *v, *e;

	if (c->n == MAX_CGROUPS)
		return -E2BIG;
	if (c->n == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 64;

		if (!(v = realloc(c->v, cap * sizeof(*v))))
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	e = &c->v[c->n];
	memset(e, 0, sizeof(*e));
	e->id = id;
	if (!(e->path = strdup(path)))
		return -ENOMEM;
	if (unit_len) {
		const char *slash = path + unit_len;

		while (slash > path && slash[-1] != '/')
			slash--;
		e->unit = strndup(slash, (size_t)(path + unit_len - slash));
		if (!e->unit) {
			free(e->path);
			return -ENOMEM;
		}
		e->unit_path_len = unit_len;
	}
	c->n++;
	return 0;
}

/* dfd (an open directory at path, of which unit_len bytes name its unit). */
static void walk(struct aod_cgroups *c, int dfd, char *path, size_t plen, size_t unit_len, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		size_t nlen = strlen(de->d_name), sub_len, sub_unit;
		struct stat st;
		int sub;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (plen + 1 + nlen >= PATH_CAP) {
			c->dropped++;
			continue;
		}
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			continue;
		if (fstat(sub, &st)) {
			close(sub);
			continue;
		}
		sub_len = plen == 1 ? 0 : plen; /* the root's path is "/" */
		path[sub_len] = '/';
		memcpy(path + sub_len + 1, de->d_name, nlen + 1);
		sub_len += 1 + nlen;
		sub_unit = is_unit(de->d_name) ? sub_len : unit_len;
		if (add(c, st.st_ino, path, sub_unit)) {
			c->dropped++;
			close(sub);
		} else if (depth < MAX_DEPTH) {
			walk(c, sub, path, sub_len, sub_unit, depth + 1);
		} else {
			close(sub);
		}
		path[plen] = '\0';
	}
	closedir(d);
}

static int by_id(const void *a, const void *b)
{
	const struct aod_cgroup *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int aod_cgroups_load_at(struct aod_cgroups *c, const char *root)
{
	char *path;
	struct stat st;
	int fd, err;

	memset(c, 0, sizeof(*c));
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!(path = malloc(PATH_CAP))) {
		close(fd);
		return -ENOMEM;
	}
	strcpy(path, "/");
	if ((err = add(c, st.st_ino, path, 0))) {
		close(fd);
		free(path);
		return err;
	}
	walk(c, fd, path, 1, 0, 0);
	free(path);
	qsort(c->v, c->n, sizeof(*c->v), by_id);
	return 0;
}

int aod_cgroups_load(struct aod_cgroups *c)
{
	char root[1024];
	int err;

	memset(c, 0, sizeof(*c));
	if ((err = aod_cgroup2_root(root, sizeof(root))))
		return err;
	return aod_cgroups_load_at(c, root);
}

const struct aod_cgroup *aod_cgroups_find(const struct aod_cgroups *c, uint64_t id)
{
	struct aod_cgroup key = { .id = id };

	if (!id || !c->n)
		return NULL;
	return bsearch(&key, c->v, c->n, sizeof(*c->v), by_id);
}

const char *aod_cgroups_unit(const struct aod_cgroups *c, uint64_t id)
{
	const struct aod_cgroup *g = aod_cgroups_find(c, id);

	return g ? g->unit : NULL;
}

void aod_cgroups_free(struct aod_cgroups *c)
{
	for (uint32_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].unit);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}
