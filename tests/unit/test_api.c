// SPDX-License-Identifier: MIT
/* The HTTP API's pieces without a server: the token file (created 0600, read back, refused
 * when readable by others, a symlink, or not one line of printable ASCII), the constant-time
 * comparison, and text that is not UTF-8 becoming valid JSON. */
#include <errno.h>
#include <fcntl.h>
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

#include "serve/api_int.h"

static char dir[] = "/tmp/aod-test-api.XXXXXX";

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_token_created_0600(void **state)
{
	char path[PATH_MAX], tok[API_TOKEN_MAX + 1], again[API_TOKEN_MAX + 1], why[256];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/new.token", dir);
	assert_int_equal(api_token_load(path, tok, why, sizeof(why)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(strlen(tok), API_TOKEN_HEX);
	assert_int_equal(strspn(tok, "0123456789abcdef"), API_TOKEN_HEX);
	/* the second start reads the same token */
	assert_int_equal(api_token_load(path, again, why, sizeof(why)), 0);
	assert_string_equal(tok, again);
	unlink(path);
	/* a new file is a new token */
	assert_int_equal(api_token_load(path, again, why, sizeof(why)), 0);
	assert_string_not_equal(tok, again);
	unlink(path);
}

static void test_token_refused(void **state)
{
	char path[PATH_MAX], link[PATH_MAX], tok[API_TOKEN_MAX + 1], why[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/own.token", dir);
	put(path, "my-own-token-of-some-length\n", 0600);
	assert_int_equal(api_token_load(path, tok, why, sizeof(why)), 0);
	assert_string_equal(tok, "my-own-token-of-some-length");

	put(path, "my-own-token-of-some-length\n", 0640);
	assert_int_equal(api_token_load(path, tok, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "0640"));

	put(path, "short\n", 0600);
	assert_int_equal(api_token_load(path, tok, why, sizeof(why)), -EINVAL);
	put(path, "two words are not one token\n", 0600);
	assert_int_equal(api_token_load(path, tok, why, sizeof(why)), -EINVAL);
	put(path, "", 0600);
	assert_int_equal(api_token_load(path, tok, why, sizeof(why)), -EINVAL);

	snprintf(link, sizeof(link), "%s/link.token", dir);
	put(path, "my-own-token-of-some-length\n", 0600);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(api_token_load(link, tok, why, sizeof(why)), -ELOOP);
	unlink(link);
	unlink(path);

	snprintf(path, sizeof(path), "%s/no/such/dir/x.token", dir);
	assert_int_equal(api_token_load(path, tok, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "cannot create"));
}

static void test_same(void **state)
{
	(void)state;
	assert_true(api_same("abcdef0123456789", "abcdef0123456789"));
	assert_false(api_same("abcdef0123456788", "abcdef0123456789"));
	assert_false(api_same("abcdef012345678", "abcdef0123456789"));
	assert_false(api_same("abcdef01234567890", "abcdef0123456789"));
	assert_false(api_same("", "abcdef0123456789"));
	assert_false(api_same("abc", ""));
	assert_true(api_same("", ""));
}

static void test_json_text(void **state)
{
	json_t *j;
	char *dump;

	(void)state;
	j = api_json_text("plain\ttext\n", 11);
	assert_string_equal(json_string_value(j), "plain\ttext\n");
	json_decref(j);
	/* a bad byte, a truncated sequence, a NUL: each one U+FFFD, the rest kept */
	j = api_json_text("a\xff" "b\xc3" "\0c\xc3\xa9", 8);
	assert_non_null(j);
	assert_string_equal(json_string_value(j), "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xc3\xa9");
	dump = json_dumps(j, JSON_ENCODE_ANY);
	assert_non_null(dump);
	free(dump);
	json_decref(j);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_created_0600),
		cmocka_unit_test(test_token_refused),
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_json_text),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
