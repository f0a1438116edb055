// SPDX-License-Identifier: MIT
/* Health report parsers: cgroup files, mountinfo, /proc, PSI, log patterns, --since, config defaults. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "health/cgroup.h"
#include "health/health.h"
#include "health/logpat.h"
#include "health/procfs.h"

static void test_cpu_stat(void **state)
{
	struct aod_cg_stats s = { 0 };

	assert_int_equal(aod_cg_parse_cpu_stat("usage_usec 3600967496\nuser_usec 3013923272\n"
					       "system_usec 587044224\nnr_periods 0\n", &s), 0);
	assert_true(s.has_cpu);
	assert_int_equal(s.cpu_usage_usec, 3600967496ULL);
	assert_int_equal(s.cpu_user_usec, 3013923272ULL);
	assert_int_equal(s.cpu_system_usec, 587044224ULL);
	assert_string_equal(s.cpu_source, "v2");
	memset(&s, 0, sizeof(s));
	/* "usage_usec" must be the whole key, not a prefix of another */
	assert_int_equal(aod_cg_parse_cpu_stat("usage_usecs 5\nnr_throttled 1\n", &s), -2);
	assert_false(s.has_cpu);
	assert_int_equal(aod_cg_parse_cpu_stat("", &s), -2);
}

static void test_io_stat_several_devices(void **state)
{
	struct aod_cg_stats s = { 0 };
	const char *text = "8:0 rbytes=1048576 wbytes=4096 rios=10 wios=1 dbytes=0 dios=0\n"
			   "253:1 rbytes=512 wbytes=16777216 rios=1 wios=4096 dbytes=7 dios=1\n"
			   "259:0 rbytes=0 wbytes=0 rios=0 wios=0 dbytes=0 dios=0\n";

	assert_int_equal(aod_cg_parse_io_stat(text, &s), 0);
	assert_true(s.has_io);
	assert_int_equal(s.io_rbytes, 1048576ULL + 512);
	assert_int_equal(s.io_wbytes, 4096ULL + 16777216);
	assert_int_equal(s.io_rios, 11);
	assert_int_equal(s.io_wios, 4097);
	/* the seed skipped every MAJ:MIN line: an empty file is 0, not an error */
	assert_int_equal(aod_cg_parse_io_stat("", &s), 0);
	assert_int_equal(s.io_rbytes + s.io_wbytes, 0);
	/* one device, no trailing newline, keys in another order */
	assert_int_equal(aod_cg_parse_io_stat("254:16 wbytes=3 rbytes=2", &s), 0);
	assert_int_equal(s.io_rbytes, 2);
	assert_int_equal(s.io_wbytes, 3);
}

static void test_blkio_v1(void **state)
{
	struct aod_cg_stats s = { 0 };

	assert_int_equal(aod_cg_parse_blkio_bytes("8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\n8:0 Async 2\n"
						  "8:0 Total 12288\n8:16 Read 1\n8:16 Write 2\nTotal 12291\n",
						  &s), 0);
	assert_int_equal(s.io_rbytes, 4097);
	assert_int_equal(s.io_wbytes, 8194);
	assert_string_equal(s.io_source, "v1");
}

static void test_memory_values(void **state)
{
	uint64_t v;
	bool is_max;

	assert_int_equal(aod_cg_parse_u64("4692742144\n", &v, &is_max), 0);
	assert_int_equal(v, 4692742144ULL);
	assert_false(is_max);
	assert_int_equal(aod_cg_parse_u64("max\n", &v, &is_max), 0);
	assert_true(is_max);
	assert_int_equal(aod_cg_parse_u64("12 kB\n", &v, &is_max), -22);
	assert_int_equal(aod_cg_parse_u64("", &v, &is_max), -22);
	assert_int_equal(aod_cg_parse_u64("-1\n", &v, &is_max), -22);
	assert_int_equal(aod_cg_count_lines("1\n22\n333\n"), 3);
	assert_int_equal(aod_cg_count_lines("\n"), 0);
	assert_int_equal(aod_cg_count_lines("7"), 1);
}

static const char mountinfo_hybrid[] =
	"25 30 0:23 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
	"27 25 0:25 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
	"28 27 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
	"29 27 0:27 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,xattr,name=systemd\n"
	"33 27 0:31 / /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory\n"
	"34 27 0:32 / /sys/fs/cgroup/cpu,cpuacct rw shared:16 - cgroup cgroup rw,cpu,cpuacct\n"
	"35 27 0:33 / /sys/fs/cgroup/blkio rw shared:17 - cgroup cgroup rw,blkio\n"
	"36 27 0:34 / /sys/fs/cgroup/pids rw shared:18 - cgroup cgroup rw,pids\n";

static void test_mountinfo(void **state)
{
	struct aod_cg_hier h;

	aod_cg_parse_mountinfo(mountinfo_hybrid, &h);
	assert_int_equal(h.mode, AOD_CG_HYBRID);
	assert_string_equal(h.v2, "/sys/fs/cgroup/unified");
	assert_string_equal(h.v1_memory, "/sys/fs/cgroup/memory");
	assert_string_equal(h.v1_cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(h.v1_blkio, "/sys/fs/cgroup/blkio");
	assert_string_equal(h.v1_pids, "/sys/fs/cgroup/pids");
	aod_cg_parse_mountinfo("30 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n", &h);
	assert_int_equal(h.mode, AOD_CG_UNIFIED);
	assert_string_equal(h.v2, "/sys/fs/cgroup");
	assert_string_equal(h.v1_memory, "");
	/* octal escapes in the mount point; optional fields before " - " */
	aod_cg_parse_mountinfo("30 1 0:26 / /mnt/cg\\040two rw shared:4 master:2 - cgroup cgroup rw,memory\n", &h);
	assert_int_equal(h.mode, AOD_CG_LEGACY);
	assert_string_equal(h.v1_memory, "/mnt/cg two");
	aod_cg_parse_mountinfo("", &h);
	assert_int_equal(h.mode, AOD_CG_NONE);
	assert_string_equal(aod_cg_mode_name(AOD_CG_HYBRID), "hybrid");
}

/* A cgroup tree on disk: v2 files where present, v1 fallbacks for a hybrid host. */
static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_read_hybrid_group(void **state)
{
	char root[] = "/tmp/aod-cg-XXXXXX", v2[300], mem[300], cmd[700];
	struct aod_cg_hier h = { .mode = AOD_CG_HYBRID };
	struct aod_cg_stats s;

	assert_non_null(mkdtemp(root));
	snprintf(v2, sizeof(v2), "%s/unified/a.service", root);
	snprintf(mem, sizeof(mem), "%s/memory/a.service", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' '%s'", v2, mem);
	assert_int_equal(system(cmd), 0);
	write_file(v2, "cpu.stat", "usage_usec 250\nuser_usec 200\nsystem_usec 50\n");
	write_file(v2, "io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n");
	write_file(v2, "cgroup.procs", "10\n11\n12\n");
	write_file(mem, "memory.usage_in_bytes", "1048576\n");
	write_file(mem, "memory.max_usage_in_bytes", "2097152\n");
	snprintf(h.v2, sizeof(h.v2), "%s/unified", root);
	snprintf(h.v1_memory, sizeof(h.v1_memory), "%s/memory", root);
	assert_int_equal(aod_cg_read(&h, "/a.service", &s), 0);
	assert_int_equal(s.cpu_usage_usec, 250);
	assert_int_equal(s.io_rbytes, 11);
	assert_int_equal(s.io_wbytes, 22);
	assert_int_equal(s.tasks, 3);
	assert_true(s.has_mem && s.has_mem_peak);
	assert_int_equal(s.mem_current, 1048576);
	assert_int_equal(s.mem_peak, 2097152);
	assert_string_equal(s.mem_source, "v1");
	/* v2 memory wins over v1 once it is there; memory.peak "max"-free */
	write_file(v2, "memory.current", "4096\n");
	assert_int_equal(aod_cg_read(&h, "/a.service", &s), 0);
	assert_int_equal(s.mem_current, 4096);
	assert_string_equal(s.mem_source, "v2");
	assert_false(s.has_mem_peak);
	assert_int_equal(aod_cg_read(&h, "/missing.service", &s), -2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

static void test_proc_stat_meminfo(void **state)
{
	struct aod_cpu_times a, b;
	struct aod_meminfo m;
	unsigned n;
	double load[3];

	assert_int_equal(aod_parse_proc_stat("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400\ncpu1 50 0 50 400\n"
					     "intr 1 2 3\n", &a, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(aod_parse_proc_stat("cpu  150 0 150 900 0 0 0 0 0 0\ncpu0 1\ncpu1 1\n", &b, &n), 0);
	/* 200 ticks passed, 100 of them busy */
	assert_true(fabs(aod_cpu_busy_percent(&a, &b) - 50.0) < 1e-9);
	assert_true(aod_cpu_busy_percent(&a, &a) < 0);
	assert_int_equal(aod_parse_meminfo("MemTotal:       16000 kB\nMemFree:  1 kB\nMemAvailable:   4000 kB\n"
					   "SwapTotal: 2048 kB\nSwapFree: 1024 kB\n", &m), 0);
	assert_int_equal(m.total, 16000ULL * 1024);
	assert_int_equal(m.available, 4000ULL * 1024);
	assert_int_equal(m.swap_total - m.swap_free, 1024ULL * 1024);
	assert_int_equal(aod_parse_meminfo("MemFree: 1 kB\n", &m), -2);
	assert_int_equal(aod_parse_loadavg("0.50 1.25 2.00 1/100 42\n", load), 0);
	assert_true(load[1] == 1.25);
}

static void test_psi(void **state)
{
	struct aod_psi p;

	assert_int_equal(aod_parse_psi("some avg10=88.60 avg60=77.51 avg300=67.72 total=745543379\n"
				       "full avg10=1.50 avg60=0.00 avg300=0.25 total=42\n", &p), 0);
	assert_true(p.some.present && p.full.present);
	assert_true(p.some.avg10 == 88.60 && p.some.avg60 == 77.51 && p.some.avg300 == 67.72);
	assert_int_equal(p.some.total_usec, 745543379ULL);
	assert_true(p.full.avg10 == 1.5 && p.full.avg300 == 0.25);
	assert_int_equal(p.full.total_usec, 42);
	/* cpu.pressure before 5.13 had no "full" line */
	assert_int_equal(aod_parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &p), 0);
	assert_false(p.full.present);
	assert_int_equal(aod_parse_psi("garbage\n", &p), -2);
}

static bool only_vd(const char *name, void *arg)
{
	(void)arg;
	return !strncmp(name, "vd", 2) && strlen(name) == 3;
}

static void test_diskstats_netdev(void **state)
{
	uint64_t r, w;
	const char *ds = " 254       0 vda 100 0 2000 0 50 0 4000 0 0 0 0\n"
			 " 254       1 vda1 90 0 1900 0 40 0 3900 0 0 0 0\n"
			 "   7       0 loop0 5 0 10 0 0 0 0 0 0 0 0\n"
			 " 254      16 vdb 1 0 8 0 1 0 16 0 0 0 0\n";

	assert_int_equal(aod_parse_diskstats(ds, only_vd, NULL, &r, &w), 0);
	assert_int_equal(r, (2000ULL + 8) * 512);
	assert_int_equal(w, (4000ULL + 16) * 512);
	assert_int_equal(aod_parse_netdev("Inter-|   Receive\n face |bytes packets\n"
					  "    lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0\n"
					  "  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n"
					  "  eth1:5 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0\n", &r, &w), 0);
	assert_int_equal(r, 1005);
	assert_int_equal(w, 2007);
}

static const char *classify(const struct aod_logpats *p, const char *msg)
{
	int k = aod_logpats_classify(p, msg);

	return k < 0 ? NULL : p->p[k].name;
}

static void test_log_patterns(void **state)
{
	struct aod_config cfg;
	struct aod_logpats p;

	aod_config_defaults(&cfg);
	assert_int_equal(aod_logpats_build(&p, &cfg.health), 0);
	assert_int_equal(p.n, 11);
	assert_string_equal(classify(&p, "Memory cgroup out of memory: Killed process 4242 (hog)"), "oom-killer");
	assert_string_equal(classify(&p, "Out of memory: Killed process 1"), "oom-killer");
	assert_string_equal(classify(&p, "load[812]: segfault at 0 ip 000055d5c7a8d139 sp 00007ffd28e5e9d0 "
				      "error 6 in load[55d5c7a8d000+1000] likely on CPU 0"), "segfault");
	assert_null(classify(&p, "segfault handler installed"));
	assert_string_equal(classify(&p, "Kernel panic - not syncing: Fatal exception"), "kernel-panic");
	assert_string_equal(classify(&p, " Call Trace:"), "call-trace");
	assert_string_equal(classify(&p, "BUG: unable to handle page fault"), "BUG:");
	assert_null(classify(&p, "DEBUG: fine"));        /* \bBUG: needs a word boundary */
	assert_string_equal(classify(&p, "mce: [Hardware Error]: Machine check events logged"), "hardware-error");
	assert_string_equal(classify(&p, "blk_update_request: I/O error, dev vda, sector 8"), "i/o-error");
	assert_string_equal(classify(&p, "cp: error reading 'x': Input/output error"), "i/o-error");
	assert_string_equal(classify(&p, "EXT4-fs (vda1): Remounting filesystem read-only"), "filesystem-readonly");
	assert_string_equal(classify(&p, "Buffer I/O error on dev vda1, logical block 0"), "buffer-io-error");
	assert_string_equal(classify(&p, "INFO: task kworker/0:1:42 blocked for more than 120 seconds."),
			    "task-blocked");
	assert_null(classify(&p, "Started Daily apt upgrade."));
	/* the OOM class comes first: an OOM line that also says Call Trace: */
	assert_string_equal(classify(&p, "oom-killer: gfp_mask=0x0 Call Trace:"), "oom-killer");
	aod_logpats_free(&p);

	/* custom patterns come before the built-in ones; built-ins can be dropped */
	snprintf(cfg.health.patterns[0].name, sizeof(cfg.health.patterns[0].name), "app");
	cfg.health.patterns[0].cls = AOD_LOG_CLASS_WARNING;
	snprintf(cfg.health.patterns[0].regex, sizeof(cfg.health.patterns[0].regex), "myapp.*(segfault|crash)");
	cfg.health.npatterns = 1;
	assert_int_equal(aod_logpats_build(&p, &cfg.health), 0);
	assert_string_equal(classify(&p, "myapp: segfault at 0 ip 1 sp 2 error 4"), "app");
	aod_logpats_free(&p);
	cfg.health.builtin_patterns = false;
	assert_int_equal(aod_logpats_build(&p, &cfg.health), 0);
	assert_int_equal(p.n, 1);
	assert_null(classify(&p, "Kernel panic - not syncing: x"));
	aod_logpats_free(&p);
}

static void test_since(void **state)
{
	uint64_t now = 1796153453ULL * 1000000, t;

	assert_int_equal(aod_health_parse_since("-2h", now, &t), 0);
	assert_int_equal(t, now - 7200ULL * 1000000);
	assert_int_equal(aod_health_parse_since("30m ago", now, &t), 0);
	assert_int_equal(t, now - 1800ULL * 1000000);
	assert_int_equal(aod_health_parse_since("1d", now, &t), 0);
	assert_int_equal(t, now - 86400ULL * 1000000);
	assert_int_equal(aod_health_parse_since("@1700000000", now, &t), 0);
	assert_int_equal(t, 1700000000ULL * 1000000);
	assert_int_equal(aod_health_parse_since("2025-12-01T10:00:00Z", now, &t), 0);
	assert_int_equal(t, 1764583200ULL * 1000000);
	assert_int_equal(aod_health_parse_since("today", now, &t), 0);
	assert_true(t <= now && now - t < 86400ULL * 1000000);
	assert_int_equal(aod_health_parse_since("yesterday", now, &t), 0);
	assert_true(now - t >= 86400ULL * 1000000 - 3600ULL * 1000000 * 2);
	assert_int_equal(aod_health_parse_since("soon", now, &t), -22);
	assert_int_equal(aod_health_parse_since("5 fortnights ago", now, &t), -22);
	assert_int_equal(aod_health_parse_since("2h later", now, &t), -22);
	assert_int_equal(aod_health_parse_since("", now, &t), -22);
}

static void test_config_defaults(void **state)
{
	struct aod_config cfg;

	aod_config_defaults(&cfg);
	assert_string_equal(cfg.health.history_dir, "/var/lib/aod/health");
	assert_int_equal(cfg.health.max_files, 50);
	assert_int_equal(cfg.health.min_samples, 5);
	assert_true(cfg.health.threshold == 3.5);
	assert_int_equal(cfg.health.interval_sec, 0);   /* the agent does not run reports by default */
	assert_int_equal(cfg.health.flapping_restarts, 3);
	assert_int_equal(cfg.health.log_priority, 4);
	assert_int_equal(cfg.health.journal_lines, 20);
	assert_int_equal(cfg.health.top_n, 10);
	assert_true(cfg.health.builtin_patterns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_stat),
		cmocka_unit_test(test_io_stat_several_devices),
		cmocka_unit_test(test_blkio_v1),
		cmocka_unit_test(test_memory_values),
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test(test_read_hybrid_group),
		cmocka_unit_test(test_proc_stat_meminfo),
		cmocka_unit_test(test_psi),
		cmocka_unit_test(test_diskstats_netdev),
		cmocka_unit_test(test_log_patterns),
		cmocka_unit_test(test_since),
		cmocka_unit_test(test_config_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
