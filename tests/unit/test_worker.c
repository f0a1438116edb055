// SPDX-License-Identifier: MIT
/* Supervised workers: restart with backoff after a failure, fatal stops the agent. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/agent.h"
#include "common/timeutil.h"

static struct aod_agent *new_agent(void)
{
	struct aod_agent *agent = calloc(1, sizeof(*agent));

	assert_non_null(agent);
	agent->stop_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(agent->stop_eventfd >= 0);
	return agent;
}

static void free_agent(struct aod_agent *agent)
{
	close(agent->stop_eventfd);
	free(agent);
}

static _Atomic int calls;
static _Atomic uint64_t call_ns[8];

/* Fails twice, then runs until the agent stops, as a healthy worker does. */
static int flaky_worker(struct aod_agent *agent)
{
	int n = atomic_fetch_add(&calls, 1);

	if (n < 8)
		call_ns[n] = aod_mono_ns();
	if (n < 2)
		return -EIO;
	while (!aod_agent_sleep(agent, 50))
		;
	return 0;
}

static void test_restart_with_backoff(void **state)
{
	struct aod_agent *agent = new_agent();
	struct aod_worker w = { 0 };

	atomic_store(&calls, 0);
	assert_int_equal(aod_worker_start(&w, agent, "flaky", flaky_worker), 0);
	/* 1 s then 2 s of backoff before the third run */
	for (int i = 0; i < 60 && atomic_load(&calls) < 3; i++)
		usleep(100000);
	assert_int_equal(atomic_load(&calls), 3);
	assert_int_equal(atomic_load(&w.restarts), 2);
	assert_int_equal(atomic_load(&w.last_error), -EIO);
	assert_true(call_ns[1] - call_ns[0] >= 900 * AOD_NSEC_PER_MSEC);
	assert_true(call_ns[2] - call_ns[1] >= 1900 * AOD_NSEC_PER_MSEC);
	aod_agent_request_stop(agent, 0);
	aod_worker_join(&w);
	assert_int_equal(atomic_load(&agent->exit_code), 0);
	free_agent(agent);
}

static int fatal_worker(struct aod_agent *agent)
{
	return AOD_WORKER_FATAL;
}

static void test_fatal_stops_agent(void **state)
{
	struct aod_agent *agent = new_agent();
	struct aod_worker w = { 0 };

	assert_int_equal(aod_worker_start(&w, agent, "fatal", fatal_worker), 0);
	aod_worker_join(&w);
	assert_true(aod_agent_stopping(agent));
	assert_int_equal(atomic_load(&agent->exit_code), 1);
	assert_int_equal(atomic_load(&w.restarts), 0);
	free_agent(agent);
}

static int failing_worker(struct aod_agent *agent)
{
	return -EIO;
}

static void test_stop_interrupts_backoff(void **state)
{
	struct aod_agent *agent = new_agent();
	struct aod_worker w = { 0 };
	uint64_t t0;

	assert_int_equal(aod_worker_start(&w, agent, "failing", failing_worker), 0);
	usleep(3200000); /* failed at 0, 1 and 3 s: now in the 4 s backoff */
	assert_int_equal(atomic_load(&w.restarts), 3);
	t0 = aod_mono_ns();
	aod_agent_request_stop(agent, 0);
	aod_worker_join(&w);
	/* the stop cuts the backoff short instead of waiting out its 4 s */
	assert_true(aod_mono_ns() - t0 < 2 * AOD_NSEC_PER_SEC);
	free_agent(agent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_with_backoff),
		cmocka_unit_test(test_fatal_stops_agent),
		cmocka_unit_test(test_stop_interrupts_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
