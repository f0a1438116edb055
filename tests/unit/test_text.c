// SPDX-License-Identifier: MIT
/* Escaping text for people: control characters, C1, invalid UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/text.h"

static const char *esc(const char *in, bool nl)
{
	static char out[256];

	aod_text_escape(in, strlen(in), out, sizeof(out), nl);
	return out;
}

static void test_escapes(void **state)
{
	(void)state;
	assert_string_equal(esc("dd", false), "dd");
	/* a process named with an escape sequence that clears the screen */
	assert_string_equal(esc("\x1b[2J\x1b]0;pwned\x07", false), "\\x1b[2J\\x1b]0;pwned\\x07");
	assert_string_equal(esc("a\nb\tc\rd", false), "a\\x0ab\\x09c\\x0dd");
	assert_string_equal(esc("a\nb\tc\rd", true), "a\nb\tc\\x0dd");
	assert_string_equal(esc("del\x7f", false), "del\\x7f");
	/* UTF-8 stays; C1 controls (U+009B, CSI) and broken bytes do not */
	assert_string_equal(esc("caf\xc3\xa9 \xe2\x82\xac", false), "caf\xc3\xa9 \xe2\x82\xac");
	assert_string_equal(esc("x\xc2\x9b" "31m", false), "x\\xc2\\x9b31m");
	assert_string_equal(esc("\x9b" "31m", false), "\\x9b31m");
	assert_string_equal(esc("\xc0\xaf", false), "\\xc0\\xaf");       /* overlong '/' */
	assert_string_equal(esc("\xed\xa0\x80", false), "\\xed\\xa0\\x80"); /* a surrogate */
	assert_string_equal(esc("\xe2\x82", false), "\\xe2\\x82");       /* cut short */
	assert_string_equal(esc("\\\\srv\\share", false), "\\\\srv\\share");
	assert_false(aod_text_needs_escape("plain text", 10, false));
	assert_true(aod_text_needs_escape("bell\a", 5, false));
}

static void test_truncation(void **state)
{
	char out[8];

	(void)state;
	/* never cut inside an escape: "ab" + "\x01" (4) would need 7 bytes of 8, fits;
	 * one more does not, and is left out whole */
	assert_int_equal(aod_text_escape("ab\x01\x02", 4, out, sizeof(out), false), 10);
	assert_string_equal(out, "ab\\x01");
	assert_int_equal(aod_text_escape("abc", 2, out, sizeof(out), false), 2);
	assert_string_equal(out, "ab");
}

static void test_fput_long(void **state)
{
	char *buf = NULL, in[5000];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	for (size_t i = 0; i < sizeof(in) - 1; i++)
		in[i] = i % 50 == 0 ? '\x1b' : (i % 7 ? 'x' : '\xc3');
	in[sizeof(in) - 1] = '\0';
	aod_text_fput(f, in, sizeof(in), false);
	fclose(f);
	assert_false(strchr(buf, '\x1b'));
	assert_int_equal(len, aod_text_escape(in, sizeof(in), NULL, 0, false));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_fput_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
