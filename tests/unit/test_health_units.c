// SPDX-License-Identifier: MIT
/* Unit judgement, device-unit de-duplication, boot times/blame/critical chain, child process groups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/boot.h"
#include "health/procgroups.h"
#include "health/units.h"

#define SEC 1000000ULL

static struct aod_unit mk(const char *name, const char *active, const char *sub, const char *result)
{
	struct aod_unit u = { 0 };

	u.name = strdup(name);
	u.load = strdup("loaded");
	u.active = strdup(active);
	u.sub = strdup(sub);
	u.result = result ? strdup(result) : NULL;
	return u;
}

static char **strv(const char *a, const char *b)
{
	char **v = calloc(3, sizeof(*v));

	v[0] = a ? strdup(a) : NULL;
	v[1] = b ? strdup(b) : NULL;
	return v;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct aod_unit *)a)->name, ((const struct aod_unit *)b)->name);
}

static struct aod_units table(struct aod_unit *u, size_t n)
{
	struct aod_units t = { .n = n, .listed = n, .u = malloc(n * sizeof(*u)) };

	memcpy(t.u, u, n * sizeof(*u));
	qsort(t.u, n, sizeof(*t.u), cmp_name);
	return t;
}

static unsigned judge(const struct aod_unit *u, const struct aod_units *t, struct aod_unit_verdict *v)
{
	aod_unit_judge(u, t, 3, 1000 * SEC, v);
	return v->mask;
}

static void test_failed_and_flapping(void **state)
{
	struct aod_unit u = mk("a.service", "failed", "failed", "oom-kill");
	struct aod_unit_verdict v;

	assert_int_equal(judge(&u, NULL, &v), 1u << AOD_P_FAILED);
	assert_non_null(strstr(v.reason[AOD_P_FAILED], "oom-kill"));
	assert_non_null(strstr(v.reason[AOD_P_FAILED], "OOM killer"));
	aod_unit_clear(&u);

	u = mk("flap.service", "activating", "auto-restart", "exit-code");
	u.has_restarts = true;
	u.n_restarts = 2;
	assert_int_equal(judge(&u, NULL, &v), 0);     /* 2 < 3 */
	u.n_restarts = 3;
	assert_int_equal(judge(&u, NULL, &v), 1u << AOD_P_FLAPPING);
	assert_non_null(strstr(v.reason[AOD_P_FLAPPING], "3 times"));
	/* auto-restart for a long time is flapping, not stuck */
	u.state_change = 10 * SEC;
	assert_int_equal(judge(&u, NULL, &v), 1u << AOD_P_FLAPPING);
	aod_unit_clear(&u);

	/* NRestarts is a service property: a socket with the same count is not flapping */
	u = mk("x.socket", "active", "listening", "success");
	u.has_restarts = true;
	u.n_restarts = 9;
	assert_int_equal(judge(&u, NULL, &v), 0);
	aod_unit_clear(&u);
}

static void test_sockets(void **state)
{
	struct aod_unit u = mk("s.socket", "active", "listening", "success");
	struct aod_unit_verdict v;

	u.has_refused = true;
	assert_int_equal(judge(&u, NULL, &v), 0);
	u.n_refused = 2;
	assert_int_equal(judge(&u, NULL, &v), 1u << AOD_P_SOCKET);
	assert_non_null(strstr(v.reason[AOD_P_SOCKET], "refused 2"));
	aod_unit_clear(&u);

	u = mk("s.socket", "failed", "failed", "service-start-limit-hit");
	assert_int_equal(judge(&u, NULL, &v), (1u << AOD_P_FAILED) | (1u << AOD_P_SOCKET));
	assert_non_null(strstr(v.reason[AOD_P_SOCKET], "service-start-limit-hit"));
	aod_unit_clear(&u);

	u = mk("s.socket", "active", "running", "success");
	assert_int_equal(judge(&u, NULL, &v), 0);
	free(u.sub);
	u.sub = strdup("stop-pre");
	assert_int_equal(judge(&u, NULL, &v), 1u << AOD_P_SOCKET);
	assert_non_null(strstr(v.reason[AOD_P_SOCKET], "active/stop-pre"));
	aod_unit_clear(&u);
}

static void test_timers(void **state)
{
	struct aod_unit u[2] = { mk("t.timer", "active", "waiting", "success"),
				 mk("t.service", "failed", "failed", "exit-code") };
	struct aod_units t;
	struct aod_unit_verdict v;

	u[0].timer_unit = strdup("t.service");
	t = table(u, 2);
	/* the timer's own Result is success; the unit it triggers failed */
	assert_int_equal(judge(aod_units_find(&t, "t.timer"), &t, &v), 1u << AOD_P_TIMER);
	assert_non_null(strstr(v.reason[AOD_P_TIMER], "t.service"));
	free(t.u[1].active);
	t.u[1].active = strdup("inactive");    /* t.service sorts after t.timer? no: "t.s" < "t.t" */
	free(t.u[0].active);
	t.u[0].active = strdup("inactive");
	assert_int_equal(judge(aod_units_find(&t, "t.timer"), &t, &v), 0);
	free(aod_units_find(&t, "t.timer")->result);
	((struct aod_unit *)aod_units_find(&t, "t.timer"))->result = strdup("start-limit-hit");
	assert_int_equal(judge(aod_units_find(&t, "t.timer"), &t, &v), 1u << AOD_P_TIMER);
	assert_non_null(strstr(v.reason[AOD_P_TIMER], "start-limit-hit"));
	aod_units_free(&t);

	u[0] = mk("e.timer", "active", "elapsed", NULL);   /* a one-shot timer that fired */
	assert_int_equal(judge(&u[0], NULL, &v), 0);
	aod_unit_clear(&u[0]);
}

static void test_states(void **state)
{
	struct aod_unit u = mk("slow.service", "activating", "start", NULL);
	struct aod_unit_verdict v;

	u.state_change = 990 * SEC;        /* 10 s ago: fine */
	assert_int_equal(judge(&u, NULL, &v), 0);
	u.state_change = 900 * SEC;        /* 100 s ago: stuck */
	assert_int_equal(judge(&u, NULL, &v), 1u << AOD_P_STATE);
	assert_non_null(strstr(v.reason[AOD_P_STATE], "activating for 100 s"));
	aod_unit_clear(&u);
	u = mk("bad.service", "inactive", "dead", NULL);
	free(u.load);
	u.load = strdup("bad-setting");
	assert_int_equal(judge(&u, NULL, &v), 1u << AOD_P_STATE);
	aod_unit_clear(&u);
	u = mk("ok.service", "active", "running", "success");
	assert_int_equal(judge(&u, NULL, &v), 0);
	aod_unit_clear(&u);
}

/* A fake /dev: every by-uuid/by-path link points to vda1, others to themselves. */
static bool fake_resolve(const char *path, char *out, size_t len)
{
	if (!strncmp(path, "/dev/disk/", 10))
		snprintf(out, len, "/dev/vda1");
	else if (!strcmp(path, "/dev/gone"))
		return false;
	else
		snprintf(out, len, "%s", path);
	return true;
}

static void test_dev_canonical(void **state)
{
	char out[256];

	assert_true(aod_unit_dev_canonical("dev-disk-by\\x2duuid-1234\\x2dabcd.device", fake_resolve, out,
					   sizeof(out)));
	assert_string_equal(out, "dev-vda1.device");
	assert_true(aod_unit_dev_canonical("systemd-fsck@dev-disk-by\\x2dlabel-root.service", fake_resolve, out,
					   sizeof(out)));
	assert_string_equal(out, "systemd-fsck@dev-vda1.service");
	assert_true(aod_unit_dev_canonical("dev-dm\\x2d0.swap", fake_resolve, out, sizeof(out)));
	assert_string_equal(out, "dev-dm\\x2d0.swap");
	assert_false(aod_unit_dev_canonical("sys-devices-virtio0.device", fake_resolve, out, sizeof(out)));
	assert_false(aod_unit_dev_canonical("dev-gone.device", fake_resolve, out, sizeof(out)));
	assert_false(aod_unit_dev_canonical("dev-vda.socket", fake_resolve, out, sizeof(out)));
	assert_false(aod_unit_dev_canonical("dev-.device", fake_resolve, out, sizeof(out)));
}

static void test_dedup(void **state)
{
	struct aod_unit u[5] = {
		mk("dev-disk-by\\x2duuid-1234.device", "active", "plugged", NULL),
		mk("dev-disk-by\\x2dpath-pci\\x2d0000:00:04.0.device", "active", "plugged", NULL),
		mk("dev-vda1.device", "active", "plugged", NULL),
		mk("dev-vdb.device", "active", "plugged", NULL),
		mk("ssh.service", "active", "running", NULL),
	};
	struct aod_units t = table(u, 5);

	assert_int_equal(aod_units_dedup(&t, fake_resolve), 2);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.listed, 5);
	assert_non_null(aod_units_find(&t, "dev-vda1.device"));   /* the canonical one is kept */
	assert_non_null(aod_units_find(&t, "dev-vdb.device"));
	assert_non_null(aod_units_find(&t, "ssh.service"));
	assert_null(aod_units_find(&t, "dev-disk-by\\x2duuid-1234.device"));
	aod_units_free(&t);
}

static void test_boot_times(void **state)
{
	struct aod_manager m = { .firmware = 5 * SEC, .loader = 2 * SEC, .initrd = 3 * SEC,
				 .userspace = 4500000, .finish = 10 * SEC };
	struct aod_boot_times t;

	aod_boot_times(&m, &t);
	assert_int_equal(t.firmware, 3 * SEC);
	assert_int_equal(t.loader, 2 * SEC);
	assert_int_equal(t.kernel, 3 * SEC);
	assert_int_equal(t.initrd, 1500000);
	assert_int_equal(t.userspace, 5500000);
	assert_int_equal(t.total, 3 * SEC + 2 * SEC + 3 * SEC + 1500000 + 5500000);
	assert_true(t.finished);
	/* no initrd, no EFI, not finished yet */
	m = (struct aod_manager){ .userspace = 800000 };
	aod_boot_times(&m, &t);
	assert_int_equal(t.kernel, 800000);
	assert_int_equal(t.firmware + t.loader + t.initrd + t.userspace, 0);
	assert_false(t.finished);
}

static void test_blame_and_chain(void **state)
{
	struct aod_unit u[5] = {
		mk("default.target", "active", "active", NULL), mk("a.service", "active", "running", NULL),
		mk("b.service", "active", "exited", NULL), mk("c.service", "active", "running", NULL),
		mk("late.service", "active", "running", NULL),
	};
	struct aod_chain_link chain[8];
	struct aod_blame *b;
	struct aod_units t;
	size_t n;

	/* userspace starts at 1 s, boot finishes at 10 s */
	u[0].inactive_exit = 9 * SEC, u[0].active_enter = 9 * SEC + 1;
	u[1].inactive_exit = 2 * SEC, u[1].active_enter = 8 * SEC;      /* 6 s, last before the target */
	u[2].inactive_exit = 1 * SEC, u[2].active_enter = 3 * SEC;      /* 2 s */
	u[3].inactive_exit = 1 * SEC, u[3].active_enter = 1 * SEC + 500; /* 500 us */
	u[4].inactive_exit = 11 * SEC, u[4].active_enter = 20 * SEC;    /* after the boot finished */
	u[0].deps[AOD_DEP_AFTER] = strv("a.service", "late.service");
	u[1].deps[AOD_DEP_AFTER] = strv("c.service", "b.service");
	t = table(u, 5);
	n = aod_boot_blame(&t, &b);
	assert_int_equal(n, 5);
	assert_string_equal(b[0].unit, "late.service");
	assert_int_equal(b[0].usec, 9 * SEC);
	assert_string_equal(b[1].unit, "a.service");
	assert_int_equal(b[1].usec, 6 * SEC);
	assert_string_equal(b[4].unit, "default.target");
	free(b);
	n = aod_boot_critical_chain(&t, "default.target", 1 * SEC, 10 * SEC, chain, 8);
	assert_int_equal(n, 3);
	assert_string_equal(chain[0].unit, "default.target");
	/* late.service became active after the boot finished: not on the chain */
	assert_string_equal(chain[1].unit, "a.service");
	assert_int_equal(chain[1].at_usec, 1 * SEC);     /* started at 2 s, userspace at 1 s */
	assert_int_equal(chain[1].delta_usec, 6 * SEC);
	assert_string_equal(chain[2].unit, "b.service");   /* became active after c.service */
	assert_int_equal(chain[2].level, 2);
	assert_int_equal(aod_boot_critical_chain(&t, "missing.target", 0, 0, chain, 8), 0);
	aod_units_free(&t);
}

static void test_chain_cycle_terminates(void **state)
{
	struct aod_unit u[2] = { mk("x.target", "active", "active", NULL), mk("y.service", "active", "running", NULL) };
	struct aod_chain_link chain[8];
	struct aod_units t;

	u[0].inactive_exit = 1, u[0].active_enter = 5;
	u[1].inactive_exit = 1, u[1].active_enter = 4;
	u[0].deps[AOD_DEP_AFTER] = strv("y.service", NULL);
	u[1].deps[AOD_DEP_AFTER] = strv("x.target", NULL);  /* an ordering loop */
	t = table(u, 2);
	assert_int_equal(aod_boot_critical_chain(&t, "x.target", 0, 0, chain, 8), 2);
	aod_units_free(&t);
}

static void test_process_groups(void **state)
{
	struct aod_proc p[] = {
		{ 1, 0, "systemd", 1, 1 << 20 },
		{ 100, 1, "dockerd", 10, 50ULL << 20 },             /* docker.service's main PID */
		{ 200, 100, "containerd-shim", 1, 10ULL << 20 },
		{ 201, 200, "nginx", 30, 4ULL << 20 },
		{ 202, 200, "nginx", 40, 4ULL << 20 },
		{ 203, 100, "tiny", 0.1, 1ULL << 20 },             /* below 5 MiB and 60 s: dropped */
		{ 300, 1, "cron", 1, 2 << 20 },                     /* cron.service's main PID, no children */
		{ 400, 1, "other", 100, 100ULL << 20 },             /* not under a service */
	};
	struct aod_proc_root roots[] = { { "docker.service", 100 }, { "cron.service", 300 } };
	struct aod_proc_group *g;
	size_t n = aod_proc_groups(p, sizeof(p) / sizeof(p[0]), roots, 2, &g);

	assert_int_equal(n, 2);
	assert_string_equal(g[0].command, "nginx");      /* 70 s of CPU first */
	assert_string_equal(g[0].unit, "docker.service");
	assert_int_equal(g[0].count, 2);
	assert_true(g[0].cpu_seconds == 70);
	assert_int_equal(g[0].mem_bytes, 8ULL << 20);
	assert_int_equal(g[0].pids[0] + g[0].pids[1], 201 + 202);
	assert_string_equal(g[1].command, "containerd-shim");
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_and_flapping),
		cmocka_unit_test(test_sockets),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_dev_canonical),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_boot_times),
		cmocka_unit_test(test_blame_and_chain),
		cmocka_unit_test(test_chain_cycle_terminates),
		cmocka_unit_test(test_process_groups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
