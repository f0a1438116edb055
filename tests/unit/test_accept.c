// SPDX-License-Identifier: MIT
/* Accept-Encoding (serve/accept.h): when /metrics goes out gzipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "serve/accept.h"

static bool gz(const char *v)
{
	return aod_accepts_gzip(v, v ? strlen(v) : 0);
}

static void test_accept_gzip(void **st)
{
	(void)st;
	assert_false(gz(NULL));
	assert_false(gz(""));
	assert_true(gz("gzip"));                       /* Prometheus */
	assert_true(gz("gzip, deflate, br"));
	assert_true(gz("deflate, GZip"));
	assert_true(gz(" \tgzip ; q = 0.5 "));
	assert_true(gz("gzip;q=1.000"));
	assert_true(gz("gzip;q=0.001"));
	assert_true(gz("gzip;q=0.55"));                /* two nonzero digits (the fuzzer's find) */
	assert_true(gz("*;Q=0.999"));
	assert_true(gz("gzip;level=0"));               /* not a weight */
	assert_false(gz("gzip;q=0"));
	assert_false(gz("gzip;Q=0.000"));
	assert_false(gz("deflate"));
	assert_false(gz("x-gzip"));
	assert_false(gz("gzipx"));
	assert_true(gz("*"));                          /* anything */
	assert_true(gz("deflate, *;q=0.1"));
	assert_false(gz("gzip;q=0, *"));               /* gzip named: it decides */
	assert_false(gz("*;q=0"));
	assert_false(gz("gzip;q=1.5"));                /* not a qvalue: ignored */
	assert_false(gz("gzip;q=0.0001"));
	assert_false(gz("gzip;q=nan"));
	assert_true(gz("gzip;q=2, gzip"));             /* the invalid one ignored */
	assert_false(gz(",,;,"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_gzip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
