/* SPDX-License-Identifier: MIT */
/* Small file-system helpers: read a small text file whole, mkdir -p. */
#ifndef AOD_COMMON_FSUTIL_H
#define AOD_COMMON_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#define AOD_READ_TEXT_MAX (1u << 20)

/*
 * Read a file of at most max bytes (AOD_READ_TEXT_MAX if 0) into a
 * NUL-terminated malloc'd buffer; longer files are cut at max (proc and
 * cgroup files report size 0, so the size is not trusted). -errno on error.
 */
int aod_read_text(const char *path, size_t max, char **out, size_t *len);

/* mkdir -p: missing components are created with mode; the last one is
 * chmod'ed to mode if it was just created. -errno on error. */
int aod_mkdir_p(const char *path, mode_t mode);

#endif /* AOD_COMMON_FSUTIL_H */
