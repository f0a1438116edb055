// SPDX-License-Identifier: MIT
/* The tracked-ops table: insert, find, remove with backward shift, growth,
 * eviction of the oldest expired op, forgetting stuck ops that completed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "probe/tracked.h"

static struct aod_op_id id_of(uint64_t a, uint64_t b, uint64_t start)
{
	return (struct aod_op_id){ .a = a, .b = b, .start_ns = start };
}

static void test_insert_find_remove(void **state)
{
	struct aod_tracked t;
	struct aod_raw_event rec = { .h.pid = 7 };
	struct aod_op_id id;
	uint64_t n = 5000;

	(void)state;
	aod_tracked_init(&t, 16384);
	for (uint64_t i = 0; i < n; i++) {
		id = id_of(i % 97, i, 1000 + i);
		assert_non_null(aod_tracked_insert(&t, &id, &rec, AOD_TRACKED_STUCK));
	}
	assert_int_equal(t.n, n);
	/* inserting a present key returns it unchanged */
	id = id_of(3, 3, 1);
	assert_int_equal(aod_tracked_insert(&t, &id, &rec, AOD_TRACKED_EXPIRED)->id.start_ns, 1003);
	assert_int_equal(t.nexpired, 0);
	/* remove every other one; the rest stay findable (backward shift keeps chains) */
	for (uint64_t i = 0; i < n; i += 2)
		aod_tracked_remove(&t, aod_tracked_find(&t, i % 97, i));
	for (uint64_t i = 0; i < n; i++) {
		struct aod_tracked_op *op = aod_tracked_find(&t, i % 97, i);

		if (i % 2)
			assert_true(op && op->id.start_ns == 1000 + i && op->start.h.pid == 7);
		else
			assert_null(op);
	}
	assert_int_equal(t.n, n / 2);
	aod_tracked_free(&t);
}

static void test_expire_and_evict(void **state)
{
	struct aod_tracked t;
	struct aod_raw_event rec = { 0 };
	struct aod_tracked_op *op;
	struct aod_op_id id;

	(void)state;
	aod_tracked_init(&t, 64); /* at most 64 entries */
	for (uint64_t i = 0; i < 64; i++) {
		id = id_of(1, i, 500 - i); /* later keys started earlier */
		op = aod_tracked_insert(&t, &id, &rec, AOD_TRACKED_STUCK);
		assert_non_null(op);
		if (i >= 32)
			aod_tracked_expire(&t, op);
	}
	assert_int_equal(t.nexpired, 32);
	assert_int_equal(aod_tracked_find(&t, 1, 40)->state, AOD_TRACKED_REPORTED | AOD_TRACKED_EXPIRED);
	/* full: the oldest expired op (key 63, start 437) makes room */
	id = id_of(2, 0, 900);
	assert_non_null(aod_tracked_insert(&t, &id, &rec, AOD_TRACKED_EXPIRED));
	assert_int_equal(t.evicted, 1);
	assert_null(aod_tracked_find(&t, 1, 63));
	assert_non_null(aod_tracked_find(&t, 1, 62));
	assert_int_equal(t.nexpired, 32);
	aod_tracked_free(&t);

	/* full of stuck ops only: nothing can go, the insert fails */
	aod_tracked_init(&t, 64);
	for (uint64_t i = 0; i < 64; i++) {
		id = id_of(1, i, i);
		assert_non_null(aod_tracked_insert(&t, &id, &rec, AOD_TRACKED_STUCK));
	}
	id = id_of(3, 3, 3);
	assert_null(aod_tracked_insert(&t, &id, &rec, AOD_TRACKED_STUCK));
	aod_tracked_free(&t);
}

static void test_forget_unseen(void **state)
{
	struct aod_tracked t;
	struct aod_raw_event rec = { 0 };
	struct aod_tracked_op *op;
	struct aod_op_id id;

	(void)state;
	aod_tracked_init(&t, 1024);
	for (uint64_t i = 0; i < 300; i++) {
		id = id_of(i, i, i);
		op = aod_tracked_insert(&t, &id, &rec, AOD_TRACKED_STUCK);
		op->last_seen_ns = i % 3 ? 2000 : 1000;
		if (i % 10 == 0)
			aod_tracked_expire(&t, op); /* expired ones are never forgotten this way */
	}
	aod_tracked_forget_unseen(&t, 1500);
	for (uint64_t i = 0; i < 300; i++) {
		op = aod_tracked_find(&t, i, i);
		if (i % 10 == 0 || i % 3)
			assert_non_null(op);
		else
			assert_null(op);
	}
	aod_tracked_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_find_remove),
		cmocka_unit_test(test_expire_and_evict),
		cmocka_unit_test(test_forget_unseen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
