/* SPDX-License-Identifier: MIT */
/* Test fixture shared by the store's unit tests: a fresh store with one run
 * in a directory of its own, and its removal. Include after <cmocka.h>. */
#ifndef AOD_TESTS_STORE_FX_H
#define AOD_TESTS_STORE_FX_H

#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

#define STORE_FX_T0 (1795459679ULL * 1000000000ULL) /* 2026-11-23T18:47:59Z */

struct store_fx {
	char dir[64];
	char path[128];
	struct aod_store *st;
	int64_t run;
};

static inline void store_fx_open(struct store_fx *x, const char *name)
{
	struct aod_store_run run = { .kind = "test", .started_wall_ns = STORE_FX_T0 };
	char err[AOD_STORE_ERR_LEN];

	snprintf(x->dir, sizeof(x->dir), "/tmp/aod-test-%s-XXXXXX", name);
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->path, sizeof(x->path), "%s/aod.db", x->dir);
	if (aod_store_open(x->path, &x->st, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(aod_store_run_begin(x->st, &run, &x->run), 0);
}

static inline void store_fx_close(struct store_fx *x)
{
	char cmd[160];

	aod_store_close(x->st);
	x->st = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	assert_int_equal(system(cmd), 0);
}

#endif
