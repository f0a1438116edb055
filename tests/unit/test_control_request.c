// SPDX-License-Identifier: MIT
/* The control socket's request line (agent/control_request.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "agent/control_request.h"

static int parse(const char *buf, size_t len, enum aod_control_req *req, char *err)
{
	return aod_control_parse_request(buf, len, req, err, 128);
}

static void accepts(const char *buf, size_t len, enum aod_control_req want)
{
	enum aod_control_req req = (enum aod_control_req)-1;
	char err[128] = "";

	if (parse(buf, len, &req, err))
		fail_msg("'%.*s' rejected: %s", (int)len, buf, err);
	assert_int_equal(req, want);
}

static void rejects(const char *buf, size_t len, const char *want)
{
	enum aod_control_req req;
	char err[128] = "";

	assert_int_equal(parse(buf, len, &req, err), -EINVAL);
	assert_string_equal(err, want);
}

#define S(lit) lit, sizeof(lit) - 1

static void test_requests(void **state)
{
	accepts(S("status\n"), AOD_CONTROL_STATUS);
	accepts(S("status\r\n"), AOD_CONTROL_STATUS);
	accepts(S("status"), AOD_CONTROL_STATUS);
	accepts(S("snapshot\n"), AOD_CONTROL_SNAPSHOT);
	accepts(S("snapshot\nanything after the line"), AOD_CONTROL_SNAPSHOT);
	accepts(S("hist\n"), AOD_CONTROL_HIST);
}

static void test_errors(void **state)
{
	char longline[AOD_CONTROL_REQUEST_MAX + 1];

	rejects("", 0, "expected a request line: status | snapshot | hist");
	rejects(S("\r\n"), "expected a request line: status | snapshot | hist");
	rejects(S("stat\n"), "unknown request; expected status | snapshot | hist");
	rejects(S("statuss\n"), "unknown request; expected status | snapshot | hist");
	rejects(S("status\r\r\n"), "unknown request; expected status | snapshot | hist");
	rejects(S("status \n"), "unknown request; expected status | snapshot | hist");
	rejects(S("STATUS\n"), "unknown request; expected status | snapshot | hist");
	rejects(S("status\0junk\n"), "request contains a NUL byte; expected status | snapshot | hist");
	memset(longline, 'x', sizeof(longline));
	rejects(longline, AOD_CONTROL_REQUEST_MAX, "request line too long; expected status | snapshot | hist");
	memcpy(longline, "status", 6);
	rejects(longline, AOD_CONTROL_REQUEST_MAX, "request line too long; expected status | snapshot | hist");
	longline[AOD_CONTROL_REQUEST_MAX] = '\n';
	rejects(longline, sizeof(longline), "request line too long; expected status | snapshot | hist");
	/* a line of exactly AOD_CONTROL_REQUEST_MAX bytes, newline included, is not too long */
	longline[AOD_CONTROL_REQUEST_MAX - 1] = '\n';
	rejects(longline, AOD_CONTROL_REQUEST_MAX, "unknown request; expected status | snapshot | hist");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
