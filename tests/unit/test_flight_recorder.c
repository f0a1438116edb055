// SPDX-License-Identifier: MIT
/* The flight recorder: walks by time range in chunks, and its loss counts,
 * checked against how many events the test itself put in and how many the
 * capacity must have pushed out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/flight_recorder.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define T0 (1000 * SEC) /* a multiple of the 100 ms loss step */

static struct aod_event ev_at(uint64_t mono, uint32_t n)
{
	struct aod_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = AOD_EVENT_BLK_SLOW;
	ev.mono_ns = mono;
	ev.blk.sector = n;
	return ev;
}

struct walk {
	uint64_t next_sector;
	unsigned visited, out_of_order;
	struct aod_flight_recorder *fr;
	unsigned add_per_visit, adds_left;
	uint64_t add_mono;
};

static int visit(void *ctx, const struct aod_event *ev)
{
	struct walk *w = ctx;

	if (ev->blk.sector < w->next_sector)
		w->out_of_order++;
	w->next_sector = ev->blk.sector + 1;
	w->visited++;
	/* the dispatcher keeps adding while a bundle reads: overwrite under the walk */
	for (unsigned i = 0; i < w->add_per_visit && w->adds_left; i++, w->adds_left--) {
		struct aod_event e = ev_at(w->add_mono, 0);

		aod_flight_recorder_add(w->fr, &e);
	}
	return 0;
}

static void test_walk_range(void **state)
{
	struct aod_flight_recorder *fr = aod_flight_recorder_new(1000, 60 * SEC);
	struct walk w = { 0 };
	uint64_t lost = 99;

	(void)state;
	for (uint32_t i = 0; i < 500; i++) {
		struct aod_event e = ev_at(T0 + i * MS, i);

		aod_flight_recorder_add(fr, &e);
	}
	w.next_sector = 100;
	assert_int_equal(aod_flight_recorder_foreach(fr, T0 + 100 * MS, T0 + 300 * MS, visit, &w,
						     &lost), 201);
	assert_int_equal(w.visited, 201);
	assert_int_equal(w.out_of_order, 0);
	assert_int_equal(lost, 0);
	assert_int_equal(aod_flight_recorder_overwritten(fr), 0);
	aod_flight_recorder_free(fr);
}

static void test_lost_before_walk(void **state)
{
	struct aod_flight_recorder *fr = aod_flight_recorder_new(100, 60 * SEC);
	struct walk w = { 0 };
	uint64_t lost = 0;

	(void)state;
	/* 250 events 1 ms apart into 100 places: events 0..149 are pushed out */
	for (uint32_t i = 0; i < 250; i++) {
		struct aod_event e = ev_at(T0 + i * MS, i);

		aod_flight_recorder_add(fr, &e);
	}
	assert_int_equal(aod_flight_recorder_overwritten(fr), 150);
	/* [100 ms, 249 ms]: 150 events happened; 100..149 were pushed out */
	w.next_sector = 150;
	assert_int_equal(aod_flight_recorder_foreach(fr, T0 + 100 * MS, T0 + 249 * MS, visit, &w,
						     &lost), 100);
	assert_int_equal(lost, 50);
	assert_int_equal(w.visited + lost, 150);
	/* the whole range: all 150 pushed out are counted */
	assert_int_equal(aod_flight_recorder_lost(fr, T0, T0 + 249 * MS), 150);
	/* a range with no loss */
	assert_int_equal(aod_flight_recorder_lost(fr, T0 + 200 * MS, T0 + 249 * MS), 0);
	aod_flight_recorder_free(fr);
}

static void test_lost_during_walk(void **state)
{
	struct aod_flight_recorder *fr = aod_flight_recorder_new(300, 3600 * SEC);
	struct walk w = { .add_per_visit = 3, .adds_left = 600 };
	uint64_t lost = 0;

	(void)state;
	w.fr = fr;
	w.add_mono = T0 + 10 * SEC;
	for (uint32_t i = 0; i < 300; i++) {
		struct aod_event e = ev_at(T0 + i * MS, i);

		aod_flight_recorder_add(fr, &e);
	}
	/* every event ever added is in the range: each is either visited or lost */
	aod_flight_recorder_foreach(fr, 0, T0 + 20 * SEC, visit, &w, &lost);
	assert_int_equal(w.adds_left, 0);
	assert_true(lost > 0);
	assert_int_equal(w.visited + lost, 300 + 600);
	aod_flight_recorder_free(fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_range),
		cmocka_unit_test(test_lost_before_walk),
		cmocka_unit_test(test_lost_during_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
