/* SPDX-License-Identifier: MIT */
/*
 * Block device names <-> kernel dev_t (major << 20 | minor, the value the
 * block probe reports), through sysfs.
 */
#ifndef AOD_PROBE_BLKDEV_H
#define AOD_PROBE_BLKDEV_H

#include <stddef.h>
#include <stdint.h>

#define AOD_MINORBITS 20

static inline uint32_t aod_mkdev(uint32_t major, uint32_t minor)
{
	return (major << AOD_MINORBITS) | minor;
}

/* Reads DIR/NAME/dev ("254:0"); DIR is normally "/sys/class/block".
 * Returns 0, -ENOENT, or -EINVAL for a malformed file. */
int aod_blk_dev_from_name(const char *dir, const char *name, uint32_t *dev);

/* "vda" for the dev_t of /dev/vda, from /sys/dev/block/MAJ:MIN. Returns 0
 * or -errno (buf then holds "MAJ:MIN"). */
int aod_blk_dev_name(uint32_t dev, char *buf, size_t len);

#endif /* AOD_PROBE_BLKDEV_H */
