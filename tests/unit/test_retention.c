// SPDX-License-Identifier: MIT
/* SpaceWatcher: the pure policy at its thresholds, then the real thing on a temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/bundle.h"
#include "collect/retention.h"
#include "common/timeutil.h"

#define DAY_NS (86400ULL * AOD_NSEC_PER_SEC)
#define NOW_NS (1800000000ULL * AOD_NSEC_PER_SEC)

static void set_file(struct aod_retention_file *f, const char *name, uint64_t size, uint64_t mtime)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = size;
	f->mtime_ns = mtime;
}

/* n bundles of `size` bytes, mtimes NOW - (n - i) minutes, given newest first. */
static struct aod_retention_file *bundles(size_t n, uint64_t size)
{
	struct aod_retention_file *f = calloc(n, sizeof(*f));
	char name[64];

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		size_t age = i + 1; /* files[0] is the newest */

		snprintf(name, sizeof(name), "aod_%zu_smb_latency.tar.zst", 1000 - age);
		set_file(&f[i], name, size, NOW_NS - age * 60 * AOD_NSEC_PER_SEC);
	}
	return f;
}

static const struct aod_retention_policy policy_10k = {
	.budget_bytes = 10000, .max_age_ns = 2 * DAY_NS, .interval_sec = 60,
};

static size_t count_verdict(const struct aod_retention_file *f, size_t n, enum aod_retention_verdict v)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += f[i].verdict == v;
	return k;
}

static void test_name_pattern(void **state)
{
	struct aod_bundle_name n;

	assert_true(aod_bundle_name_parse("aod_1795459679123456789_smb_latency.tar.zst", &n));
	assert_int_equal(n.id, 1795459679123456789ULL);
	assert_string_equal(n.source, "smb");
	assert_string_equal(n.type, "latency");
	assert_true(aod_bundle_name_parse("aod_7_block_error.tar.zst", NULL));
	assert_false(aod_bundle_name_parse("aod_foo.tar.zst", NULL));
	assert_false(aod_bundle_name_parse("aod_1_smb_latency.tar.zst.bak", NULL));
	assert_false(aod_bundle_name_parse(".aod_1_smb_latency.tar.zst.tmp", NULL));
	assert_false(aod_bundle_name_parse("aod_1_smb_latency.tar.gz", NULL));
	assert_false(aod_bundle_name_parse("aod__smb_latency.tar.zst", NULL));
	assert_false(aod_bundle_name_parse("aod_1_smb.tar.zst", NULL));
	assert_false(aod_bundle_name_parse("aod_1_smb_lat_ency.tar.zst", NULL));
	assert_false(aod_bundle_name_parse("aod_1_SMB_latency.tar.zst", NULL));
	assert_false(aod_bundle_name_parse("aod_99999999999999999999_smb_latency.tar.zst", NULL));
	assert_false(aod_bundle_name_parse("aod_quick_1.tar.zst", NULL));
	assert_false(aod_bundle_name_parse(".staging-1", NULL));
}

static void test_below_90_pct_no_action(void **state)
{
	struct aod_retention_file f[2];
	struct aod_retention_decision d;

	set_file(&f[0], "aod_1_smb_latency.tar.zst", 4495, NOW_NS - 100);
	set_file(&f[1], "aod_2_smb_latency.tar.zst", 4494, NOW_NS - 50); /* 8989 < 90 % */
	aod_retention_decide(&policy_10k, f, 2, NOW_NS, &d);
	assert_int_equal(d.ndelete, 0);
	assert_false(d.emergency);
	assert_int_equal(d.total_before, 8989);
	assert_int_equal(d.next_check_sec, 60);

	f[1].size = 4495; /* 8990: 89.9 % */
	aod_retention_decide(&policy_10k, f, 2, NOW_NS, &d);
	assert_int_equal(d.ndelete, 0);
	assert_int_equal(count_verdict(f, 2, AOD_RETAIN_KEEP), 2);
}

static void test_90_pct_cleans_to_70_oldest_first(void **state)
{
	struct aod_retention_file *f = bundles(9, 1000); /* 9000: exactly 90 % */
	struct aod_retention_decision d;

	aod_retention_decide(&policy_10k, f, 9, NOW_NS, &d);
	assert_false(d.emergency);
	assert_int_equal(d.ndelete, 2);
	assert_int_equal(d.total_after, 7000);
	assert_true(d.total_after * 100 <= 10000 * 70);
	/* The two oldest (the last two of the newest-first list) go. */
	assert_int_equal(f[8].verdict, AOD_RETAIN_DELETE_SIZE);
	assert_int_equal(f[7].verdict, AOD_RETAIN_DELETE_SIZE);
	for (int i = 0; i < 7; i++)
		assert_int_equal(f[i].verdict, AOD_RETAIN_KEEP);
	assert_int_equal(d.next_check_sec, 60);
	free(f);
}

static void test_just_below_95_is_normal(void **state)
{
	struct aod_retention_file *f = bundles(19, 499); /* 9481: 94.8 % */
	struct aod_retention_decision d;

	aod_retention_decide(&policy_10k, f, 19, NOW_NS, &d);
	assert_false(d.emergency);
	assert_true(d.total_after * 100 <= 10000 * 70);
	assert_true(d.total_after * 100 > 10000 * 60); /* not the emergency target */
	assert_int_equal(count_verdict(f, 19, AOD_RETAIN_DELETE_EMERGENCY), 0);
	free(f);
}

static void test_95_pct_emergency_to_50(void **state)
{
	struct aod_retention_file *f = bundles(19, 500); /* 9500: exactly 95 % */
	struct aod_retention_decision d;

	aod_retention_decide(&policy_10k, f, 19, NOW_NS, &d);
	assert_true(d.emergency);
	assert_int_equal(d.ndelete, 9);
	assert_int_equal(d.total_after, 5000);
	assert_int_equal(count_verdict(f, 19, AOD_RETAIN_DELETE_EMERGENCY), 9);
	for (int i = 0; i < 10; i++) /* the 10 newest stay */
		assert_int_equal(f[i].verdict, AOD_RETAIN_KEEP);
	assert_int_equal(d.next_check_sec, 15); /* 60 / 4 */
	free(f);
}

static void test_emergency_interval_floor(void **state)
{
	struct aod_retention_policy p = policy_10k;
	struct aod_retention_file *f = bundles(10, 1000); /* 100 % */
	struct aod_retention_decision d;

	for (uint32_t iv = 0; iv <= 7; iv++) {
		p.interval_sec = iv;
		aod_retention_decide(&p, f, 10, NOW_NS, &d);
		assert_true(d.emergency);
		assert_true(d.next_check_sec >= 1);
		assert_int_equal(d.next_check_sec, iv / 4 ? iv / 4 : 1);
	}
	p.interval_sec = 0; /* never 0 in normal mode either */
	aod_retention_decide(&p, f, 0, NOW_NS, &d);
	assert_int_equal(d.next_check_sec, 1);
	free(f);
}

static void test_order_ties_and_unsorted_input(void **state)
{
	struct aod_retention_file f[4];
	struct aod_retention_decision d;

	/* Same mtime for two: the name decides, so the result is stable. */
	set_file(&f[0], "aod_30_smb_latency.tar.zst", 3000, NOW_NS - 10);
	set_file(&f[1], "aod_12_block_error.tar.zst", 3000, NOW_NS - 30);
	set_file(&f[2], "aod_11_block_error.tar.zst", 3000, NOW_NS - 30);
	set_file(&f[3], "aod_20_smb_error.tar.zst", 1000, NOW_NS - 20);
	aod_retention_decide(&policy_10k, f, 4, NOW_NS, &d);
	assert_true(d.emergency); /* 100 %: down to <= 5000 */
	assert_int_equal(f[2].verdict, AOD_RETAIN_DELETE_EMERGENCY);
	assert_int_equal(f[1].verdict, AOD_RETAIN_DELETE_EMERGENCY);
	assert_int_equal(f[3].verdict, AOD_RETAIN_KEEP); /* 4000 left after the two oldest */
	assert_int_equal(f[0].verdict, AOD_RETAIN_KEEP);
	assert_int_equal(d.total_after, 4000);
}

static void test_age_every_check_and_before_size(void **state)
{
	struct aod_retention_file f[3];
	struct aod_retention_decision d;

	set_file(&f[0], "aod_1_smb_latency.tar.zst", 10, NOW_NS - 3 * DAY_NS);
	set_file(&f[1], "aod_2_smb_latency.tar.zst", 10, NOW_NS - 2 * DAY_NS + 1);
	set_file(&f[2], "aod_3_smb_latency.tar.zst", 10, NOW_NS);
	aod_retention_decide(&policy_10k, f, 3, NOW_NS, &d);
	assert_int_equal(f[0].verdict, AOD_RETAIN_DELETE_AGE);
	assert_int_equal(f[1].verdict, AOD_RETAIN_KEEP);
	assert_int_equal(d.ndelete, 1);
	/* One hour later: the second is now too old; no memory of the last run needed. */
	aod_retention_decide(&policy_10k, f, 3, NOW_NS + 3600 * AOD_NSEC_PER_SEC, &d);
	assert_int_equal(f[0].verdict, AOD_RETAIN_DELETE_AGE);
	assert_int_equal(f[1].verdict, AOD_RETAIN_DELETE_AGE);
	assert_int_equal(f[2].verdict, AOD_RETAIN_KEEP);
	assert_int_equal(d.ndelete, 2);

	/* Old bundles leave first, so the size check sees only what remains. */
	set_file(&f[0], "aod_1_smb_latency.tar.zst", 5000, NOW_NS - 3 * DAY_NS);
	set_file(&f[1], "aod_2_smb_latency.tar.zst", 4000, NOW_NS - 60);
	set_file(&f[2], "aod_3_smb_latency.tar.zst", 1000, NOW_NS);
	aod_retention_decide(&policy_10k, f, 3, NOW_NS, &d);
	assert_false(d.emergency);
	assert_int_equal(d.ndelete, 1);
	assert_int_equal(d.total_after, 5000);
}

static void test_foreign_names_never_count(void **state)
{
	struct aod_retention_file f[5];
	struct aod_retention_decision d;

	set_file(&f[0], "notes.txt", 100000, NOW_NS - 10 * DAY_NS);
	set_file(&f[1], "aod_foo.tar.zst.bak", 100000, NOW_NS - 10 * DAY_NS);
	set_file(&f[2], ".staging-1", 100000, NOW_NS - 10 * DAY_NS);
	set_file(&f[3], ".aod_5_smb_latency.tar.zst.tmp", 100000, NOW_NS - 10 * DAY_NS);
	set_file(&f[4], "aod_6_smb_latency.tar.zst", 100, NOW_NS);
	aod_retention_decide(&policy_10k, f, 5, NOW_NS, &d);
	assert_int_equal(d.total_before, 100);
	assert_int_equal(d.ndelete, 0);
	assert_false(d.emergency);
	assert_int_equal(count_verdict(f, 5, AOD_RETAIN_IGNORED), 4);
}

/* ---- on a real directory ---------------------------------------------- */

struct fsdir {
	char top[64];
	char batches[128];
	int bfd;
};

static void make_file(int dfd, const char *name, size_t size, uint64_t mtime_ns)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char buf[4096];
	struct timespec ts[2];

	assert_true(fd >= 0);
	memset(buf, 'x', sizeof(buf));
	for (size_t left = size; left;) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);

		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		left -= n;
	}
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(mtime_ns / AOD_NSEC_PER_SEC);
	ts[0].tv_nsec = ts[1].tv_nsec = (long)(mtime_ns % AOD_NSEC_PER_SEC);
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static bool exists(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int fs_setup(void **state)
{
	struct fsdir *d = calloc(1, sizeof(*d));

	snprintf(d->top, sizeof(d->top), "/tmp/aod-test-retention-XXXXXX");
	if (!mkdtemp(d->top))
		return -1;
	d->bfd = aod_bundle_dir_open(d->top, true);
	if (d->bfd < 0)
		return -1;
	snprintf(d->batches, sizeof(d->batches), "%s/batches", d->top);
	*state = d;
	return 0;
}

static int fs_teardown(void **state)
{
	struct fsdir *d = *state;

	close(d->bfd);
	aod_bundle_staging_remove(d->top);
	free(d);
	return 0;
}

/* Foreign entries and staging leftovers, big enough to matter if counted. */
static void make_foreign(int bfd, uint64_t now)
{
	uint64_t old = now - 30 * DAY_NS;

	make_file(bfd, "notes.txt", 300 * 1024, old);
	make_file(bfd, "aod_foo.tar.zst.bak", 300 * 1024, old);
	make_file(bfd, ".aod_9_smb_latency.tar.zst.tmp", 300 * 1024, old);
	assert_int_equal(mkdirat(bfd, ".staging-1", 0700), 0);
	{
		int sfd = openat(bfd, ".staging-1", O_RDONLY | O_DIRECTORY);

		make_file(sfd, "dmesg.log", 300 * 1024, old);
		close(sfd);
	}
	/* A directory that has a bundle's name is not a finished bundle. */
	assert_int_equal(mkdirat(bfd, "aod_8_smb_latency.tar.zst", 0700), 0);
}

static void assert_foreign_intact(int bfd)
{
	assert_true(exists(bfd, "notes.txt"));
	assert_true(exists(bfd, "aod_foo.tar.zst.bak"));
	assert_true(exists(bfd, ".aod_9_smb_latency.tar.zst.tmp"));
	assert_true(exists(bfd, ".staging-1"));
	assert_true(exists(bfd, ".staging-1/dmesg.log"));
	assert_true(exists(bfd, "aod_8_smb_latency.tar.zst"));
}

static void test_fs_check_budget_holds(void **state)
{
	struct fsdir *d = *state;
	struct aod_retention_policy p = { .budget_bytes = 1024 * 1024, .max_age_ns = 2 * DAY_NS,
					  .interval_sec = 60 };
	struct aod_retention_stats st;
	uint64_t now = aod_wall_ns();
	char name[64];

	make_foreign(d->bfd, now);
	/* 10 x 92 KiB = 920 KiB: 89.8 %: no action. */
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "aod_%d_smb_latency.tar.zst", 100 + i);
		make_file(d->bfd, name, 92 * 1024, now - (uint64_t)(10 - i) * 60 * AOD_NSEC_PER_SEC);
	}
	assert_int_equal(aod_retention_check(d->top, &p, now, &st), 0);
	assert_int_equal(st.bundles, 10);
	assert_int_equal(st.deleted, 0);
	assert_int_equal(st.total_before, 920 * 1024);
	assert_false(st.emergency);
	assert_foreign_intact(d->bfd);

	/* One more: 1012 KiB = 98.8 %: emergency, oldest first to <= 50 %. */
	make_file(d->bfd, "aod_110_smb_latency.tar.zst", 92 * 1024, now);
	assert_int_equal(aod_retention_check(d->top, &p, now, &st), 0);
	assert_true(st.emergency);
	assert_int_equal(st.next_check_sec, 15);
	assert_int_equal(st.deleted, 6);
	assert_int_equal(st.deleted_size, 6);
	assert_int_equal(st.total_after, 5 * 92 * 1024);
	assert_true(st.total_after * 2 <= p.budget_bytes);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "aod_%d_smb_latency.tar.zst", 100 + i);
		assert_false(exists(d->bfd, name));
	}
	for (int i = 6; i <= 10; i++) {
		snprintf(name, sizeof(name), "aod_%d_smb_latency.tar.zst", 100 + i);
		assert_true(exists(d->bfd, name));
	}
	assert_foreign_intact(d->bfd);

	/* Normal path: 5 left + 5 new (one larger) = 940 KiB = 91.8 %: to <= 70 %. */
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "aod_%d_block_latency.tar.zst", 200 + i);
		make_file(d->bfd, name, 92 * 1024 + (i == 4 ? 20 * 1024 : 0), now + (uint64_t)i);
	}
	assert_int_equal(aod_retention_check(d->top, &p, now + 10, &st), 0);
	assert_false(st.emergency);
	assert_int_equal(st.next_check_sec, 60);
	assert_true(st.total_after * 100 <= p.budget_bytes * 70);
	assert_int_equal(st.deleted, 3);
	assert_false(exists(d->bfd, "aod_106_smb_latency.tar.zst"));
	assert_false(exists(d->bfd, "aod_108_smb_latency.tar.zst"));
	assert_true(exists(d->bfd, "aod_109_smb_latency.tar.zst"));
	assert_foreign_intact(d->bfd);
}

static void test_fs_age_each_check(void **state)
{
	struct fsdir *d = *state;
	struct aod_retention_policy p = { .budget_bytes = 1024 * 1024 * 1024ULL,
					  .max_age_ns = 2 * DAY_NS, .interval_sec = 60 };
	struct aod_retention_stats st;
	uint64_t now = aod_wall_ns();

	make_foreign(d->bfd, now);
	make_file(d->bfd, "aod_1_smb_latency.tar.zst", 100, now - 3 * DAY_NS);
	make_file(d->bfd, "aod_2_smb_latency.tar.zst", 100, now - DAY_NS);
	assert_int_equal(aod_retention_check(d->top, &p, now, &st), 0);
	assert_int_equal(st.deleted, 1);
	assert_int_equal(st.deleted_age, 1);
	assert_false(exists(d->bfd, "aod_1_smb_latency.tar.zst"));
	assert_true(exists(d->bfd, "aod_2_smb_latency.tar.zst"));

	/* The very next check, a minute later, already prunes a newly old one. */
	make_file(d->bfd, "aod_3_smb_latency.tar.zst", 100, now - 5 * DAY_NS);
	assert_int_equal(aod_retention_check(d->top, &p, now + 60 * AOD_NSEC_PER_SEC, &st), 0);
	assert_int_equal(st.deleted_age, 1);
	assert_false(exists(d->bfd, "aod_3_smb_latency.tar.zst"));
	assert_true(exists(d->bfd, "aod_2_smb_latency.tar.zst"));
	assert_foreign_intact(d->bfd);
}

static void test_fs_missing_dir_is_fine(void **state)
{
	struct aod_retention_policy p = { .budget_bytes = 1000, .interval_sec = 30 };
	struct aod_retention_stats st;

	assert_int_equal(aod_retention_check("/nonexistent/aod-test", &p, NOW_NS, &st), 0);
	assert_int_equal(st.bundles, 0);
	assert_int_equal(st.next_check_sec, 30);
	assert_int_equal(aod_retention_clean_staging("/nonexistent/aod-test"), 0);
}

static void test_fs_clean_staging(void **state)
{
	struct fsdir *d = *state;
	uint64_t now = aod_wall_ns();
	int sfd;

	make_foreign(d->bfd, now);
	assert_int_equal(mkdirat(d->bfd, ".staging-22", 0700), 0);
	sfd = openat(d->bfd, ".staging-22", O_RDONLY | O_DIRECTORY);
	assert_int_equal(mkdirat(sfd, "sub", 0700), 0);
	make_file(sfd, "sub/x", 10, now);
	close(sfd);
	assert_int_equal(mkdirat(d->bfd, ".staging-notanid", 0700), 0);
	make_file(d->bfd, "aod_5_smb_latency.tar.zst", 100, now);
	make_file(d->bfd, ".hidden.tmp", 10, now);

	assert_int_equal(aod_retention_clean_staging(d->top), 3);
	assert_false(exists(d->bfd, ".staging-1"));
	assert_false(exists(d->bfd, ".staging-22"));
	assert_false(exists(d->bfd, ".aod_9_smb_latency.tar.zst.tmp"));
	/* Anything else stays. */
	assert_true(exists(d->bfd, ".staging-notanid"));
	assert_true(exists(d->bfd, ".hidden.tmp"));
	assert_true(exists(d->bfd, "notes.txt"));
	assert_true(exists(d->bfd, "aod_foo.tar.zst.bak"));
	assert_true(exists(d->bfd, "aod_5_smb_latency.tar.zst"));
	assert_true(exists(d->bfd, "aod_8_smb_latency.tar.zst"));
	assert_int_equal(aod_retention_clean_staging(d->top), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_pattern),
		cmocka_unit_test(test_below_90_pct_no_action),
		cmocka_unit_test(test_90_pct_cleans_to_70_oldest_first),
		cmocka_unit_test(test_just_below_95_is_normal),
		cmocka_unit_test(test_95_pct_emergency_to_50),
		cmocka_unit_test(test_emergency_interval_floor),
		cmocka_unit_test(test_order_ties_and_unsorted_input),
		cmocka_unit_test(test_age_every_check_and_before_size),
		cmocka_unit_test(test_foreign_names_never_count),
		cmocka_unit_test_setup_teardown(test_fs_check_budget_holds, fs_setup, fs_teardown),
		cmocka_unit_test_setup_teardown(test_fs_age_each_check, fs_setup, fs_teardown),
		cmocka_unit_test(test_fs_missing_dir_is_fine),
		cmocka_unit_test_setup_teardown(test_fs_clean_staging, fs_setup, fs_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
