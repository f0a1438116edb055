// SPDX-License-Identifier: MIT
/*
 * The process probe's user-space parts and aod trace's table, without a
 * kernel: executable patterns, the CPU split, records in any order
 * (exit first, duplicate exits, a lost exit found later), parents, the
 * command line, probes.proc in the config.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "common/timeutil.h"
#include "probe/proc_chain.h"
#include "probe/proc_probe.h"
#include "trace/trace.h"

static void test_exe_patterns(void **state)
{
	struct aod_proc_exe_pat p;
	char why[128];

	(void)state;
	assert_int_equal(aod_proc_parse_exe_pattern("*.sh", &p, why, sizeof(why)), 0);
	assert_true(p.has_star);
	assert_int_equal(p.plen, 0);
	assert_int_equal(p.slen, 3);
	assert_memory_equal(p.suffix, ".sh", 3);
	assert_int_equal(aod_proc_parse_exe_pattern("/usr/bin/ps", &p, why, sizeof(why)), 0);
	assert_false(p.has_star);
	assert_int_equal(p.plen, 11);
	assert_int_equal(aod_proc_parse_exe_pattern("/opt/*/x", &p, why, sizeof(why)), 0);
	assert_int_equal(p.plen, 5);
	assert_int_equal(p.slen, 2);
	assert_int_equal(aod_proc_parse_exe_pattern("*a*", &p, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "at most one '*'"));
	assert_int_equal(aod_proc_parse_exe_pattern("a?", &p, why, sizeof(why)), -EINVAL);
	assert_int_equal(aod_proc_parse_exe_pattern("", &p, why, sizeof(why)), -EINVAL);
}

static void test_cpu_split(void **state)
{
	uint64_t u, s;

	(void)state;
	aod_proc_cpu_split(1000, 3, 1, 0, 0, &u, &s); /* 3:1 */
	assert_int_equal(u, 750);
	assert_int_equal(s, 250);
	aod_proc_cpu_split(1000, 0, 0, 0, 0, &u, &s); /* no samples: all user, as the kernel */
	assert_int_equal(u, 1000);
	assert_int_equal(s, 0);
	aod_proc_cpu_split(1000, 0, 5, 0, 0, &u, &s);
	assert_int_equal(u, 0);
	assert_int_equal(s, 1000);
	/* no overflow for large values */
	aod_proc_cpu_split(UINT64_C(1) << 62, UINT64_C(1) << 61, UINT64_C(1) << 61, 0, 0, &u, &s);
	assert_true(u == (UINT64_C(1) << 61) && s == (UINT64_C(1) << 61));
	/* what getrusage reported before is a floor (the kernel's prev_cputime) */
	aod_proc_cpu_split(1000, 1, 1, 100, 400, &u, &s); /* 1:1 would give sys 500 */
	assert_int_equal(s, 500);
	aod_proc_cpu_split(1000, 1, 1, 700, 100, &u, &s); /* user may not drop below 700 */
	assert_int_equal(u, 700);
	assert_int_equal(s, 300);
	aod_proc_cpu_split(1000, 9, 1, 600, 400, &u, &s); /* no runtime since: prev as is */
	assert_int_equal(u, 600);
	assert_int_equal(s, 400);
}

static struct aod_proc_hdr hdr(uint32_t kind, uint32_t tgid, uint64_t start, uint32_t ppid,
			       uint64_t pstart, uint32_t flags)
{
	struct aod_proc_hdr h = { .kind = kind, .tgid = tgid, .start_ns = start, .ppid = ppid,
				  .pstart_ns = pstart, .flags = flags };

	snprintf(h.comm, sizeof(h.comm), "p%u", tgid);
	return h;
}

static void add(struct trace_table *t, struct aod_proc_hdr h, int exit_code)
{
	static const char argv[] = "sh\0-c\0exit 3";
	struct aod_proc_event ev = { .h = &h, .exit_code = exit_code, .duration_ns = 5 };

	if (h.kind == AOD_PROC_EXEC) {
		ev.filename = "/bin/sh";
		ev.argv = argv;
		ev.argv_len = sizeof(argv);
	}
	assert_int_equal(trace_table_add(t, &ev), 0);
}

static void test_table_orders(void **state)
{
	struct trace_table t;
	char line[64];

	(void)state;
	assert_int_equal(trace_table_init(&t, 100), 0);
	add(&t, hdr(AOD_PROC_EXEC, 100, 10, 1, 1, AOD_PROCF_IN_TREE), 0);   /* the root */
	assert_int_equal(t.live_in_tree, 1);
	add(&t, hdr(AOD_PROC_FORK, 101, 20, 100, 10, AOD_PROCF_IN_TREE), 0);
	add(&t, hdr(AOD_PROC_EXIT, 102, 30, 100, 10, AOD_PROCF_IN_TREE), 4); /* fork lost */
	assert_int_equal(t.exit_unseen, 1);
	assert_int_equal(t.live_in_tree, 2);
	add(&t, hdr(AOD_PROC_EXIT, 101, 20, 100, 10, AOD_PROCF_IN_TREE), 3);
	add(&t, hdr(AOD_PROC_EXIT, 101, 20, 100, 10, AOD_PROCF_IN_TREE), 3); /* twice */
	assert_int_equal(t.dup_exits, 1);
	assert_int_equal(t.live_in_tree, 1);
	/* PID 101 reused: another process */
	add(&t, hdr(AOD_PROC_FORK, 101, 40, 100, 10, AOD_PROCF_IN_TREE), 0);
	assert_int_equal(t.n, 4);
	add(&t, hdr(AOD_PROC_EXIT, 100, 10, 1, 1, AOD_PROCF_IN_TREE), 0);
	add(&t, hdr(AOD_PROC_EXIT, 101, 40, 100, 10, AOD_PROCF_IN_TREE), 0);
	assert_int_equal(t.live_in_tree, 0);
	trace_table_link(&t);
	assert_int_equal(t.v[0].parent, -1);
	assert_true(t.v[0].root);
	assert_int_equal(t.v[1].parent, 0);
	assert_int_equal(t.v[1].exit_code, 3);
	assert_int_equal(t.v[2].parent, 0);
	assert_int_equal(t.v[3].parent, 0);
	trace_proc_cmdline(&t.v[0], line, sizeof(line));
	assert_string_equal(line, "sh -c exit 3");
	trace_proc_cmdline(&t.v[1], line, sizeof(line));
	assert_string_equal(line, "p101"); /* no exec seen: the comm */
	trace_proc_cmdline(&t.v[0], line, 6);
	assert_string_equal(line, "sh -c");
	trace_table_free(&t);
}

static void test_lost_exit_found_later(void **state)
{
	struct trace_table t;

	(void)state;
	assert_int_equal(trace_table_init(&t, 1), 0);
	/* a process that does not exist (PID far past pid_max): reaped as lost */
	add(&t, hdr(AOD_PROC_FORK, 0x7ffffff0, 99, 1, 1, AOD_PROCF_IN_TREE), 0);
	assert_int_equal(t.live_in_tree, 1);
	assert_int_equal(trace_table_reap_lost(&t), 1);
	assert_int_equal(t.exits_lost, 1);
	assert_int_equal(t.live_in_tree, 0);
	/* its exit came after all: no longer lost, not counted twice */
	add(&t, hdr(AOD_PROC_EXIT, 0x7ffffff0, 99, 1, 1, AOD_PROCF_IN_TREE), 0);
	assert_int_equal(t.exits_lost, 0);
	assert_int_equal(t.live_in_tree, 0);
	assert_true(t.v[0].exited);
	trace_table_free(&t);
}

static int load(struct aod_config *cfg, const char *yaml, struct aod_config_error *err)
{
	return aod_config_load_buffer(cfg, "test.yaml", yaml, strlen(yaml), err);
}

static void test_config(void **state)
{
	struct aod_config *cfg = calloc(1, sizeof(*cfg));
	struct aod_config_error err;

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(load(cfg, "watch_interval_sec: 1\naod_output_dir: /tmp/x\n", &err), 0);
	assert_int_equal(cfg->probes.proc.enable, AOD_PROBE_AUTO);
	assert_int_equal(load(cfg, "watch_interval_sec: 1\naod_output_dir: /tmp/x\nprobes: {proc: on}\n", &err), 0);
	assert_int_equal(cfg->probes.proc.enable, AOD_PROBE_ON);
	assert_int_equal(load(cfg, "watch_interval_sec: 1\naod_output_dir: /tmp/x\nprobes:\n  proc: {enabled: on, argv_cap: 8192, "
				   "ignore_comm: [ps, top], ignore_exe: ['*.sh', /usr/bin/w]}\n", &err), 0);
	assert_int_equal(cfg->probes.proc.argv_cap, 8192);
	assert_int_equal(cfg->probes.proc.ncomm, 2);
	assert_string_equal(cfg->probes.proc.ignore_comm[1], "top");
	assert_int_equal(cfg->probes.proc.nexe, 2);
	assert_string_equal(cfg->probes.proc.ignore_exe[0], "*.sh");
	assert_int_not_equal(load(cfg, "watch_interval_sec: 1\naod_output_dir: /tmp/x\nprobes:\n  proc: {ignore_exe: ['*a*']}\n",
				  &err), 0);
	assert_non_null(strstr(err.msg, "probes.proc.ignore_exe[0]"));
	assert_int_not_equal(load(cfg, "watch_interval_sec: 1\naod_output_dir: /tmp/x\nprobes:\n  proc: {argv_cap: 10}\n", &err), 0);
	assert_non_null(strstr(err.msg, "probes.proc.argv_cap"));
	assert_int_not_equal(load(cfg, "watch_interval_sec: 1\naod_output_dir: /tmp/x\nprobes:\n  proc: {enable: on}\n", &err), 0);
	assert_int_not_equal(load(cfg, "watch_interval_sec: 1\naod_output_dir: /tmp/x\nprobes: {proc: maybe}\n", &err), 0);
	assert_non_null(strstr(err.msg, "expected auto, on or off"));
	free(cfg);
}

static char *chain(uint32_t pid, uint64_t when)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	aod_proc_chain_fput(f, pid, when);
	fclose(f);
	return buf;
}

static void test_proc_chain(void **state)
{
	char want[64], *out;

	(void)state;
	out = chain((uint32_t)getpid(), aod_wall_ns());
	snprintf(want, sizeof(want), "  %d  ", getpid());
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "test_trace"));
	snprintf(want, sizeof(want), "    <- %d  ", getppid());
	assert_non_null(strstr(out, want));
	free(out);
	out = chain(0x7ffffff0, aod_wall_ns());
	assert_non_null(strstr(out, "exited before the bundle"));
	free(out);
	/* an event from long before this process started: its PID was someone else's */
	out = chain((uint32_t)getpid(), 1000000000ULL);
	assert_non_null(strstr(out, "now names a later process"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exe_patterns),
		cmocka_unit_test(test_cpu_split),
		cmocka_unit_test(test_table_orders),
		cmocka_unit_test(test_lost_exit_found_later),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_proc_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
