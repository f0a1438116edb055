// SPDX-License-Identifier: MIT
#include "probe/blkdev.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int aod_blk_dev_from_name(const char *dir, const char *name, uint32_t *dev)
{
	char path[PATH_MAX];
	unsigned major, minor;
	FILE *f;
	int n;

	if (strchr(name, '/'))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s/dev", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%u:%u", &major, &minor);
	fclose(f);
	if (n != 2 || major >= (1u << (32 - AOD_MINORBITS)) ||
	    minor >= (1u << AOD_MINORBITS))
		return -EINVAL;
	*dev = aod_mkdev(major, minor);
	return 0;
}

int aod_blk_dev_name(uint32_t dev, char *buf, size_t len)
{
	unsigned major = dev >> AOD_MINORBITS, minor = dev & ((1u << AOD_MINORBITS) - 1);
	char path[64], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(buf, len, "%u:%u", major, minor);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", major, minor);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(buf, len, "%s", base ? base + 1 : target);
	return 0;
}
