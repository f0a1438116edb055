// SPDX-License-Identifier: MIT
/* The processes part's counting (health/processes.c) with made-up probe
 * records, and the cgroup id map (common/cgroup_unit.c) on a directory tree
 * made here (a directory's inode number is what a cgroup's id is). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cgroup_unit.h"
#include "health/hjson.h"
#include "health/processes.h"

static char root[64];
static uint64_t ino(const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	assert_int_equal(stat(p, &st), 0);
	return st.st_ino;
}

static int tree_up(void **state)
{
	static const char *const dirs[] = { "/system.slice", "/system.slice/cron.service",
		"/system.slice/cron.service/sub", "/user.slice", "/user.slice/session-3.scope", "/plain" };
	char p[256];

	snprintf(root, sizeof(root), "/tmp/aod-procs-XXXXXX");
	assert_non_null(mkdtemp(root));
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	return 0;
}

static int tree_down(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_cgroup_map(void **state)
{
	struct aod_cgroups c;
	const struct aod_cgroup *g;

	assert_int_equal(aod_cgroups_load_at(&c, root), 0);
	assert_int_equal(c.n, 7); /* the root and six directories */
	g = aod_cgroups_find(&c, ino("/system.slice/cron.service/sub"));
	assert_non_null(g);
	assert_string_equal(g->path, "/system.slice/cron.service/sub");
	assert_string_equal(g->unit, "cron.service");
	assert_int_equal(g->unit_path_len, strlen("/system.slice/cron.service"));
	assert_string_equal(aod_cgroups_unit(&c, ino("/user.slice/session-3.scope")), "session-3.scope");
	assert_null(aod_cgroups_unit(&c, ino("/system.slice")));
	g = aod_cgroups_find(&c, ino(""));
	assert_non_null(g);
	assert_string_equal(g->path, "/");
	assert_null(aod_cgroups_find(&c, 0));
	aod_cgroups_free(&c);
}

static void feed(struct aod_procs_agg *a, uint32_t kind, uint64_t cg, const char *comm, int code, int sig,
		 uint64_t cpu_ns)
{
	struct aod_proc_hdr h = { .kind = kind, .tgid = 100, .cgroup_id = cg };
	struct aod_proc_event ev = { .h = &h, .exit_code = code, .signal = sig, .cpu_user_ns = cpu_ns / 2,
				     .cpu_sys_ns = cpu_ns - cpu_ns / 2, .wall_ns = 1764616320000000000ULL };

	memcpy(h.comm, comm, strnlen(comm, sizeof(h.comm)));
	aod_procs_agg_add(a, &ev);
}

static json_t *unit_named(json_t *s, const char *name)
{
	size_t i;
	json_t *u;

	json_array_foreach(json_object_get(s, "units"), i, u)
		if (!strcmp(hj_gets(u, "name"), name))
			return u;
	return NULL;
}

static void test_by_unit(void **state)
{
	struct aod_procs_agg a;
	struct aod_cgroups now;
	json_t *s = json_object(), *u, *c;
	uint64_t cron = ino("/system.slice/cron.service"), sub = ino("/system.slice/cron.service/sub");
	uint64_t plain = ino("/plain");

	assert_int_equal(aod_procs_agg_init(&a), 0);
	assert_int_equal(aod_cgroups_load_at(&now, root), 0);
	for (int i = 0; i < 5; i++) {
		feed(&a, AOD_PROC_EXEC, cron, "sh", 0, 0, 0);
		feed(&a, AOD_PROC_EXIT, cron, "sh", 0, 0, 1000000);
	}
	feed(&a, AOD_PROC_EXEC, sub, "job", 0, 0, 0);
	feed(&a, AOD_PROC_EXIT, sub, "job", 2, 0, 3000000);
	feed(&a, AOD_PROC_EXEC, plain, "true", 0, 0, 0);
	feed(&a, AOD_PROC_EXIT, plain, "true", 0, 9, 0);
	feed(&a, AOD_PROC_FORK, plain, "true", 0, 0, 0);        /* not counted */
	feed(&a, AOD_PROC_EXEC, 999999999, "gone", 0, 0, 0);    /* a cgroup never seen */
	aod_procs_agg_json(&a, &now, NULL, 10, s);

	assert_int_equal(hj_getn(s, "execs", -1), 8);
	assert_int_equal(hj_getn(s, "exits", -1), 7);
	assert_int_equal(hj_getn(s, "failed", -1), 2);
	assert_true(hj_getn(s, "cpu_seconds", 0) > 0.0079 && hj_getn(s, "cpu_seconds", 0) < 0.0081);
	/* cron.service and its sub-cgroup are one unit */
	u = unit_named(s, "cron.service");
	assert_non_null(u);
	assert_string_equal(hj_gets(u, "unit"), "cron.service");
	assert_string_equal(hj_gets(u, "cgroup"), "/system.slice/cron.service");
	assert_int_equal(hj_getn(u, "execs", -1), 6);
	assert_int_equal(hj_getn(u, "exits", -1), 6);
	assert_int_equal(hj_getn(u, "failed", -1), 1);
	c = json_array_get(json_object_get(u, "commands"), 0); /* the busiest first */
	assert_string_equal(hj_gets(c, "command"), "sh");
	assert_int_equal(hj_getn(c, "execs", -1), 5);
	assert_int_equal(hj_len(json_object_get(u, "commands")), 2);
	assert_ptr_equal(json_array_get(json_object_get(s, "units"), 0), u);
	u = unit_named(s, "/plain");
	assert_non_null(u);
	assert_true(json_is_null(json_object_get(u, "unit")));
	assert_int_equal(hj_getn(u, "failed", -1), 1);
	u = unit_named(s, "cgroup id 999999999");
	assert_non_null(u);
	assert_true(json_is_null(json_object_get(u, "cgroup")));
	/* the failures, oldest first: exit 2 in cron.service's sub-cgroup, then signal 9 */
	assert_int_equal(hj_len(json_object_get(s, "failures")), 2);
	c = json_array_get(json_object_get(s, "failures"), 0);
	assert_string_equal(hj_gets(c, "name"), "cron.service");
	assert_int_equal(hj_getn(c, "exit_code", -1), 2);
	assert_true(json_is_null(json_object_get(c, "signal")));
	c = json_array_get(json_object_get(s, "failures"), 1);
	assert_int_equal(hj_getn(c, "signal", -1), 9);
	json_decref(s);
	aod_cgroups_free(&now);
	aod_procs_agg_free(&a);
}

static void test_limits(void **state)
{
	struct aod_procs_agg a;
	json_t *s = json_object(), *u;
	char comm[16];

	assert_int_equal(aod_procs_agg_init(&a), 0);
	for (int i = 0; i < AOD_PROCS_MAX_COMMANDS + 10; i++) { /* commands beyond the cap: "(other)" */
		snprintf(comm, sizeof(comm), "c%d", i);
		feed(&a, AOD_PROC_EXEC, 7, comm, 0, 0, 0);
	}
	for (int i = 0; i < AOD_PROCS_FAILURES + 5; i++)
		feed(&a, AOD_PROC_EXIT, 7, "f", 1, 0, 0);
	for (uint64_t id = 100; id < 100 + AOD_PROCS_MAX_CGROUPS + 3; id++)
		feed(&a, AOD_PROC_EXEC, id, "x", 0, 0, 0);
	aod_procs_agg_json(&a, NULL, NULL, 3, s);
	/* the 4096 cgroups are full before the last 4 (id 7 took one): counted, in no unit */
	assert_int_equal(hj_getn(s, "not_kept", -1), 4);
	assert_int_equal(hj_getn(s, "execs", -1), AOD_PROCS_MAX_COMMANDS + 10 + AOD_PROCS_MAX_CGROUPS + 3);
	assert_int_equal(hj_len(json_object_get(s, "units")), AOD_PROCS_MAX_UNITS);
	assert_int_equal(hj_getn(s, "units_omitted", -1), AOD_PROCS_MAX_CGROUPS - AOD_PROCS_MAX_UNITS);
	u = json_array_get(json_object_get(s, "units"), 0);
	assert_string_equal(hj_gets(u, "name"), "cgroup id 7");
	assert_int_equal(hj_len(json_object_get(u, "commands")), 3);
	assert_int_equal(hj_getn(u, "commands_omitted", -1), AOD_PROCS_MAX_COMMANDS - 3);
	/* the first 63 commands, then "(other)": the 11 beyond and "f", the busiest */
	assert_string_equal(hj_gets(json_array_get(json_object_get(u, "commands"), 0), "command"), "(other)");
	assert_int_equal(hj_getn(json_array_get(json_object_get(u, "commands"), 0), "execs", -1), 11);
	assert_int_equal(hj_getn(json_array_get(json_object_get(u, "commands"), 0), "failed", -1),
			 AOD_PROCS_FAILURES + 5);
	assert_int_equal(hj_len(json_object_get(s, "failures")), AOD_PROCS_FAILURES);
	json_decref(s);
	aod_procs_agg_free(&a);
}

static void test_skipped_has_every_key(void **state)
{
	json_t *s = aod_health_procs_skipped(false, "not asked for (--processes)");
	static const char *const keys[] = { "skipped", "error", "requested", "mode", "duration_ms", "lost",
		"execs", "exits", "failed", "cpu_seconds", "not_kept", "units", "units_omitted", "failures" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_non_null(json_object_get(s, keys[i]));
	assert_string_equal(hj_gets(s, "skipped"), "not asked for (--processes)");
	assert_int_equal(hj_len(json_object_get(s, "units")), 0);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_map),
		cmocka_unit_test(test_by_unit),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_skipped_has_every_key),
	};

	return cmocka_run_group_tests(tests, tree_up, tree_down);
}
