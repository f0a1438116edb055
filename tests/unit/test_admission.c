// SPDX-License-Identifier: MIT
/*
 * The collector's admission state machine (collect/admission.c): coalesce,
 * suppress, start, and the finish step that frees the source and starts the
 * holdoff at once, so an anomaly arriving between "bundle contents frozen"
 * and "holdoff set" cannot start a second bundle (the race collector.c had:
 * it cleared `running` before the bundle was written and set the holdoff
 * after). Time is a parameter: no sleeps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "collect/admission.h"

#define SEC 1000000000ULL

static struct aod_anomaly anomaly(const char *rule, enum aod_source src, uint64_t id)
{
	struct aod_anomaly a;

	memset(&a, 0, sizeof(a));
	snprintf(a.rule, sizeof(a.rule), "%s", rule);
	a.source = src;
	a.id = id;
	return a;
}

static int setup(void **state)
{
	static struct aod_admission adm;

	/* init sets only the counts (the tables stay untouched, not resident):
	 * whatever the memory held before must not matter */
	memset(&adm, 0xa5, sizeof(adm));
	aod_admission_init(&adm);
	*state = &adm;
	return 0;
}

static void test_coalesce_then_finish_holds_off(void **state)
{
	struct aod_admission *adm = *state;
	struct aod_admit_handoff h;
	struct aod_anomaly a = anomaly("lat", AOD_SOURCE_BLOCK, 1);
	struct aod_anomaly b = anomaly("lat", AOD_SOURCE_BLOCK, 2);

	assert_int_equal(aod_admission_offer(adm, &a, 10 * SEC, &h), AOD_ADMIT_START);
	assert_true(aod_admission_running(adm, AOD_SOURCE_BLOCK));
	assert_int_equal(h.nsuppressed, 0);
	/* while it collects: joins it */
	assert_int_equal(aod_admission_offer(adm, &b, 11 * SEC, &h), AOD_ADMIT_COALESCE);
	/* the one step: at the very instant of finish, the same rule is held off */
	aod_admission_finish(adm, &a, 60, 12 * SEC);
	assert_false(aod_admission_running(adm, AOD_SOURCE_BLOCK));
	assert_int_equal(aod_admission_offer(adm, &b, 12 * SEC, &h), AOD_ADMIT_SUPPRESS);
	/* what the old order allowed: the bundle is still being written (no
	 * holdoff yet there), an anomaly of the rule arrives: never a START now */
	for (uint64_t t = 12; t < 72; t++)
		assert_int_equal(aod_admission_offer(adm, &b, t * SEC, &h), AOD_ADMIT_SUPPRESS);
	/* expiry: exactly at until, a new bundle, handed what was suppressed */
	assert_int_equal(aod_admission_offer(adm, &b, 72 * SEC, &h), AOD_ADMIT_START);
	assert_int_equal(h.suppressed_count, 61);
	assert_int_equal(h.nsuppressed, AOD_ADMIT_LISTED);
	assert_int_equal(h.suppressed[0].id, 2);
}

/* No call sequence leaves the source free with its rule not held off:
 * after every finish of a rule with a holdoff, offers of it suppress. */
static void test_no_gap_in_any_interleaving(void **state)
{
	struct aod_admission *adm = *state;
	struct aod_admit_handoff h;
	uint64_t t = 1000 * SEC;

	for (int round = 0; round < 50; round++) {
		struct aod_anomaly p = anomaly(round % 2 ? "r1" : "r2", AOD_SOURCE_SMB, (uint64_t)round);

		t += 100 * SEC; /* past every holdoff */
		assert_int_equal(aod_admission_offer(adm, &p, t, &h), AOD_ADMIT_START);
		for (int k = 0; k < round % 5; k++)
			assert_int_equal(aod_admission_offer(adm, &p, t, &h), AOD_ADMIT_COALESCE);
		aod_admission_finish(adm, &p, 30, t);
		assert_int_equal(aod_admission_offer(adm, &p, t, &h), AOD_ADMIT_SUPPRESS);
		assert_int_equal(aod_admission_offer(adm, &p, t + 30 * SEC - 1, &h),
				 AOD_ADMIT_SUPPRESS);
	}
}

static void test_other_rule_snapshot_and_zero_holdoff(void **state)
{
	struct aod_admission *adm = *state;
	struct aod_admit_handoff h;
	struct aod_anomaly a = anomaly("lat", AOD_SOURCE_BLOCK, 1);
	struct aod_anomaly err = anomaly("err", AOD_SOURCE_BLOCK, 2);
	struct aod_anomaly smb = anomaly("smblat", AOD_SOURCE_SMB, 3);
	struct aod_anomaly snap = anomaly("snapshot", AOD_SOURCE_MANUAL, 4);

	assert_int_equal(aod_admission_offer(adm, &a, SEC, &h), AOD_ADMIT_START);
	/* another source runs its own collection */
	assert_int_equal(aod_admission_offer(adm, &smb, SEC, &h), AOD_ADMIT_START);
	aod_admission_finish(adm, &smb, 0, SEC); /* holdoff 0 holds nothing off */
	aod_admission_finish(adm, &a, 60, 2 * SEC);
	/* another rule of the same source is not held off by this one */
	assert_int_equal(aod_admission_offer(adm, &err, 3 * SEC, &h), AOD_ADMIT_START);
	aod_admission_finish(adm, &err, 60, 3 * SEC);
	assert_int_equal(aod_admission_offer(adm, &smb, 3 * SEC, &h), AOD_ADMIT_START);
	aod_admission_finish(adm, &smb, 0, 3 * SEC);
	/* snapshots are never held off and hold nothing off */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(aod_admission_offer(adm, &snap, 4 * SEC, &h), AOD_ADMIT_START);
		aod_admission_finish(adm, &snap, 60, 4 * SEC);
	}
	assert_int_equal(aod_admission_offer(adm, &a, 4 * SEC, &h), AOD_ADMIT_SUPPRESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_coalesce_then_finish_holds_off, setup),
	    cmocka_unit_test_setup(test_no_gap_in_any_interleaving, setup),
	    cmocka_unit_test_setup(test_other_rule_snapshot_and_zero_holdoff, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
