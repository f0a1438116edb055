// SPDX-License-Identifier: MIT
/* A zstd frame onto a file descriptor, its window fitted to the input (zstd_sink.h). */
#include "collect/zstd_sink.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
/* For ZSTD_c_srcSizeHint alone, an experimental parameter of the stable
 * ZSTD_CCtx_setParameter (zstd >= 1.4.4). A library that does not know it
 * refuses it, and the sink falls back to setting the window only. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

/* Level 1's default window, the smallest any positive level uses: a window
 * below it is never larger than the level would pick. */
#define LEVEL_MIN_DEFAULT_WLOG 19
#define WLOG_MIN 10 /* the format's smallest window, 1 KiB */

struct aod_zstd_sink {
	int fd;
	ZSTD_CCtx *cctx;
	void *out;
	size_t out_cap;
	uint64_t in_bytes, out_bytes;
};

int aod_zstd_sink_window_log(uint64_t expected_bytes)
{
	int wlog = WLOG_MIN;

	while (wlog < LEVEL_MIN_DEFAULT_WLOG && (1ULL << wlog) < expected_bytes)
		wlog++;
	return wlog < LEVEL_MIN_DEFAULT_WLOG ? wlog : 0;
}

/* zstd picks window and tables for an input of about this size, as it
 * does when it knows the size; failing that, at least the window. */
static int size_for(ZSTD_CCtx *cctx, uint64_t expected_bytes)
{
	int hint = expected_bytes < INT_MAX ? (int)expected_bytes : INT_MAX;
	int wlog = aod_zstd_sink_window_log(expected_bytes);

	if (!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_srcSizeHint, hint)))
		return 0;
	if (wlog && ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, wlog)))
		return -EINVAL;
	return 0;
}

struct aod_zstd_sink *aod_zstd_sink_new(int fd, int level, uint64_t expected_bytes)
{
	struct aod_zstd_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = fd;
	s->out_cap = ZSTD_CStreamOutSize();
	s->out = malloc(s->out_cap);
	s->cctx = ZSTD_createCCtx();
	if (!s->out || !s->cctx ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_checksumFlag, 1)) ||
	    size_for(s->cctx, expected_bytes)) {
		aod_zstd_sink_free(s);
		return NULL;
	}
	return s;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One round of compression with mode; *done when mode's work is over. */
static int pump(struct aod_zstd_sink *s, ZSTD_inBuffer *in, ZSTD_EndDirective mode, int *done)
{
	ZSTD_outBuffer out = { s->out, s->out_cap, 0 };
	size_t left = ZSTD_compressStream2(s->cctx, &out, in, mode);
	int err;

	if (ZSTD_isError(left))
		return -EIO;
	err = write_all(s->fd, s->out, out.pos);
	if (err)
		return err;
	s->out_bytes += out.pos;
	*done = mode == ZSTD_e_end ? left == 0 : in->pos == in->size;
	return 0;
}

int aod_zstd_sink_write(struct aod_zstd_sink *s, const void *buf, size_t len)
{
	ZSTD_inBuffer in = { buf, len, 0 };
	int done = len == 0, err = 0;

	while (!done && !err)
		err = pump(s, &in, ZSTD_e_continue, &done);
	if (!err)
		s->in_bytes += len;
	return err;
}

int aod_zstd_sink_finish(struct aod_zstd_sink *s)
{
	ZSTD_inBuffer in = { NULL, 0, 0 };
	int done = 0, err = 0;

	while (!done && !err)
		err = pump(s, &in, ZSTD_e_end, &done);
	return err;
}

uint64_t aod_zstd_sink_bytes_in(const struct aod_zstd_sink *s)
{
	return s->in_bytes;
}

uint64_t aod_zstd_sink_bytes_out(const struct aod_zstd_sink *s)
{
	return s->out_bytes;
}

size_t aod_zstd_sink_context_bytes(const struct aod_zstd_sink *s)
{
	return ZSTD_sizeof_CCtx(s->cctx);
}

void aod_zstd_sink_free(struct aod_zstd_sink *s)
{
	if (!s)
		return;
	ZSTD_freeCCtx(s->cctx);
	free(s->out);
	free(s);
}
