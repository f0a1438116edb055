// SPDX-License-Identifier: MIT
#include "impact/sampler.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"

int aod_impact_parse_stat(const char *text, long hz, double *cpu_s)
{
	unsigned long long utime, stime;
	long long cutime, cstime;
	/* the command name (field 2) may hold spaces and ')': fields restart after the last ')' */
	const char *p = strrchr(text, ')');

	if (!p || hz <= 0)
		return -EINVAL;
	/* after ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime(14) stime cutime cstime */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld",
		   &utime, &stime, &cutime, &cstime) != 4)
		return -EINVAL;
	*cpu_s = (double)(utime + stime + (unsigned long long)(cutime + cstime)) / (double)hz;
	return 0;
}

int aod_impact_proc_cpu(pid_t pid, double *cpu_s)
{
	char path[64], *text = NULL;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	rc = aod_read_text(path, 4096, &text, &len);
	if (rc)
		return rc;
	rc = aod_impact_parse_stat(text, sysconf(_SC_CLK_TCK), cpu_s);
	free(text);
	return rc;
}

int aod_impact_parse_status_rss(const char *text, uint64_t *kib)
{
	const char *p = strstr(text, "\nVmRSS:");
	unsigned long long v;

	if (!p || sscanf(p + 7, " %llu kB", &v) != 1)
		return -ENOENT; /* a zombie or a kernel thread has no VmRSS */
	*kib = v;
	return 0;
}

int aod_impact_proc_rss(pid_t pid, uint64_t *kib)
{
	char path[64], *text = NULL;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	rc = aod_read_text(path, 0, &text, &len);
	if (rc)
		return rc;
	rc = aod_impact_parse_status_rss(text, kib);
	free(text);
	return rc;
}

/* Sum below the open directory dfd (taken over: closed here). */
static int walk(int dfd, uint64_t *bytes, unsigned depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (depth > 64) {
		close(dfd);
		return -ELOOP;
	}
	if (!(d = fdopendir(dfd))) {
		rc = -errno;
		close(dfd);
		return rc;
	}
	while (!rc && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			if (errno != ENOENT) /* removed meanwhile (rotation, retention): not there */
				rc = -errno;
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			*bytes += (uint64_t)st.st_size;
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				rc = walk(sub, bytes, depth + 1);
			else if (errno != ENOENT)
				rc = -errno;
		}
	}
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	return rc;
}

int aod_impact_dir_bytes(const char *dir, uint64_t *bytes)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	*bytes = 0;
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	return walk(dfd, bytes, 0);
}
