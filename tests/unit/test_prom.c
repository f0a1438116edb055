// SPDX-License-Identifier: MIT
/*
 * The Prometheus text-format writer (families, label escaping, exact
 * counters, histograms), the log2 kernel histogram -> Prometheus bucket
 * conversion (bounds and cumulative counts recomputed here from raw
 * nanosecond latencies, independently of src/serve), and the bounded
 * label-set tables behind per-rule / per-action counters.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bpf/hist.bpf.h"
#include "common/series.h"
#include "serve/log2hist.h"
#include "serve/prom.h"

static int setup_writer(void **st)
{
	struct aod_prom *w = calloc(1, sizeof(*w));

	if (!w)
		return -1;
	aod_prom_init(w);
	*st = w;
	return 0;
}

static int teardown_writer(void **st)
{
	aod_prom_free(*st);
	free(*st);
	return 0;
}

static void test_family_and_samples(void **st)
{
	struct aod_prom *w = *st;

	aod_prom_family(w, "aod_x_total", "counter", "Things.\nWith a \\ in it.");
	aod_prom_u64(w, "aod_x_total", (const char *[]){ "a", "1", "b", "two", NULL },
		     18446744073709551615ULL);
	aod_prom_u64(w, "aod_x_total", NULL, 0);
	aod_prom_family(w, "aod_g", "gauge", "G.");
	aod_prom_double(w, "aod_g", NULL, 0.25);
	aod_prom_double(w, "aod_g", (const char *[]){ "k", "v", NULL }, INFINITY);
	assert_int_equal(aod_prom_error(w), 0);
	assert_string_equal(w->buf,
			    "# HELP aod_x_total Things.\\nWith a \\\\ in it.\n"
			    "# TYPE aod_x_total counter\n"
			    "aod_x_total{a=\"1\",b=\"two\"} 18446744073709551615\n"
			    "aod_x_total 0\n"
			    "# HELP aod_g G.\n"
			    "# TYPE aod_g gauge\n"
			    "aod_g 0.25\n"
			    "aod_g{k=\"v\"} +Inf\n");
	assert_int_equal(strlen(w->buf), w->len);
	aod_prom_reset(w);
	assert_int_equal(w->len, 0);
}

static void escaped(struct aod_prom *w, const char *in, const char *want)
{
	aod_prom_reset(w);
	aod_prom_escape(w, in);
	assert_string_equal(w->buf, want);
}

static void test_label_escaping(void **st)
{
	struct aod_prom *w = *st;

	escaped(w, "plain", "plain");
	escaped(w, "a\\b", "a\\\\b");
	escaped(w, "say \"hi\"", "say \\\"hi\\\"");
	escaped(w, "two\nlines", "two\\nlines");
	/* other control characters and bytes that are not UTF-8 become \xNN text */
	escaped(w, "\x1b[31mred", "\\\\x1b[31mred");
	escaped(w, "tab\there\x7f", "tab\\\\x09here\\\\x7f");
	escaped(w, "bad\xff\xfe", "bad\\\\xff\\\\xfe");
	escaped(w, "\xc3(", "\\\\xc3(");          /* truncated sequence */
	escaped(w, "\xed\xa0\x80", "\\\\xed\\\\xa0\\\\x80"); /* UTF-16 surrogate */
	escaped(w, "\xc0\xaf", "\\\\xc0\\\\xaf"); /* overlong '/' */
	/* valid UTF-8 passes through */
	escaped(w, "\\\\srv\\share-\xc3\xa9t\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x92\xbe",
		"\\\\\\\\srv\\\\share-\xc3\xa9t\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x92\xbe");
}

static void test_format_double(void **st)
{
	char b[40];

	(void)st;
	aod_prom_format_double(0.1, b, sizeof(b));
	assert_string_equal(b, "0.1");
	aod_prom_format_double(1.999e-06, b, sizeof(b));
	assert_string_equal(b, "1.999e-06");
	aod_prom_format_double(NAN, b, sizeof(b));
	assert_string_equal(b, "NaN");
	aod_prom_format_double(-INFINITY, b, sizeof(b));
	assert_string_equal(b, "-Inf");
	aod_prom_format_double(1.0 / 3.0, b, sizeof(b));
	assert_true(strtod(b, NULL) == 1.0 / 3.0);
}

static void test_histogram_lines(void **st)
{
	struct aod_prom *w = *st;
	struct aod_prom_hist h = {
		.nbuckets = 3, .le = { 0.001, 0.01, 0.1 }, .cum = { 1, 1, 5 }, .count = 7, .sum = 2.5,
	};

	aod_prom_family(w, "aod_h_seconds", "histogram", "H.");
	aod_prom_histogram(w, "aod_h_seconds", (const char *[]){ "op", "read", NULL }, &h);
	assert_string_equal(w->buf,
			    "# HELP aod_h_seconds H.\n"
			    "# TYPE aod_h_seconds histogram\n"
			    "aod_h_seconds_bucket{op=\"read\",le=\"0.001\"} 1\n"
			    "aod_h_seconds_bucket{op=\"read\",le=\"0.01\"} 1\n"
			    "aod_h_seconds_bucket{op=\"read\",le=\"0.1\"} 5\n"
			    "aod_h_seconds_bucket{op=\"read\",le=\"+Inf\"} 7\n"
			    "aod_h_seconds_sum{op=\"read\"} 2.5\n"
			    "aod_h_seconds_count{op=\"read\"} 7\n");
}

/* The kernel side: ns -> whole us -> slot, as hist_inc() in common.bpf.h does. */
static void kernel_add(struct aod_hist *h, uint64_t ns)
{
	h->slots[aod_hist_slot(ns / 1000)]++;
	h->sum_ns += ns;
}

static void test_log2_bounds(void **st)
{
	(void)st;
	/* slot i holds whole us 2^i .. 2^(i+1)-1, so its largest latency is
	 * 2^(i+1) us - 1 ns: slot 0 up to 1.999 us, slot 9 up to 1.023999 ms */
	assert_true(aod_log2hist_le_seconds(0) == 1999e-9);
	assert_true(aod_log2hist_le_seconds(9) == 1023999e-9);
	assert_string_equal(aod_log2hist_le_text(9), "0.001023999");
	assert_string_equal(aod_log2hist_le_text(AOD_HIST_SLOTS - 1), "+Inf");
	for (unsigned i = 0; i < AOD_HIST_SLOTS - 1; i++) {
		uint64_t top_ns = (2ULL << i) * 1000 - 1;

		assert_true(aod_log2hist_le_seconds(i) == (double)top_ns / 1e9);
		/* the precomputed text reads back to the same bound */
		assert_true(strtod(aod_log2hist_le_text(i), NULL) == (double)top_ns / 1e9);
		/* the largest latency of the slot lands in it, the next ns does not */
		assert_int_equal(aod_hist_slot(top_ns / 1000), i);
		assert_int_equal(aod_hist_slot((top_ns + 1) / 1000), i + 1);
	}
}

static void test_log2_cumulative(void **st)
{
	/* latencies around every bucket bound, plus a spread, plus huge ones */
	uint64_t *lat = malloc(4096 * sizeof(*lat));
	struct aod_prom_hist p;
	struct aod_hist h;
	size_t n = 0;

	(void)st;
	memset(&h, 0, sizeof(h));
	for (unsigned i = 0; i < AOD_HIST_SLOTS; i++) {
		uint64_t b = (2ULL << i) * 1000;

		lat[n++] = b - 1;
		lat[n++] = b;
		lat[n++] = b + 1;
	}
	for (uint64_t v = 0; v < 3000000; v += 2917)
		lat[n++] = v;
	lat[n++] = UINT64_MAX / 2;
	for (size_t i = 0; i < n; i++)
		kernel_add(&h, lat[i]);
	aod_log2hist_to_prom(&h, &p);
	assert_int_equal(p.nbuckets, AOD_HIST_SLOTS - 1);
	assert_int_equal(p.count, n);
	for (size_t b = 0; b < p.nbuckets; b++) {
		uint64_t want = 0;

		for (size_t i = 0; i < n; i++)
			want += lat[i] <= (uint64_t)llround(p.le[b] * 1e9);
		assert_int_equal(p.cum[b], want);
		if (b)
			assert_true(p.le[b] > p.le[b - 1]);
	}
	free(lat);
}

static void test_log2_sum_exact(void **st)
{
	struct aod_prom_hist p;
	struct aod_hist h;

	(void)st;
	memset(&h, 0, sizeof(h));
	kernel_add(&h, 999);        /* slot 0 */
	kernel_add(&h, 1500123);    /* slot 10 */
	kernel_add(&h, 1500123);
	kernel_add(&h, 5000000000000ULL); /* open-ended last slot */
	/* the kernel's exact sum, not a bucket midpoint estimate */
	assert_true(fabs(aod_log2hist_sum_seconds(&h) -
			 (999e-9 + 2 * 1500123e-9 + 5000.0)) < 1e-9);
	aod_log2hist_to_prom(&h, &p);
	assert_true(p.sum == aod_log2hist_sum_seconds(&h));
}

static void test_series_table(void **st)
{
	struct aod_series_table *t = malloc(sizeof(*t));
	struct aod_series out[AOD_SERIES_MAX];
	uint64_t dropped = 99;
	char name[16];

	(void)st;
	aod_series_init(t, 3);
	assert_int_equal(aod_series_add(t, "lat", "smb", "latency", 1), 0);
	assert_int_equal(aod_series_add(t, "lat", "smb", "latency", 2), 0);
	assert_int_equal(aod_series_add(t, "err", "smb", NULL, 1), 0);
	assert_int_equal(aod_series_add(t, "blk", "block", "latency", 0), 0);
	/* full: new label sets are refused, each distinct one counted once */
	assert_int_equal(aod_series_add(t, "x", NULL, NULL, 5), -ENOSPC);
	assert_int_equal(aod_series_add(t, "x", NULL, NULL, 5), -ENOSPC);
	assert_int_equal(aod_series_add(t, "y", NULL, NULL, 1), -ENOSPC);
	/* existing ones still count */
	assert_int_equal(aod_series_add(t, "err", "smb", "", 4), 0);
	assert_int_equal(aod_series_copy(t, out, AOD_SERIES_MAX, &dropped), 3);
	assert_int_equal(dropped, 2);
	assert_string_equal(out[0].v[0], "lat");
	assert_int_equal(out[0].value, 3);
	assert_string_equal(out[1].v[2], "");
	assert_int_equal(out[1].value, 5);
	assert_int_equal(out[2].value, 0);
	assert_int_equal(aod_series_copy(t, out, 1, NULL), 1);
	/* each new name counts once; past what the table can remember (256
	 * hashes, 2 used by x and y) every refusal counts, but r0 is remembered */
	for (int i = 0; i < AOD_SERIES_REFUSED_MAX + 10; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		aod_series_add(t, name, NULL, NULL, 1);
	}
	aod_series_add(t, "r0", NULL, NULL, 1);
	aod_series_add(t, "r0", NULL, NULL, 1);
	aod_series_copy(t, out, AOD_SERIES_MAX, &dropped);
	assert_int_equal(dropped, 2 + AOD_SERIES_REFUSED_MAX + 10);
	aod_series_destroy(t);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_family_and_samples, setup_writer, teardown_writer),
		cmocka_unit_test_setup_teardown(test_label_escaping, setup_writer, teardown_writer),
		cmocka_unit_test(test_format_double),
		cmocka_unit_test_setup_teardown(test_histogram_lines, setup_writer, teardown_writer),
		cmocka_unit_test(test_log2_bounds),
		cmocka_unit_test(test_log2_cumulative),
		cmocka_unit_test(test_log2_sum_exact),
		cmocka_unit_test(test_series_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
