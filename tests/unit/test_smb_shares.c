// SPDX-License-Identifier: MIT
/* Tree id -> share name, from a real /proc/fs/cifs/DebugData (Debian's 6.1 in
 * the SMB VM) and from files that change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe/smb_shares.h"

static char *slurp(const char *name, size_t *len)
{
	const char *top = getenv("AOD_TOP");
	char path[4096];
	FILE *f;
	char *buf;

	snprintf(path, sizeof(path), "%s/tests/data/%s", top ? top : ".", name);
	f = fopen(path, "r");
	assert_non_null(f);
	buf = calloc(1, 1 << 16);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	return buf;
}

static void test_parse_real_debugdata(void **state)
{
	struct aod_smb_share v[8];
	size_t len, n;
	char *text = slurp("cifs-DebugData.txt", &len);

	(void)state;
	n = aod_smb_shares_parse(text, len, v, 8);
	/* ground truth: the file itself lists three shares under one session */
	assert_int_equal(n, 3);
	assert_true(v[0].sesid == 0xd3484dc && v[0].tid == 0x1f03634);
	assert_string_equal(v[0].name, "\\\\127.0.0.1\\IPC$");
	assert_true(v[1].tid == 0x1219db5);
	assert_string_equal(v[1].name, "\\\\127.0.0.1\\ro");
	assert_true(v[2].sesid == 0xd3484dc && v[2].tid == 0xbc70bb04);
	assert_string_equal(v[2].name, "\\\\127.0.0.1\\share");
	/* truncated anywhere: never more than there is, never garbage */
	for (size_t cut = 0; cut < len; cut += 7) {
		n = aod_smb_shares_parse(text, cut, v, 8);
		assert_true(n <= 3);
		for (size_t i = 0; i < n; i++)
			assert_true(v[i].name[0] == '\\' && v[i].name[1] == '\\');
	}
	free(text);
}

static void test_cache_rereads(void **state)
{
	char path[] = "/tmp/aod-test-debugdata.XXXXXX", buf[AOD_SHARE_NAME_LEN];
	int fd = mkstemp(path);
	struct aod_smb_shares *s;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	s = aod_smb_shares_new(path);
	assert_non_null(s);
	assert_int_equal(aod_smb_share_name(s, 5, 0x10, buf, sizeof(buf)), -ENOENT);
	assert_string_equal(buf, "");
	/* a share mounted later: found once a second has passed */
	f = fopen(path, "w");
	fputs("\tSessions:\n\t1) Address: 10.0.0.2 Uses: 1 Capability: 0x300047\tSession Status: 1\n"
	      "\tSecurity type: RawNTLMSSP  SessionId: 0x5\n\n\tShares:\n"
	      "\t1) \\\\files\\data Mounts: 1 DevInfo: 0x20 Attributes: 0x1006f\n"
	      "\tPathComponentMax: 255 Status: 1 type: DISK Serial Number: 0x1\n"
	      "\ttid: 0x10\tMaximal Access: 0x1f01ff\n", f);
	fclose(f);
	sleep(1);
	usleep(100000);
	assert_int_equal(aod_smb_share_name(s, 5, 0x10, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "\\\\files\\data");
	assert_int_equal(aod_smb_share_name(s, 0, 0x10, buf, sizeof(buf)), 0); /* any session */
	assert_int_equal(aod_smb_share_name(s, 6, 0x10, buf, sizeof(buf)), -ENOENT);
	aod_smb_shares_free(s);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_real_debugdata),
		cmocka_unit_test(test_cache_rereads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
