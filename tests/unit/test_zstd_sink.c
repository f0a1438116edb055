// SPDX-License-Identifier: MIT
/*
 * The bundle's compressor (collect/zstd_sink.c): its output is one valid
 * zstd frame that decompresses to the input, whatever the input's size
 * against the expected size; its window is no larger than the expected
 * input (a decoder limited to that window accepts the frame), and its
 * context is a fraction of what the level's default window costs for the
 * same input (measured here with zstd itself, not taken from the code).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "collect/zstd_sink.h"

/* Text-like input: lines with counters, as logs are. */
static char *make_input(size_t len)
{
	char *p = malloc(len);
	size_t i = 0;

	assert_non_null(p);
	for (unsigned line = 0; i < len; line++) {
		char buf[96];
		int n = snprintf(buf, sizeof(buf), "[%8u.%06u] sd 0:0:0:0: [sda] tag#%u request %u\n",
				 line / 1000, line % 1000 * 997, line % 32, line * 7);

		for (int k = 0; k < n && i < len; k++)
			p[i++] = buf[k];
	}
	return p;
}

/* Compress input through a sink into a memory file; returns the frame. */
static void *compress(const char *in, size_t len, uint64_t expected, size_t chunk, size_t *out_len,
		      size_t *ctx_bytes)
{
	FILE *f = tmpfile();
	struct aod_zstd_sink *s;
	void *out;
	long size;

	assert_non_null(f);
	s = aod_zstd_sink_new(fileno(f), 3, expected);
	assert_non_null(s);
	for (size_t off = 0; off < len; off += chunk)
		assert_int_equal(aod_zstd_sink_write(s, in + off, len - off < chunk ? len - off : chunk), 0);
	assert_int_equal(aod_zstd_sink_finish(s), 0);
	assert_int_equal(aod_zstd_sink_bytes_in(s), len);
	if (ctx_bytes)
		*ctx_bytes = aod_zstd_sink_context_bytes(s);
	size = lseek(fileno(f), 0, SEEK_END);
	assert_true(size > 0);
	assert_int_equal((uint64_t)size, aod_zstd_sink_bytes_out(s));
	aod_zstd_sink_free(s);
	out = malloc((size_t)size);
	assert_non_null(out);
	assert_int_equal(pread(fileno(f), out, (size_t)size, 0), size);
	fclose(f);
	*out_len = (size_t)size;
	return out;
}

/* Decompress with the window limited to 2^wlog_max; returns bytes or -1 if refused. */
static long decompress(const void *frame, size_t len, char *out, size_t cap, int wlog_max)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer in = { frame, len, 0 };
	ZSTD_outBuffer o = { out, cap, 0 };
	size_t r = 1;

	assert_non_null(d);
	if (wlog_max)
		assert_false(ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, wlog_max)));
	while (r && in.pos < in.size) {
		r = ZSTD_decompressStream(d, &o, &in);
		if (ZSTD_isError(r)) {
			ZSTD_freeDCtx(d);
			return -1;
		}
	}
	ZSTD_freeDCtx(d);
	return r ? -1 : (long)o.pos;
}

static void test_window_log_choice(void **state)
{
	(void)state;
	assert_int_equal(aod_zstd_sink_window_log(0), 10);
	assert_int_equal(aod_zstd_sink_window_log(1024), 10);
	assert_int_equal(aod_zstd_sink_window_log(1025), 11);
	assert_int_equal(aod_zstd_sink_window_log(8192), 13);
	assert_int_equal(aod_zstd_sink_window_log(1 << 18), 18);
	/* from level 1's own window up, the level decides */
	assert_int_equal(aod_zstd_sink_window_log((1 << 18) + 1), 0);
	assert_int_equal(aod_zstd_sink_window_log(64 << 20), 0);
}

static void test_small_bundle_round_trip_small_window(void **state)
{
	size_t len = 40 * 1024, zlen, ctx, dflt;
	char *in = make_input(len), *back = malloc(len + 1);
	void *z;
	int wlog = aod_zstd_sink_window_log(len);

	(void)state;
	z = compress(in, len, len, 10240, &zlen, &ctx);
	assert_true(zlen < len / 4); /* text compresses */
	/* a decoder that allows no window over the expected size takes it */
	assert_int_equal(decompress(z, zlen, back, len + 1, wlog), (long)len);
	assert_memory_equal(back, in, len);
	/* streamed at the level's own parameters (size unknown, as libarchive's
	 * zstd filter does it), the same input needs a far larger context */
	{
		ZSTD_CCtx *c = ZSTD_createCCtx();
		size_t cap = ZSTD_compressBound(len);
		void *o = malloc(cap);
		ZSTD_inBuffer zi = { in, 10240, 0 };
		ZSTD_outBuffer zo = { o, cap, 0 };

		ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
		assert_false(ZSTD_isError(ZSTD_compressStream2(c, &zo, &zi, ZSTD_e_continue)));
		zi.size = len;
		assert_int_equal(ZSTD_compressStream2(c, &zo, &zi, ZSTD_e_end), 0);
		dflt = ZSTD_sizeof_CCtx(c);
		ZSTD_freeCCtx(c);
		free(o);
	}
	printf("# %zu bytes: context %zu bytes with a 2^%d window, %zu at level 3's default; "
	       "%zu bytes compressed\n", len, ctx, wlog, dflt, zlen);
	assert_true(ctx * 3 < dflt);
	free(z);
	free(in);
	free(back);
}

/* More than expected (cannot happen in a bundle, but must not break the
 * frame): still one valid frame of all the input. */
static void test_more_than_expected_still_valid(void **state)
{
	size_t len = 300 * 1024, zlen;
	char *in = make_input(len), *back = malloc(len);
	void *z;

	(void)state;
	z = compress(in, len, 4096, 7777, &zlen, NULL);
	assert_int_equal(decompress(z, zlen, back, len, 0), (long)len);
	assert_memory_equal(back, in, len);
	free(z);
	free(in);
	free(back);
}

static void test_empty_input_is_a_frame(void **state)
{
	size_t zlen;
	char back[8];
	void *z;

	(void)state;
	z = compress("", 0, 0, 1, &zlen, NULL);
	assert_int_equal(decompress(z, zlen, back, sizeof(back), 0), 0);
	free(z);
}

static void test_write_error_is_returned(void **state)
{
	int fds[2];
	struct aod_zstd_sink *s;
	char *in = make_input(256 * 1024);
	int err = 0;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	close(fds[0]); /* no reader: the write fails with EPIPE */
	signal(SIGPIPE, SIG_IGN);
	s = aod_zstd_sink_new(fds[1], 3, 256 * 1024);
	assert_non_null(s);
	for (int i = 0; i < 8 && !err; i++)
		err = aod_zstd_sink_write(s, in, 256 * 1024);
	if (!err)
		err = aod_zstd_sink_finish(s);
	assert_int_equal(err, -EPIPE);
	aod_zstd_sink_free(s);
	close(fds[1]);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_log_choice),
		cmocka_unit_test(test_small_bundle_round_trip_small_window),
		cmocka_unit_test(test_more_than_expected_still_valid),
		cmocka_unit_test(test_empty_input_is_a_frame),
		cmocka_unit_test(test_write_error_is_returned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
