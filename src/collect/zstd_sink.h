/* SPDX-License-Identifier: MIT */
/*
 * The compressor behind a bundle's tar stream: libarchive writes the tar,
 * this turns it into one zstd frame on a file descriptor. It is ours rather
 * than libarchive's zstd filter for one reason: the window. A level's
 * default window (2 MiB at level 3, plus tables: 3.6 MiB of context) is
 * sized for unknown, large inputs; a bundle's size is known, within its
 * tar headers, before the first byte is written, and is usually a few
 * KiB. A window no larger than the input compresses the same and costs a
 * fraction of the memory, which is what an anomaly storm's peak RSS is made
 * of.
 */
#ifndef AOD_COLLECT_ZSTD_SINK_H
#define AOD_COLLECT_ZSTD_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct aod_zstd_sink;

/* A sink writing to fd (not closed by it) at level, for about
 * expected_bytes of input (an upper bound: more is fine, only compressed a
 * little less well beyond the window). NULL if out of memory or the level
 * is refused. */
struct aod_zstd_sink *aod_zstd_sink_new(int fd, int level, uint64_t expected_bytes);

/* Compress len bytes; returns 0 or -errno (of the write). */
int aod_zstd_sink_write(struct aod_zstd_sink *s, const void *buf, size_t len);

/* End the frame and write the rest; returns 0 or -errno. */
int aod_zstd_sink_finish(struct aod_zstd_sink *s);

/* Input bytes taken, output bytes written so far. */
uint64_t aod_zstd_sink_bytes_in(const struct aod_zstd_sink *s);
uint64_t aod_zstd_sink_bytes_out(const struct aod_zstd_sink *s);

/* The window log chosen for expected_bytes at this level's default (0: the
 * level's own, for inputs as large as it). */
int aod_zstd_sink_window_log(uint64_t expected_bytes);

/* Bytes of the compression context (ZSTD_sizeof_CCtx), after the first write. */
size_t aod_zstd_sink_context_bytes(const struct aod_zstd_sink *s);

void aod_zstd_sink_free(struct aod_zstd_sink *s);

#endif /* AOD_COLLECT_ZSTD_SINK_H */
