// SPDX-License-Identifier: MIT
/* Histogram bucket math shared by the BPF probes and user space. */
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
#include "probe/hist.h"

static void test_slot_small_values(void **state)
{
	(void)state;
	/* slot 0 holds 0 and 1, then one slot per power of two */
	assert_int_equal(aod_hist_slot(0), 0);
	assert_int_equal(aod_hist_slot(1), 0);
	assert_int_equal(aod_hist_slot(2), 1);
	assert_int_equal(aod_hist_slot(3), 1);
	assert_int_equal(aod_hist_slot(4), 2);
	assert_int_equal(aod_hist_slot(5), 2);
	assert_int_equal(aod_hist_slot(7), 2);
	assert_int_equal(aod_hist_slot(8), 3);
	assert_int_equal(aod_hist_slot(1000), 9);   /* 1 ms: 512..1023 */
	assert_int_equal(aod_hist_slot(1024), 10);
}

static void test_slot_every_power_of_two(void **state)
{
	(void)state;
	for (unsigned i = 1; i < AOD_HIST_SLOTS - 1; i++) {
		uint64_t p = 1ULL << i;

		assert_int_equal(aod_hist_slot(p - 1), i - 1);
		assert_int_equal(aod_hist_slot(p), i);
		assert_int_equal(aod_hist_slot(2 * p - 1), i);
	}
}

static void test_slot_clamp(void **state)
{
	(void)state;
	assert_int_equal(aod_hist_slot((1ULL << 31) - 1), 30);
	assert_int_equal(aod_hist_slot(1ULL << 31), AOD_HIST_SLOTS - 1);
	assert_int_equal(aod_hist_slot(1ULL << 32), AOD_HIST_SLOTS - 1);  /* high word path */
	assert_int_equal(aod_hist_slot(1ULL << 40), AOD_HIST_SLOTS - 1);
	assert_int_equal(aod_hist_slot(UINT64_MAX), AOD_HIST_SLOTS - 1);
	assert_int_equal(aod_log2_u64(1ULL << 32), 32);
	assert_int_equal(aod_log2_u64(UINT64_MAX), 63);
	assert_int_equal(aod_log2_u32(UINT32_MAX), 31);
}

static void test_slot_bounds_agree_with_slot(void **state)
{
	(void)state;
	assert_int_equal(aod_hist_slot_lo_us(0), 0);
	assert_int_equal(aod_hist_slot_hi_us(0), 1);
	assert_int_equal(aod_hist_slot_lo_us(1), 2);
	assert_int_equal(aod_hist_slot_hi_us(1), 3);
	assert_int_equal(aod_hist_slot_lo_us(3), 8);
	assert_int_equal(aod_hist_slot_hi_us(3), 15);
	assert_true(aod_hist_slot_hi_us(AOD_HIST_SLOTS - 1) == UINT64_MAX);
	for (unsigned s = 0; s < AOD_HIST_SLOTS; s++) {
		assert_int_equal(aod_hist_slot(aod_hist_slot_lo_us(s)), s);
		assert_int_equal(aod_hist_slot(aod_hist_slot_hi_us(s)), s);
		if (s + 1 < AOD_HIST_SLOTS)
			assert_true(aod_hist_slot_hi_us(s) + 1 == aod_hist_slot_lo_us(s + 1));
	}
}

static void test_total_merge(void **state)
{
	struct aod_hist a = { 0 }, b = { 0 };

	(void)state;
	a.slots[0] = 1;
	a.slots[5] = 2;
	b.slots[5] = 3;
	b.slots[AOD_HIST_SLOTS - 1] = 4;
	assert_int_equal(aod_hist_total(&a), 3);
	aod_hist_merge(&a, &b);
	assert_int_equal(aod_hist_total(&a), 10);
	assert_int_equal(a.slots[5], 5);
	assert_int_equal(a.slots[AOD_HIST_SLOTS - 1], 4);
}

static void test_percentile(void **state)
{
	struct aod_hist h = { 0 };

	(void)state;
	assert_true(aod_hist_percentile_us(&h, 50) < 0); /* empty */
	h.slots[3] = 10;                                 /* 10 samples in [8, 16) */
	assert_true(aod_hist_percentile_us(&h, -1) < 0);
	assert_true(aod_hist_percentile_us(&h, 101) < 0);
	assert_true(fabs(aod_hist_percentile_us(&h, 0) - 8.0) < 1e-9);
	assert_true(fabs(aod_hist_percentile_us(&h, 50) - 12.0) < 1e-9);
	assert_true(fabs(aod_hist_percentile_us(&h, 100) - 16.0) < 1e-9);

	/* 90 fast samples (slot 0) and 10 slow ones (slot 10: [1024, 2048)) */
	memset(&h, 0, sizeof(h));
	h.slots[0] = 90;
	h.slots[10] = 10;
	assert_true(aod_hist_percentile_us(&h, 50) < 2.0);
	assert_true(fabs(aod_hist_percentile_us(&h, 90) - 2.0) < 1e-9);   /* end of slot 0 */
	assert_true(fabs(aod_hist_percentile_us(&h, 95) - 1536.0) < 1e-9); /* middle of slot 10 */
	assert_true(fabs(aod_hist_percentile_us(&h, 99) - (1024.0 + 0.9 * 1024.0)) < 1e-9);

	/* the open-ended last slot reports its lower bound */
	memset(&h, 0, sizeof(h));
	h.slots[AOD_HIST_SLOTS - 1] = 1;
	assert_true(aod_hist_percentile_us(&h, 99) ==
		    (double)aod_hist_slot_lo_us(AOD_HIST_SLOTS - 1));
}

static void test_print(void **state)
{
	struct aod_hist h = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	h.slots[2] = 4;
	h.slots[4] = 8;
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(aod_hist_print(&h, "usecs", f), 0);
	fclose(f);
	assert_non_null(strstr(text, "usecs"));
	assert_non_null(strstr(text, "4 -> 7"));
	assert_non_null(strstr(text, "8 -> 15"));   /* empty slot between is shown */
	assert_non_null(strstr(text, "16 -> 31"));
	assert_null(strstr(text, "2 -> 3"));        /* leading zero slots are not */
	assert_null(strstr(text, "32 -> 63"));      /* nor trailing ones */
	assert_non_null(strstr(text, "|****************************************|"));
	free(text);

	memset(&h, 0, sizeof(h));
	text = NULL;
	f = open_memstream(&text, &len);
	assert_int_equal(aod_hist_print(&h, NULL, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "no samples"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_small_values),
		cmocka_unit_test(test_slot_every_power_of_two),
		cmocka_unit_test(test_slot_clamp),
		cmocka_unit_test(test_slot_bounds_agree_with_slot),
		cmocka_unit_test(test_total_merge),
		cmocka_unit_test(test_percentile),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
