// SPDX-License-Identifier: MIT
/*
 * Fuzz the config loader: YAML text -> aod_config_load_buffer() -> config
 * or error. Properties (abort() on violation, so libFuzzer reports it):
 * an error is one line "fuzz.yaml:LINE:COL: ..."; a config that loads
 * prints a text that loads again, and printing that second config gives
 * the same text byte for byte (the printed effective config always loads
 * and means the same).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "config/config.h"

#define NAME "fuzz.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	aod_log_init(AOD_LOG_ERR); /* warnings are not findings: keep them quiet */
	return 0;
}

/* "fuzz.yaml:LINE:COL: " then something, and no newline. */
static void check_error(const struct aod_config_error *err)
{
	unsigned line, col;
	int off = 0;

	if (sscanf(err->msg, NAME ":%u:%u: %n", &line, &col, &off) != 2 || off == 0 ||
	    !err->msg[off] || strchr(err->msg, '\n')) {
		fprintf(stderr, "bad error message: '%s'\n", err->msg);
		abort();
	}
}

static char *print(const struct aod_config *cfg, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f || aod_config_print(cfg, f))
		abort();
	fclose(f);
	return text;
}

/* print(a) loads as b; print(b) == print(a). */
static void check_round_trip(struct aod_config *a, struct aod_config *b)
{
	struct aod_config_error err;
	size_t len1, len2;
	char *text1 = print(a, &len1), *text2;

	if (aod_config_load_buffer(b, NAME, text1, len1, &err)) {
		fprintf(stderr, "printed config does not load: %s\n%s", err.msg, text1);
		abort();
	}
	b->hash = a->hash; /* a hash of the source bytes, not part of the meaning */
	text2 = print(b, &len2);
	if (len1 != len2 || memcmp(text1, text2, len1)) {
		fprintf(stderr, "printed config changes on reload:\n%s\n---\n%s", text1, text2);
		abort();
	}
	free(text1);
	free(text2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aod_config *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct aod_config_error err;

	if (!a || !b)
		abort();
	if (aod_config_load_buffer(a, NAME, (const char *)data, size, &err))
		check_error(&err);
	else
		check_round_trip(a, b);
	free(a);
	free(b);
	return 0;
}
