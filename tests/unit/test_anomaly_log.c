// SPDX-License-Identifier: MIT
/* anomalies.jsonl: appended whole lines, rotated so that the log and its
 * rotations never take more than the configured bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/anomaly_log.h"

static uint64_t file_size(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

static void test_rotation_bounds_the_log(void **state)
{
	char dir[] = "/tmp/aod-test-alog-XXXXXX", line[200], path[512];
	struct aod_anomaly_log l;
	uint64_t max = 4000, written = 0;
	FILE *f;
	int lines = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	aod_anomaly_log_init(&l);
	aod_anomaly_log_configure(&l, dir, max);
	memset(line, 'x', sizeof(line));
	for (int i = 0; i < 200; i++) {
		int len = snprintf(line, sizeof(line), "{\"n\":%d,\"pad\":\"%0120d\"}", i, 0);

		assert_int_equal(aod_anomaly_log_append(&l, line, (size_t)len), 0);
		written += (uint64_t)len + 1;
		assert_true(aod_anomaly_log_bytes(dir) <= max);
	}
	assert_true(written > 4 * max); /* it did have to rotate, many times */
	assert_true(l.rotations > 5);
	assert_true(file_size(dir, "anomalies.jsonl.3") > 0);
	assert_int_equal(file_size(dir, "anomalies.jsonl.4"), 0);
	/* the newest line is the last of the live file, whole */
	snprintf(path, sizeof(path), "%s/anomalies.jsonl", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		assert_non_null(strchr(line, '\n'));
		lines++;
	}
	fclose(f);
	assert_true(lines >= 1);
	assert_non_null(strstr(line, "\"n\":199,"));
	aod_anomaly_log_close(&l);
	for (int g = 0; g <= 3; g++) {
		snprintf(path, sizeof(path), g ? "%s/anomalies.jsonl.%d" : "%s/anomalies.jsonl", dir, g);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotation_bounds_the_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
