// SPDX-License-Identifier: MIT
/*
 * A cmocka program for tests/runner/selftest.sh: real cmocka output for each verdict the
 * runner has to count. FAKE selects the case list: unset: pass, skip, two failures, a
 * failed setup, a caught crash; "die": a case that exits mid-way; "hang": one that never
 * returns; "group": a failing group setup; "exit": all pass but main returns 1.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void t_pass(void **state) { (void)state; }

static void t_skip(void **state)
{
	(void)state;
	printf("SKIP: t_skip: no frobnicator here\n");
	skip();
}

static void t_fail(void **state)
{
	(void)state;
	printf("# about to fail\n");
	assert_int_equal(1, 2);
}

static void t_failmsg(void **state)
{
	(void)state;
	fail_msg("custom reason %d", 3);
}

static int bad_setup(void **state)
{
	(void)state;
	return -1;
}

static void t_setupfail(void **state) { (void)state; }

static void t_segv(void **state)
{
	(void)state;
	raise(SIGSEGV);
}

static void t_die(void **state)
{
	(void)state;
	fflush(stdout);
	_exit(3);
}

static void t_hang(void **state)
{
	(void)state;
	for (;;)
		pause();
}

int main(void)
{
	const char *mode = getenv("FAKE") ? getenv("FAKE") : "";
	const struct CMUnitTest all[] = {
		cmocka_unit_test(t_pass),
		cmocka_unit_test(t_skip),
		cmocka_unit_test(t_fail),
		cmocka_unit_test(t_failmsg),
		cmocka_unit_test_setup(t_setupfail, bad_setup),
		cmocka_unit_test(t_segv),
	};
	const struct CMUnitTest die[] = { cmocka_unit_test(t_pass), cmocka_unit_test(t_die) };
	const struct CMUnitTest hang[] = { cmocka_unit_test(t_pass), cmocka_unit_test(t_hang) };
	const struct CMUnitTest one[] = { cmocka_unit_test(t_pass) };

	if (!strcmp(mode, "die"))
		return cmocka_run_group_tests(die, NULL, NULL);
	if (!strcmp(mode, "hang"))
		return cmocka_run_group_tests(hang, NULL, NULL);
	if (!strcmp(mode, "group"))
		return cmocka_run_group_tests(one, bad_setup, NULL);
	if (!strcmp(mode, "exit"))
		return cmocka_run_group_tests(one, NULL, NULL) + 1;
	return cmocka_run_group_tests(all, NULL, NULL);
}
