// SPDX-License-Identifier: MIT
/*
 * Quick actions against real processes and files: timeouts that kill the
 * whole process group, caps that keep the tail, missing tools and files
 * recorded, the global concurrency limit observed from inside the running
 * programs, quick-first scheduling, cancel, and every built-in action on
 * this host. Helpers: $(BUILD)/tests/act_chatty and act_forker, found next
 * to this binary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect/action.h"
#include "collect/action_internal.h"
#include "collect/contain.h"
#include "collect/exec.h"
#include "common/timeutil.h"
#include "config/config.h"

static char helper_dir[256];

struct tmp {
	char path[64];
	int dirfd;
};

static void tmp_open(struct tmp *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/aod-test-actions-XXXXXX");
	assert_non_null(mkdtemp(t->path));
	t->dirfd = open(t->path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	assert_true(t->dirfd >= 0);
}

static void tmp_close(struct tmp *t)
{
	DIR *d = fdopendir(dup(t->dirfd));
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(t->dirfd, e->d_name, 0);
	if (d)
		closedir(d);
	close(t->dirfd);
	rmdir(t->path);
}

/* Whole output file, NUL-terminated (caller frees). */
static char *slurp(int dirfd, const char *file, size_t *len)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	n = pread(fd, buf, (size_t)st.st_size, 0);
	assert_int_equal(n, st.st_size);
	buf[n] = '\0';
	close(fd);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void helper(char *out, const char *name)
{
	snprintf(out, AOD_ARG_LEN, "%s/%s", helper_dir, name);
}

/* An EXEC spec; argv given as a NULL-terminated list after the helper name. */
static void exec_spec(struct aod_action_spec *s, const char *name, bool quick, uint32_t timeout,
		      uint64_t max, const char *prog, ...)
{
	va_list ap;
	const char *arg;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->file, sizeof(s->file), "%s.log", name);
	s->kind = AOD_ACTION_EXEC;
	s->quick = quick;
	s->timeout_sec = timeout;
	s->max_bytes = max;
	if (prog[0] == '/')
		snprintf(s->argv[s->argc++], AOD_ARG_LEN, "%s", prog);
	else
		helper(s->argv[s->argc++], prog);
	va_start(ap, prog);
	while ((arg = va_arg(ap, const char *)))
		snprintf(s->argv[s->argc++], AOD_ARG_LEN, "%s", arg);
	va_end(ap);
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* A process is gone, or a zombie nobody reaped yet: either way not running. */
static bool process_dead(int pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && (p[2] == 'Z' || p[2] == 'X');
}

/* ---- the runner ---- */

static void test_timeout_keeps_partial_output(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s;
	struct aod_action_result r;
	struct tmp t;
	char *out;

	tmp_open(&t);
	exec_spec(&s, "chatty", false, 1, 1 << 20, "act_chatty", "-n", "3", "-s", "30000", NULL);
	assert_int_equal(aod_actions_run(pool, &s, 1, t.dirfd, &r), 0);
	printf("# timeout: %.3f s, error '%s', signal %d, %llu bytes\n", secs(r.duration_ns),
	       r.error, r.term_signal, (unsigned long long)r.bytes);
	assert_true(r.timed_out);
	assert_true(r.duration_ns < 3 * AOD_NSEC_PER_SEC);
	assert_true(r.duration_ns >= 1 * AOD_NSEC_PER_SEC);
	assert_int_equal(r.term_signal, SIGTERM);
	assert_int_equal(r.exit_code, -1);
	assert_non_null(strstr(r.error, "timed out"));
	assert_int_equal(r.bytes, 3 * 64);
	assert_true(r.start_wall_ns > 0);
	out = slurp(t.dirfd, "chatty.log", NULL);
	assert_non_null(strstr(out, "line 00000003"));
	free(out);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

static void test_cap_keeps_tail(void **state)
{
	const uint64_t total = 16384 * 64; /* 1 MiB */
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s;
	struct aod_action_result r;
	struct tmp t;
	size_t len;
	char *out;

	tmp_open(&t);
	exec_spec(&s, "big", true, 10, 4096, "act_chatty", "-n", "16384", NULL);
	assert_int_equal(aod_actions_run(pool, &s, 1, t.dirfd, &r), 0);
	assert_int_equal(r.exit_code, 0);
	assert_true(r.truncated);
	assert_int_equal(r.bytes, 4096);
	assert_int_equal(r.bytes_dropped, total - 4096);
	out = slurp(t.dirfd, "big.log", &len);
	assert_int_equal(len, 4096);
	/* 4096 = 64 whole lines: exactly lines 16321..16384 */
	assert_non_null(strstr(out, "line 00016384"));
	assert_memory_equal(out, "line 00016321 ", 14);
	assert_null(strstr(out, "line 00000001"));
	assert_null(strstr(out, "line 00016320"));
	free(out);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

/* A program that floods its output until the timeout: the clock still wins. */
static void test_flood_times_out(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s;
	struct aod_action_result r;
	struct tmp t;
	size_t len;
	char *out;

	tmp_open(&t);
	exec_spec(&s, "yes", false, 1, 4096, "/usr/bin/yes", NULL);
	assert_int_equal(aod_actions_run(pool, &s, 1, t.dirfd, &r), 0);
	printf("# flood: %.3f s, kept %llu, dropped %llu\n", secs(r.duration_ns),
	       (unsigned long long)r.bytes, (unsigned long long)r.bytes_dropped);
	assert_true(r.timed_out);
	assert_true(r.duration_ns < 3 * AOD_NSEC_PER_SEC);
	assert_int_equal(r.bytes, 4096);
	assert_true(r.bytes_dropped > 1000000);
	assert_true(r.truncated);
	out = slurp(t.dirfd, "yes.log", &len);
	assert_int_equal(len, 4096);
	for (size_t i = 0; i < len; i += 2)
		assert_memory_equal(out + i, "y\n", 2);
	free(out);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

/* The sink on its own: odd-sized writes, the tail must be exact. */
static void test_sink_exact_tail(void **state)
{
	struct aod_action_result r = {0};
	struct aod_sink sink;
	char chunk[1000], expect[1000];
	uint64_t written = 0;
	struct tmp t;
	size_t len;
	char *out;
	int fd;

	tmp_open(&t);
	fd = openat(t.dirfd, "sink.log", O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "HEAD", 4), 4); /* the sink starts at the fd's offset */
	aod_sink_init(&sink, fd, 777);
	for (unsigned i = 0; i < 3000; i++) {
		size_t n = 1 + (i * 37) % sizeof(chunk);

		for (size_t k = 0; k < n; k++)
			chunk[k] = (char)('a' + (written + k) % 23);
		aod_sink_write(&sink, chunk, n);
		written += n;
	}
	assert_int_equal(aod_sink_finish(&sink, &r), 0);
	close(fd);
	assert_int_equal(r.bytes, 777);
	assert_int_equal(r.bytes_dropped, written - 777);
	assert_true(r.truncated);
	for (size_t k = 0; k < 777; k++)
		expect[k] = (char)('a' + (written - 777 + k) % 23);
	out = slurp(t.dirfd, "sink.log", &len);
	assert_int_equal(len, 4 + 777);
	assert_memory_equal(out, "HEAD", 4);
	assert_memory_equal(out + 4, expect, 777);
	free(out);
	tmp_close(&t);
}

static void test_copy_cap_and_missing(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s[2] = {0};
	struct aod_action_result r[2];
	char src[128];
	struct tmp t;
	char *out;
	FILE *f;

	tmp_open(&t);
	snprintf(src, sizeof(src), "%s/source", t.path);
	f = fopen(src, "w");
	assert_non_null(f);
	for (int i = 1; i <= 20000; i++)
		fprintf(f, "row %06d\n", i); /* 11 bytes a row */
	fclose(f);
	snprintf(s[0].name, sizeof(s[0].name), "copy");
	snprintf(s[0].file, sizeof(s[0].file), "copy.log");
	snprintf(s[0].path, sizeof(s[0].path), "%s", src);
	s[0].kind = AOD_ACTION_COPY;
	s[0].max_bytes = 110;
	snprintf(s[1].name, sizeof(s[1].name), "gone");
	snprintf(s[1].file, sizeof(s[1].file), "gone.log");
	snprintf(s[1].path, sizeof(s[1].path), "/nonexistent/aod/DebugData");
	s[1].kind = AOD_ACTION_COPY;
	s[1].max_bytes = 1000;
	assert_int_equal(aod_actions_run(pool, s, 2, t.dirfd, r), 0);
	assert_true(r[0].truncated);
	assert_int_equal(r[0].bytes, 110);
	assert_int_equal(r[0].bytes_dropped, 20000 * 11 - 110);
	assert_string_equal(r[0].error, "");
	assert_string_equal(r[0].desc, src);
	out = slurp(t.dirfd, "copy.log", NULL);
	assert_string_equal(out, "row 019991\nrow 019992\nrow 019993\nrow 019994\nrow 019995\n"
				 "row 019996\nrow 019997\nrow 019998\nrow 019999\nrow 020000\n");
	free(out);
	assert_string_equal(r[1].error, "missing: /nonexistent/aod/DebugData");
	assert_false(r[1].skipped);
	out = slurp(t.dirfd, "gone.log", NULL); /* says why it is empty */
	assert_string_equal(out, "aod: missing: /nonexistent/aod/DebugData\n");
	free(out);
	unlink(src);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

static int big_func(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	char line[32];

	for (int i = 0; i < 10000; i++) {
		int n = snprintf(line, sizeof(line), "%09d\n", i); /* 10 bytes */

		if (write(fd, line, (size_t)n) != n)
			return -errno;
	}
	return 0;
}

static int failing_func(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	aod_func_error(ctx, "could not look at %s", "the thing");
	return -EIO;
}

static void test_func_cap_and_error(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s[2] = {0};
	struct aod_action_result r[2];
	struct tmp t;
	char *out;

	tmp_open(&t);
	snprintf(s[0].name, sizeof(s[0].name), "bigfunc");
	snprintf(s[0].file, sizeof(s[0].file), "bigfunc.txt");
	s[0].kind = AOD_ACTION_FUNC;
	s[0].fn = big_func;
	s[0].max_bytes = 30;
	snprintf(s[1].name, sizeof(s[1].name), "failing");
	snprintf(s[1].file, sizeof(s[1].file), "failing.txt");
	s[1].kind = AOD_ACTION_FUNC;
	s[1].fn = failing_func;
	assert_int_equal(aod_actions_run(pool, s, 2, t.dirfd, r), 0);
	assert_int_equal(r[0].bytes, 30);
	assert_int_equal(r[0].bytes_dropped, 100000 - 30);
	assert_true(r[0].truncated);
	out = slurp(t.dirfd, "bigfunc.txt", NULL);
	assert_string_equal(out, "000009997\n000009998\n000009999\n");
	free(out);
	assert_string_equal(r[1].error, "could not look at the thing");
	tmp_close(&t);
	aod_action_pool_free(pool);
}

static void test_missing_binary(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s[2];
	struct aod_action_result r[2];
	struct tmp t;
	char *out;

	tmp_open(&t);
	exec_spec(&s[0], "nosuch", true, 5, 1000, "/usr/bin/aod-no-such-tool", "-x", NULL);
	exec_spec(&s[1], "nosuchname", true, 5, 1000, "/usr/bin/true", NULL);
	snprintf(s[1].argv[0], AOD_ARG_LEN, "aod-no-such-tool-either"); /* PATH lookup */
	assert_int_equal(aod_actions_run(pool, s, 2, t.dirfd, r), 0);
	assert_string_equal(r[0].error, "not found: /usr/bin/aod-no-such-tool");
	assert_string_equal(r[0].desc, "/usr/bin/aod-no-such-tool -x");
	assert_int_equal(r[0].exit_code, -1);
	assert_false(r[0].timed_out);
	assert_string_equal(r[1].error, "not found: aod-no-such-tool-either");
	out = slurp(t.dirfd, "nosuch.log", NULL);
	assert_string_equal(out, "aod: not found: /usr/bin/aod-no-such-tool\n");
	free(out);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

static void test_exit_code_signal_stderr(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s[3];
	struct aod_action_result r[3];
	struct tmp t;
	char *out;

	tmp_open(&t);
	exec_spec(&s[0], "exit3", true, 5, 1000, "act_chatty", "-n", "1", "-e", "3", NULL);
	exec_spec(&s[1], "killed", true, 5, 1000, "act_chatty", "-k", "9", NULL);
	exec_spec(&s[2], "stderr", true, 5, 1000, "act_chatty", "-E", "-n", "1", NULL);
	assert_int_equal(aod_actions_run(pool, s, 3, t.dirfd, r), 0);
	assert_int_equal(r[0].exit_code, 3);
	assert_int_equal(r[0].term_signal, 0);
	assert_string_equal(r[0].error, "");
	assert_int_equal(r[1].exit_code, -1);
	assert_int_equal(r[1].term_signal, SIGKILL);
	assert_false(r[1].timed_out);
	assert_int_equal(r[2].exit_code, 0);
	out = slurp(t.dirfd, "stderr.log", NULL);
	assert_non_null(strstr(out, "stderr line from act_chatty\n"));
	assert_non_null(strstr(out, "line 00000001"));
	free(out);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

/* The child sees only stdin (/dev/null), stdout and stderr, and a fixed environment. */
static void test_child_environment(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s;
	struct aod_action_result r;
	int leak = open("/dev/null", O_RDONLY); /* not close-on-exec: must not leak */
	struct tmp t;
	char *out;

	assert_true(leak > 2);
	setenv("AOD_TEST_SECRET", "must-not-pass", 1);
	tmp_open(&t);
	exec_spec(&s, "env", true, 5, 4096, "act_chatty", "-f", NULL);
	assert_int_equal(aod_actions_run(pool, &s, 1, t.dirfd, &r), 0);
	out = slurp(t.dirfd, "env.log", NULL);
	printf("# %s", out);
	assert_non_null(strstr(out, "fds: 0 1 2\n"));
	assert_non_null(strstr(out, "stdin: /dev/null\n"));
	assert_non_null(strstr(out, "env: PATH=" AOD_EXEC_PATH " LC_ALL=C\n"));
	free(out);
	close(leak);
	unsetenv("AOD_TEST_SECRET");
	tmp_close(&t);
	aod_action_pool_free(pool);
}

static int grandchild_of(int dirfd, const char *file)
{
	char *out = slurp(dirfd, file, NULL);
	char *p = strstr(out, "grandchild ");
	int pid = p ? atoi(p + 11) : 0;

	free(out);
	return pid;
}

static void wait_dead(int pid)
{
	for (int i = 0; i < 100 && !process_dead(pid); i++)
		usleep(10000);
	assert_true(process_dead(pid));
}

static void test_process_group_killed(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s[2];
	struct aod_action_result r[2];
	uint64_t t0 = aod_mono_ns();
	struct tmp t;
	int pid;

	tmp_open(&t);
	exec_spec(&s[0], "forkwait", false, 1, 1000, "act_forker", "wait", NULL);
	/* the leader exits at once; its grandchild keeps the pipe open */
	exec_spec(&s[1], "forkexit", false, 1, 1000, "act_forker", "exit", NULL);
	assert_int_equal(aod_actions_run(pool, s, 2, t.dirfd, r), 0);
	assert_true(aod_mono_ns() - t0 < 3 * AOD_NSEC_PER_SEC);
	for (int i = 0; i < 2; i++) {
		printf("# %s: timed_out %d exit %d signal %d %.3f s\n", r[i].name, r[i].timed_out,
		       r[i].exit_code, r[i].term_signal, secs(r[i].duration_ns));
		assert_true(r[i].timed_out);
		pid = grandchild_of(t.dirfd, r[i].file);
		assert_true(pid > 0);
		wait_dead(pid);
	}
	assert_int_equal(r[0].term_signal, SIGTERM);
	assert_int_equal(r[1].exit_code, 0);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

/* ---- the pool ---- */

struct run_arg {
	struct aod_action_pool *pool;
	struct aod_action_spec *specs;
	struct aod_action_result *results;
	size_t n;
	int dirfd;
	unsigned delay_ms;
	int rc;
};

static void *run_thread(void *p)
{
	struct run_arg *a = p;

	usleep(a->delay_ms * 1000);
	a->rc = aod_actions_run(a->pool, a->specs, a->n, a->dirfd, a->results);
	return NULL;
}

static void test_concurrency_limit_observed(void **state)
{
	enum { CALLS = 3, PER_CALL = 10 };
	struct aod_action_pool *pool = aod_action_pool_new(4);
	static struct aod_action_spec specs[CALLS][PER_CALL];
	static struct aod_action_result results[CALLS][PER_CALL];
	struct run_arg args[CALLS];
	pthread_t th[CALLS];
	char live[AOD_ARG_LEN];
	int max_seen = 0;
	struct tmp t;

	tmp_open(&t);
	snprintf(live, sizeof(live), "%s/live", t.path);
	assert_int_equal(mkdir(live, 0700), 0);
	for (int c = 0; c < CALLS; c++) {
		for (int i = 0; i < PER_CALL; i++) {
			char name[32];

			snprintf(name, sizeof(name), "slow%d_%d", c, i);
			exec_spec(&specs[c][i], name, false, 10, 1000, "act_chatty", "-c", live,
				  "-s", "250", NULL);
		}
		args[c] = (struct run_arg){pool, specs[c], results[c], PER_CALL, t.dirfd, 0, 0};
		assert_int_equal(pthread_create(&th[c], NULL, run_thread, &args[c]), 0);
	}
	for (int c = 0; c < CALLS; c++) {
		pthread_join(th[c], NULL);
		assert_int_equal(args[c].rc, 0);
	}
	/* What the programs themselves saw: live instances at their start. */
	for (int c = 0; c < CALLS; c++) {
		for (int i = 0; i < PER_CALL; i++) {
			char *out = slurp(t.dirfd, results[c][i].file, NULL);
			int n = 0;

			assert_int_equal(results[c][i].exit_code, 0);
			assert_int_equal(sscanf(out, "concurrent %d", &n), 1);
			if (n > max_seen)
				max_seen = n;
			free(out);
		}
	}
	printf("# pool peak %u, most live helpers seen %d (limit 4)\n", aod_action_pool_peak(pool),
	       max_seen);
	assert_int_equal(aod_action_pool_peak(pool), 4);
	assert_true(max_seen <= 4);
	assert_int_equal(max_seen, 4);
	rmdir(live);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

static void test_quick_first_within_call(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(1);
	struct aod_action_spec s[4];
	struct aod_action_result r[4];
	struct tmp t;

	tmp_open(&t);
	exec_spec(&s[0], "slowA", false, 5, 1000, "act_chatty", "-s", "20", NULL);
	exec_spec(&s[1], "quickB", true, 5, 1000, "act_chatty", "-s", "20", NULL);
	exec_spec(&s[2], "slowC", false, 5, 1000, "act_chatty", "-s", "20", NULL);
	exec_spec(&s[3], "quickD", true, 5, 1000, "act_chatty", "-s", "20", NULL);
	assert_int_equal(aod_actions_run(pool, s, 4, t.dirfd, r), 0);
	assert_true(r[1].start_wall_ns < r[3].start_wall_ns);
	assert_true(r[3].start_wall_ns < r[0].start_wall_ns);
	assert_true(r[0].start_wall_ns < r[2].start_wall_ns);
	assert_int_equal(aod_action_pool_peak(pool), 1);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

/* Two collections wait for the one slot: the quick action of the later
 * one runs before the slow action of the earlier one. */
static void test_quick_first_across_calls(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(1);
	struct aod_action_spec blocker, slow, quick;
	struct aod_action_result rb, rs, rq;
	struct run_arg a[3];
	pthread_t th[3];
	struct tmp t;

	tmp_open(&t);
	exec_spec(&blocker, "blocker", false, 5, 1000, "act_chatty", "-s", "600", NULL);
	exec_spec(&slow, "slow", false, 5, 1000, "act_chatty", "-s", "10", NULL);
	exec_spec(&quick, "quick", true, 5, 1000, "act_chatty", "-s", "10", NULL);
	a[0] = (struct run_arg){pool, &blocker, &rb, 1, t.dirfd, 0, 0};
	a[1] = (struct run_arg){pool, &slow, &rs, 1, t.dirfd, 150, 0};
	a[2] = (struct run_arg){pool, &quick, &rq, 1, t.dirfd, 300, 0};
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, run_thread, &a[i]), 0);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].rc, 0);
	}
	assert_true(rb.start_wall_ns < rq.start_wall_ns);
	assert_true(rq.start_wall_ns < rs.start_wall_ns);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

static void test_cancel(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(1);
	struct aod_action_spec s[2];
	struct aod_action_result r[2];
	struct run_arg a;
	pthread_t th;
	uint64_t t0;
	struct tmp t;

	tmp_open(&t);
	exec_spec(&s[0], "long1", false, 30, 1000, "act_chatty", "-n", "1", "-s", "30000", NULL);
	exec_spec(&s[1], "long2", false, 30, 1000, "act_chatty", "-s", "30000", NULL);
	a = (struct run_arg){pool, s, r, 2, t.dirfd, 0, 0};
	t0 = aod_mono_ns();
	assert_int_equal(pthread_create(&th, NULL, run_thread, &a), 0);
	usleep(300000);
	aod_action_pool_cancel(pool);
	pthread_join(th, NULL);
	printf("# cancel: returned after %.3f s: '%s' / '%s'\n", secs(aod_mono_ns() - t0),
	       r[0].error, r[1].error);
	assert_int_equal(a.rc, -ECANCELED);
	assert_true(aod_mono_ns() - t0 < 2 * AOD_NSEC_PER_SEC);
	assert_string_equal(r[0].error, "cancelled");
	assert_int_equal(r[0].term_signal, SIGTERM);
	assert_int_equal(r[0].bytes, 64); /* its partial output is kept */
	assert_string_equal(r[1].error, "cancelled before it started");
	assert_int_equal(r[1].exit_code, -1);
	/* A cancelled pool refuses new work at once. */
	t0 = aod_mono_ns();
	assert_int_equal(aod_actions_run(pool, s, 1, t.dirfd, r), -ECANCELED);
	assert_true(aod_mono_ns() - t0 < AOD_NSEC_PER_SEC / 2);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

/* ---- containment and collectors in a child process ---- */

static struct aod_action_pool *pool_in_mode(const char *mode, unsigned max)
{
	struct aod_action_pool *pool;

	setenv("AOD_ACTION_CONTAIN", mode, 1);
	pool = aod_action_pool_new(max);
	unsetenv("AOD_ACTION_CONTAIN");
	assert_non_null(pool);
	return pool;
}

static bool cgroup_modes_work(void)
{
	struct aod_action_pool *pool = aod_action_pool_new(1);
	bool ok = aod_contain_mode(aod_pool_contain(pool)) != AOD_CONTAIN_TREE;

	aod_action_pool_free(pool);
	return ok;
}

/*
 * A grandchild that called setsid() is outside the action's process group:
 * killing the group (what aod did before cells) leaves it running. Every
 * containment mode must kill it, by its deadline (setsid-wait) or when the
 * action ends (setsid-exit: the leader exits at once, the grandchild lets
 * go of the output; in tree mode it is out of reach then, see contain.h).
 */
static void test_setsid_grandchild_killed(void **state)
{
	static const char *const modes[] = {"kill", "freeze", "tree"};
	bool cgroups = cgroup_modes_work();

	for (int m = 0; m < 3; m++) {
		struct aod_action_pool *pool;
		struct aod_action_spec s[2];
		struct aod_action_result r[2];
		size_t n = m < 2 ? 2 : 1;
		struct tmp t;

		if (m < 2 && !cgroups) {
			printf("SKIP: setsid grandchild, mode %s: no writable cgroup2 here\n",
			       modes[m]);
			continue;
		}
		pool = pool_in_mode(modes[m], 4);
		assert_int_equal(aod_contain_mode(aod_pool_contain(pool)), m);
		tmp_open(&t);
		exec_spec(&s[0], "setsidwait", false, 1, 1000, "act_forker", "setsid-wait", NULL);
		exec_spec(&s[1], "setsidexit", false, 5, 1000, "act_forker", "setsid-exit", NULL);
		assert_int_equal(aod_actions_run(pool, s, n, t.dirfd, r), 0);
		for (size_t i = 0; i < n; i++) {
			int pid = grandchild_of(t.dirfd, r[i].file);

			printf("# %s %s: grandchild %d, timed_out %d, %.3f s, '%s'\n", modes[m],
			       r[i].name, pid, r[i].timed_out, secs(r[i].duration_ns), r[i].error);
			assert_true(pid > 0);
			/* killed when the action returns: it has left its cgroup, its
			 * files closed, but may not be a zombie yet (do_exit) */
			wait_dead(pid);
		}
		assert_true(r[0].timed_out);
		if (n > 1) {
			assert_false(r[1].timed_out);
			assert_int_equal(r[1].exit_code, 0);
			assert_true(r[1].duration_ns < 4 * AOD_NSEC_PER_SEC);
		}
		tmp_close(&t);
		aod_action_pool_free(pool);
	}
}

static void func_spec(struct aod_action_spec *s, const char *name, aod_action_fn fn,
		      uint32_t timeout)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->file, sizeof(s->file), "%s.txt", name);
	s->kind = AOD_ACTION_FUNC;
	s->fn = fn;
	s->timeout_sec = timeout;
	s->max_bytes = 1 << 20;
}

/* Writes three lines, says where it runs, then blocks for ever. */
static int blocking_func(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	int p[2];
	char c;

	for (int i = 1; i <= 3; i++)
		dprintf(fd, "partial line %d\n", i);
	aod_func_desc(ctx, "blocking collector in pid %d", (int)getpid());
	aod_func_error(ctx, "about to block");
	if (pipe(p))
		return -errno;
	return read(p[0], &c, 1) < 0 ? -errno : -EIO; /* nobody ever writes */
}

static void test_blocking_collector_killed(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s;
	struct aod_action_result r;
	struct tmp t;
	char *out;
	int pid = 0;

	tmp_open(&t);
	func_spec(&s, "blocker", blocking_func, 1);
	assert_int_equal(aod_actions_run(pool, &s, 1, t.dirfd, &r), 0);
	printf("# blocking collector: %.3f s, '%s', desc '%s', %llu bytes\n", secs(r.duration_ns),
	       r.error, r.desc, (unsigned long long)r.bytes);
	assert_true(r.timed_out);
	assert_int_equal(r.exit_code, -1);
	/* killed after its timeout and the 1 s grace of a collector, not much later */
	assert_true(r.duration_ns >= 1 * AOD_NSEC_PER_SEC + AOD_EXEC_KILL_GRACE_MS * AOD_NSEC_PER_MSEC);
	assert_true(r.duration_ns < 5 * AOD_NSEC_PER_SEC);
	assert_string_equal(r.error, "timed out after 1 s, killed; before: about to block");
	assert_int_equal(sscanf(r.desc, "blocking collector in pid %d", &pid), 1);
	assert_true(pid > 0 && pid != (int)getpid()); /* it ran in a child */
	wait_dead(pid);
	out = slurp(t.dirfd, "blocker.txt", NULL);
	assert_string_equal(out, "partial line 1\npartial line 2\npartial line 3\n");
	assert_int_equal(r.bytes, strlen(out));
	free(out);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

/* Everything a collector records goes through shared memory to the parent. */
static int reporting_func(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	char chatty[AOD_ARG_LEN];
	const char *argv[] = {chatty, "-n", "100", NULL};
	struct aod_action_result sub;

	helper(chatty, "act_chatty");
	dprintf(fd, "collector pid %d\n", (int)getpid());
	aod_func_desc(ctx, "described by the child");
	aod_func_skip(ctx, "not applicable, says pid %d", (int)getpid());
	return aod_func_exec(ctx, argv, 5000, 640, fd, &sub); /* 6400 bytes, 640 kept */
}

static void test_collector_results_reach_parent(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s;
	struct aod_action_result r;
	struct tmp t;
	char *out;
	int pid = 0, pid2 = 0;

	tmp_open(&t);
	func_spec(&s, "reporter", reporting_func, 10);
	assert_int_equal(aod_actions_run(pool, &s, 1, t.dirfd, &r), 0);
	out = slurp(t.dirfd, "reporter.txt", NULL);
	assert_int_equal(sscanf(out, "collector pid %d", &pid), 1);
	assert_int_equal(sscanf(r.error, "not applicable, says pid %d", &pid2), 1);
	assert_true(pid > 0 && pid != (int)getpid());
	assert_int_equal(pid, pid2);
	assert_true(r.skipped);
	assert_string_equal(r.desc, "described by the child");
	assert_true(r.truncated);
	assert_int_equal(r.bytes_dropped, 100 * 64 - 640);
	assert_false(r.timed_out);
	assert_non_null(strstr(out, "line 00000100"));
	free(out);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

/* A collector's own setsid() grandchild does not outlive the action. */
static int setsid_func(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		setsid();
		sleep(30);
		_exit(0);
	}
	dprintf(fd, "grandchild %d\n", (int)pid);
	return pid < 0 ? -errno : 0;
}

static void test_collector_setsid_grandchild_killed(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s;
	struct aod_action_result r;
	struct tmp t;
	int pid;

	tmp_open(&t);
	func_spec(&s, "daemonizer", setsid_func, 5);
	assert_int_equal(aod_actions_run(pool, &s, 1, t.dirfd, &r), 0);
	pid = grandchild_of(t.dirfd, "daemonizer.txt");
	printf("# collector grandchild %d: %.3f s, '%s' (%s)\n", pid, secs(r.duration_ns), r.error,
	       aod_contain_mode_name(aod_contain_mode(aod_pool_contain(pool))));
	assert_true(pid > 0);
	wait_dead(pid);
	assert_false(r.timed_out);
	assert_string_equal(r.error, "");
	tmp_close(&t);
	aod_action_pool_free(pool);
}

static void test_cancel_blocking_collector(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(1);
	struct aod_action_spec s;
	struct aod_action_result r;
	struct run_arg a;
	pthread_t th;
	uint64_t t0;
	struct tmp t;

	tmp_open(&t);
	func_spec(&s, "blocker", blocking_func, 30);
	a = (struct run_arg){pool, &s, &r, 1, t.dirfd, 0, 0};
	t0 = aod_mono_ns();
	assert_int_equal(pthread_create(&th, NULL, run_thread, &a), 0);
	usleep(300000);
	aod_action_pool_cancel(pool);
	pthread_join(th, NULL);
	printf("# cancel blocking collector: %.3f s, '%s'\n", secs(aod_mono_ns() - t0), r.error);
	assert_int_equal(a.rc, -ECANCELED);
	assert_true(aod_mono_ns() - t0 < 3 * AOD_NSEC_PER_SEC);
	assert_false(r.timed_out);
	assert_string_equal(r.error, "about to block"); /* its own note stays; cancel is the rc */
	assert_int_equal(r.bytes, 3 * 15);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

static void copy_spec(struct aod_action_spec *s, const char *name, const char *path,
		      uint32_t timeout)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->file, sizeof(s->file), "%s.log", name);
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->kind = AOD_ACTION_COPY;
	s->timeout_sec = timeout;
	s->max_bytes = 1 << 20;
}

/* A FIFO in place of a /proc file: no writer, or a writer that never writes. */
static void test_copy_fifo_cannot_hang(void **state)
{
	struct aod_action_pool *pool = aod_action_pool_new(4);
	struct aod_action_spec s;
	struct aod_action_result r;
	char fifo[128];
	struct tmp t;
	int keep;

	tmp_open(&t);
	snprintf(fifo, sizeof(fifo), "%s/fifo", t.path);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	copy_spec(&s, "fifo", fifo, 2);
	assert_int_equal(aod_actions_run(pool, &s, 1, t.dirfd, &r), 0);
	assert_false(r.timed_out);
	assert_true(r.duration_ns < AOD_NSEC_PER_SEC);
	keep = open(fifo, O_RDWR); /* a writer that stays silent */
	assert_true(keep >= 0);
	assert_int_equal(aod_actions_run(pool, &s, 1, t.dirfd, &r), 0);
	printf("# fifo with a silent writer: %.3f s, '%s'\n", secs(r.duration_ns), r.error);
	assert_false(r.timed_out);
	assert_true(r.duration_ns < AOD_NSEC_PER_SEC);
	close(keep);
	unlink(fifo);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

#define HUNG_LINE "hung_fuse: the first read of this file works, the next one hangs\n"

/* hung_fuse on mnt in this (private) mount namespace; its pid, or -1. */
static pid_t start_hung_fuse(const char *mnt, const char *mode)
{
	char prog[AOD_ARG_LEN], line[32] = "";
	int p[2];
	pid_t pid;
	FILE *f;

	helper(prog, "hung_fuse");
	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execl(prog, prog, mnt, mode, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || strcmp(line, "ready\n")) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	if (f)
		fclose(f);
	return pid;
}

/* In a child with its own mount namespace: a COPY of a file whose second
 * read never returns (a hung server) is killed at its deadline. */
static int hung_copy_child(struct tmp *t)
{
	struct aod_action_pool *pool;
	struct aod_action_spec s;
	struct aod_action_result r;
	char mnt[128], file[160], *out;
	pid_t fuse;
	int rc = 0;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return 77; /* a chroot: / is no mount point */
	snprintf(mnt, sizeof(mnt), "%s/mnt", t->path);
	snprintf(file, sizeof(file), "%s/DebugData", mnt);
	if (mkdir(mnt, 0700) || (fuse = start_hung_fuse(mnt, "read")) < 0)
		return 78;
	pool = aod_action_pool_new(2);
	copy_spec(&s, "hungcopy", file, 1);
	if (aod_actions_run(pool, &s, 1, t->dirfd, &r))
		rc = 30;
	printf("# copy from a hung mount: %.3f s, '%s', %llu bytes\n", secs(r.duration_ns),
	       r.error, (unsigned long long)r.bytes);
	out = slurp(t->dirfd, "hungcopy.log", NULL);
	if (!rc && (!r.timed_out || r.duration_ns < AOD_NSEC_PER_SEC ||
		    r.duration_ns > 4 * AOD_NSEC_PER_SEC))
		rc = 31;
	if (!rc && (strcmp(out, HUNG_LINE) || r.bytes != strlen(HUNG_LINE)))
		rc = 32;
	if (!rc && strncmp(r.error, "timed out after 1 s, killed", 27))
		rc = 33;
	free(out);
	aod_action_pool_free(pool);
	umount2(mnt, MNT_DETACH);
	kill(fuse, SIGKILL);
	waitpid(fuse, NULL, 0);
	rmdir(mnt);
	return rc;
}

static void test_copy_from_hung_mount_killed(void **state)
{
	struct tmp t;
	pid_t pid;
	int status;

	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK)) {
		printf("SKIP: copy from a hung mount: needs root and /dev/fuse\n");
		skip();
	}
	tmp_open(&t);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = hung_copy_child(&t);

		fflush(stdout);
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77 || WEXITSTATUS(status) == 78) {
		tmp_close(&t);
		printf("SKIP: copy from a hung mount: %s\n",
		       WEXITSTATUS(status) == 77 ? "/ is not a mount point (chroot?)"
						 : "hung_fuse could not mount");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
	tmp_close(&t);
}

/* ---- names, built-ins and the host ---- */

static struct aod_config *defaults(void)
{
	struct aod_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	aod_config_defaults(cfg);
	return cfg;
}

static void test_resolve(void **state)
{
	struct aod_config *cfg = defaults();
	const char names[][AOD_ACTION_NAME_LEN] = {"dmesg", "slowcmd", "dmesg", "meminfo"};
	const char unknown[][AOD_ACTION_NAME_LEN] = {"dmesg", "nosuchaction"};
	struct aod_action_spec specs[32];
	struct aod_custom_action *c = &cfg->watcher.custom[0];
	int n;

	cfg->watcher.ncustom = 1;
	snprintf(c->name, sizeof(c->name), "slowcmd");
	c->argc = 2;
	snprintf(c->argv[0], AOD_ARG_LEN, "/bin/sleep");
	snprintf(c->argv[1], AOD_ARG_LEN, "30");
	c->timeout_sec = 2;
	c->max_bytes = 1048576;
	n = aod_actions_resolve(cfg, names, 4, specs, 32);
	/* dmesg, slowcmd, meminfo + the 5 other host-context actions */
	assert_int_equal(n, 2 + (int)aod_hostctx_count);
	assert_string_equal(specs[0].name, "dmesg");
	assert_true(specs[0].quick);
	assert_int_equal(specs[0].timeout_sec, aod_config_builtin_timeout(NULL, "dmesg"));
	assert_int_equal(specs[0].lookback_sec, cfg->watcher.lookback_sec);
	assert_string_equal(specs[1].name, "slowcmd");
	assert_string_equal(specs[1].file, "slowcmd.log");
	assert_int_equal(specs[1].kind, AOD_ACTION_EXEC);
	assert_int_equal(specs[1].argc, 2);
	assert_string_equal(specs[1].argv[0], "/bin/sleep");
	assert_int_equal(specs[1].timeout_sec, 2);
	assert_int_equal(specs[1].max_bytes, 1048576);
	assert_false(specs[1].quick);
	assert_string_equal(specs[2].name, "meminfo");
	for (int i = 2; i < n; i++)
		assert_true(specs[i].quick);

	assert_int_equal(aod_actions_resolve(cfg, unknown, 2, specs, 32), -ENOENT);
	/* every built-in has its own default timeout; an explicit
	 * action_timeout_sec overrides all, action_timeouts one */
	for (size_t i = 0; i < AOD_BUILTIN_COUNT; i++) {
		struct aod_action_spec b;

		assert_int_equal(aod_builtin_spec(cfg, aod_builtin_timeouts[i].name, &b), 0);
		assert_int_equal(b.timeout_sec, aod_builtin_timeouts[i].sec);
	}
	assert_true(aod_config_builtin_timeout(NULL, "meminfo") <
		    aod_config_builtin_timeout(NULL, "journalctl"));
	for (size_t i = 0; i < aod_hostctx_count; i++)
		assert_true(aod_config_builtin_timeout(NULL, aod_hostctx_names[i]) > 0);
	for (size_t i = 0; i < AOD_BUILTIN_COUNT; i++)
		if (!strcmp(aod_builtin_timeouts[i].name, "smbinfo"))
			cfg->watcher.action_timeouts[i] = 33;
	assert_int_equal(aod_builtin_spec(cfg, "smbinfo", specs), 0);
	assert_int_equal(specs[0].timeout_sec, 33);
	assert_int_equal(aod_actions_resolve(cfg, names, 4, specs, 3), -ENOSPC);
	assert_true(aod_action_is_builtin("smbinfo"));
	assert_true(aod_action_is_builtin("syslogs"));
	assert_true(aod_action_is_builtin("processes"));
	assert_false(aod_action_is_builtin("slowcmd"));
	assert_false(aod_action_is_builtin(""));
	free(cfg);
}

/* The example: a custom action that sleeps past its timeout. */
static void test_custom_action_times_out(void **state)
{
	struct aod_config *cfg = defaults();
	const char names[][AOD_ACTION_NAME_LEN] = {"slowcmd"};
	struct aod_action_pool *pool = aod_action_pool_new(cfg->watcher.max_concurrent_tasks);
	struct aod_action_spec specs[16];
	struct aod_action_result r[16];
	struct aod_custom_action *c = &cfg->watcher.custom[0];
	struct tmp t;
	int n;

	tmp_open(&t);
	cfg->watcher.ncustom = 1;
	snprintf(c->name, sizeof(c->name), "slowcmd");
	c->argc = 2;
	snprintf(c->argv[0], AOD_ARG_LEN, "/bin/sleep");
	snprintf(c->argv[1], AOD_ARG_LEN, "30");
	c->timeout_sec = 2;
	n = aod_actions_resolve(cfg, names, 1, specs, 16);
	assert_true(n > 1);
	assert_int_equal(aod_actions_run(pool, specs, (size_t)n, t.dirfd, r), 0);
	assert_string_equal(r[0].name, "slowcmd");
	assert_true(r[0].timed_out);
	assert_int_equal(r[0].term_signal, SIGTERM);
	assert_true(r[0].duration_ns < 4 * AOD_NSEC_PER_SEC);
	assert_string_equal(r[0].desc, "/bin/sleep 30");
	tmp_close(&t);
	aod_action_pool_free(pool);
	free(cfg);
}

static void test_cifs_mounts_parse(void **state)
{
	char mounts[4][AOD_ARG_LEN];
	struct tmp t;
	char path[128];
	FILE *f;

	tmp_open(&t);
	snprintf(path, sizeof(path), "%s/mountinfo", t.path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
	      "40 22 0:35 / /mnt/my\\040share rw,relatime shared:20 - cifs //srv/share "
	      "rw,vers=3.1.1\n"
	      "41 22 0:36 / /mnt/b rw,relatime - smb3 //srv/b rw\n"
	      "42 22 0:37 / /mnt/nfs rw - nfs4 srv:/x rw\n",
	      f);
	fclose(f);
	assert_int_equal(aod_cifs_mounts(path, mounts, 4), 2);
	assert_string_equal(mounts[0], "/mnt/my share");
	assert_string_equal(mounts[1], "/mnt/b");
	assert_int_equal(aod_cifs_mounts(path, mounts, 1), 1);
	assert_int_equal(aod_cifs_mounts("/nonexistent/mountinfo", mounts, 4), -ENOENT);
	unlink(path);
	tmp_close(&t);
}

static bool file_has(int dirfd, const char *file, const char *needle)
{
	char *out = slurp(dirfd, file, NULL);
	bool has = strstr(out, needle) != NULL;

	free(out);
	return has;
}

static bool source_empty(const char *path)
{
	char c;
	int fd = open(path, O_RDONLY);
	bool empty = fd >= 0 && read(fd, &c, 1) == 0;

	if (fd >= 0)
		close(fd);
	return empty;
}

/* Every built-in and host-context action, for real, on this machine. */
static void test_builtins_on_this_host(void **state)
{
	struct aod_config *cfg = defaults();
	struct aod_action_pool *pool = aod_action_pool_new(cfg->watcher.max_concurrent_tasks);
	struct aod_action_spec specs[AOD_MAX_ACTIONS + 8];
	struct aod_action_result r[AOD_MAX_ACTIONS + 8];
	char self[32];
	struct tmp t;
	int n;

	tmp_open(&t);
	assert_true(cfg->watcher.nactions >= 7);
	n = aod_actions_resolve(cfg, (const char(*)[AOD_ACTION_NAME_LEN])cfg->watcher.actions,
				cfg->watcher.nactions, specs, AOD_MAX_ACTIONS + 8);
	assert_int_equal(n, (int)(cfg->watcher.nactions + aod_hostctx_count));
	assert_int_equal(aod_actions_run(pool, specs, (size_t)n, t.dirfd, r), 0);
	for (int i = 0; i < n; i++) {
		printf("# %-10s %-14s %7llu B %6.3f s exit %2d%s%s  [%s]%s%s\n", r[i].name,
		       r[i].file, (unsigned long long)r[i].bytes, secs(r[i].duration_ns),
		       r[i].exit_code, r[i].timed_out ? " TIMEOUT" : "",
		       r[i].skipped ? " SKIPPED" : "", r[i].desc, r[i].error[0] ? " : " : "",
		       r[i].error);
		/* output, or a recorded reason; a copy of an empty source
		 * (/proc/diskstats without block devices) may stay empty */
		if (specs[i].kind == AOD_ACTION_COPY && !r[i].error[0] && !r[i].bytes)
			assert_true(source_empty(specs[i].path));
		else
			assert_true(r[i].bytes > 0 && (r[i].error[0] || !r[i].skipped));
		assert_false(r[i].timed_out);
	}
	for (int i = 0; i < n; i++) {
		const char *name = r[i].name;

		if (!strcmp(name, "dmesg")) {
			assert_true(file_has(t.dirfd, r[i].file, "# /dev/kmsg") ||
				    file_has(t.dirfd, r[i].file, "journalctl"));
		} else if (!strcmp(name, "journalctl")) {
			assert_true(aod_journal_present() != r[i].skipped);
		} else if (!strcmp(name, "mounts")) {
			assert_true(file_has(t.dirfd, r[i].file, " - "));
			assert_string_equal(r[i].error, "");
		} else if (!strcmp(name, "meminfo")) {
			assert_true(file_has(t.dirfd, r[i].file, "MemTotal:"));
		} else if (!strcmp(name, "loadavg") || !strcmp(name, "diskstats")) {
			assert_string_equal(r[i].error, "");
		} else if (!strcmp(name, "pressure")) {
			if (access("/proc/pressure/cpu", R_OK) == 0)
				assert_true(file_has(t.dirfd, r[i].file, "some avg10="));
			else
				printf("SKIP: pressure content: no PSI on this kernel\n");
		} else if (!strcmp(name, "processes")) {
			snprintf(self, sizeof(self), " %d ", (int)getpid());
			assert_true(file_has(t.dirfd, r[i].file, "RSS_KIB"));
			assert_true(file_has(t.dirfd, r[i].file, self));
			assert_true(file_has(t.dirfd, r[i].file, "test_actions"));
		} else if (!strcmp(name, "sockets")) {
			assert_true(file_has(t.dirfd, r[i].file, "== TCP"));
			assert_true(file_has(t.dirfd, r[i].file, "== UNIX"));
			assert_true(file_has(t.dirfd, r[i].file, "port 445"));
		} else if (!strcmp(name, "smbinfo")) {
			char m[1][AOD_ARG_LEN];

			if (aod_cifs_mounts("/proc/self/mountinfo", m, 1) == 0) {
				assert_true(r[i].skipped);
				assert_true(file_has(t.dirfd, r[i].file, "no cifs mount"));
			} else {
				assert_true(file_has(t.dirfd, r[i].file, "fileallinfo"));
			}
		} else if (!strcmp(name, "debugdata") || !strcmp(name, "stats")) {
			if (access("/proc/fs/cifs", F_OK))
				assert_non_null(strstr(r[i].error, "missing: /proc/fs/cifs/"));
		} else if (!strcmp(name, "syslogs")) {
			if (access("/var/log/syslog", F_OK) && access("/var/log/messages", F_OK))
				assert_string_equal(r[i].error,
						    "missing: /var/log/syslog, /var/log/messages");
			else
				assert_non_null(strstr(r[i].desc, "last 1000 lines of /var/log/"));
		}
	}
	tmp_close(&t);
	aod_action_pool_free(pool);
	free(cfg);
}

/*
 * dmesg where /dev/kmsg is closed to us (ProtectKernelLogs, containers):
 * as an unprivileged user with dmesg_restrict=1, it falls back to the
 * journal, or says why there is no kernel log.
 */
static void test_dmesg_without_kmsg(void **state)
{
	struct tmp t;
	pid_t pid;
	int status;
	FILE *f = fopen("/proc/sys/kernel/dmesg_restrict", "r");
	int restrict_ = f && fgetc(f) == '1';

	if (f)
		fclose(f);
	if (geteuid() != 0 || !restrict_) {
		printf("SKIP: dmesg without /dev/kmsg: needs root and kernel.dmesg_restrict=1\n");
		skip();
	}
	tmp_open(&t);
	assert_int_equal(chmod(t.path, 0777), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct aod_action_pool *pool;
		struct aod_action_spec spec;
		struct aod_action_result r;
		bool journal = aod_journal_present();

		if (setgid(65534) || setuid(65534))
			_exit(10);
		pool = aod_action_pool_new(1);
		if (aod_builtin_spec(NULL, "dmesg", &spec) ||
		    aod_actions_run(pool, &spec, 1, t.dirfd, &r))
			_exit(11);
		printf("# as nobody: desc '%s', error '%s'\n", r.desc, r.error);
		fflush(stdout);
		if (journal)
			_exit(strstr(r.desc, "journalctl -k") ? 0 : 12);
		_exit(strstr(
			  r.error,
			  "cannot read /dev/kmsg (Operation not permitted) and there is no journal")
			  ? 0
			  : 13);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	tmp_close(&t);
}

static int write_lines(const char *path, const char *word, int n, bool final_newline)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (int i = 1; i <= n; i++)
		fprintf(f, "%s line %d%s", word, i, i < n || final_newline ? "\n" : "");
	return fclose(f);
}

/* Making "/" private in a new mount namespace needs it to be a mount point, which it is
 * not in a plain chroot: STATX_ATTR_MOUNT_ROOT (Linux 5.8) says, else mountinfo does. */
static bool root_is_mount_point(void)
{
	struct statx sx;
	char line[4096], mnt[PATH_MAX];
	bool found = false;
	FILE *f;

	if (!statx(AT_FDCWD, "/", 0, STATX_BASIC_STATS, &sx) &&
	    (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return sx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
	f = fopen("/proc/self/mountinfo", "r");
	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && !strcmp(mnt, "/");
	if (f)
		fclose(f);
	return found;
}

/* In a child with its own mount namespace and a tmpfs on /var/log. */
static int syslogs_child(int dirfd)
{
	struct aod_action_pool *pool;
	struct aod_action_spec spec;
	struct aod_action_result r;
	char *out;
	size_t len;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/var/log", "tmpfs", 0, "mode=0755"))
		return 20;
	pool = aod_action_pool_new(1);
	if (aod_builtin_spec(NULL, "syslogs", &spec))
		return 21;
	/* Debian: the last 1000 lines of /var/log/syslog */
	if (write_lines("/var/log/syslog", "syslog", 1500, true) ||
	    write_lines("/var/log/messages", "messages", 5, true))
		return 22;
	if (aod_actions_run(pool, &spec, 1, dirfd, &r) || r.error[0])
		return 23;
	out = slurp(dirfd, "syslogs.log", &len);
	printf("# syslog: %zu bytes, '%s', starts '%.16s'\n", len, r.desc, out);
	if (strncmp(out, "syslog line 501\n", 16) || strcmp(out + len - 17, "syslog line 1500\n") ||
	    strstr(out, "line 500\n") || !strstr(r.desc, "/var/log/syslog"))
		return 24;
	free(out);
	/* RHEL: /var/log/messages, shorter than 1000 lines, no final newline */
	if (unlink("/var/log/syslog") || write_lines("/var/log/messages", "messages", 7, false))
		return 25;
	if (aod_actions_run(pool, &spec, 1, dirfd, &r) || r.error[0])
		return 26;
	out = slurp(dirfd, "syslogs.log", &len);
	if (strncmp(out, "messages line 1\n", 16) || strcmp(out + len - 15, "messages line 7") ||
	    !strstr(r.desc, "/var/log/messages"))
		return 27;
	free(out);
	/* neither */
	if (unlink("/var/log/messages") || aod_actions_run(pool, &spec, 1, dirfd, &r))
		return 28;
	if (strcmp(r.error, "missing: /var/log/syslog, /var/log/messages"))
		return 29;
	aod_action_pool_free(pool);
	return 0;
}

static void test_syslogs_tail(void **state)
{
	struct tmp t;
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		printf("SKIP: syslogs tail: needs root for a private /var/log\n");
		skip();
	}
	if (!root_is_mount_point()) {
		printf("SKIP: syslogs tail: / is not a mount point (a chroot?): no private mount "
		       "namespace for a tmpfs /var/log\n");
		skip();
	}
	tmp_open(&t);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = syslogs_child(t.dirfd);

		fflush(stdout);
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	tmp_close(&t);
}

/* The journal path of journalctl runs where a journal exists. */
static void test_journalctl_with_journal(void **state)
{
	struct aod_action_spec spec;
	struct aod_action_result r;
	struct aod_action_pool *pool;
	struct tmp t;

	if (!aod_journal_present()) {
		printf("SKIP: journalctl with a journal: no systemd journal on this host\n");
		skip();
	}
	pool = aod_action_pool_new(1);
	tmp_open(&t);
	assert_int_equal(aod_builtin_spec(NULL, "journalctl", &spec), 0);
	assert_int_equal(aod_actions_run(pool, &spec, 1, t.dirfd, &r), 0);
	assert_false(r.skipped);
	assert_int_equal(r.exit_code, 0);
	tmp_close(&t);
	aod_action_pool_free(pool);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timeout_keeps_partial_output),
	    cmocka_unit_test(test_cap_keeps_tail),
	    cmocka_unit_test(test_flood_times_out),
	    cmocka_unit_test(test_sink_exact_tail),
	    cmocka_unit_test(test_copy_cap_and_missing),
	    cmocka_unit_test(test_func_cap_and_error),
	    cmocka_unit_test(test_missing_binary),
	    cmocka_unit_test(test_exit_code_signal_stderr),
	    cmocka_unit_test(test_child_environment),
	    cmocka_unit_test(test_process_group_killed),
	    cmocka_unit_test(test_concurrency_limit_observed),
	    cmocka_unit_test(test_quick_first_within_call),
	    cmocka_unit_test(test_quick_first_across_calls),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_setsid_grandchild_killed),
	    cmocka_unit_test(test_blocking_collector_killed),
	    cmocka_unit_test(test_collector_results_reach_parent),
	    cmocka_unit_test(test_collector_setsid_grandchild_killed),
	    cmocka_unit_test(test_cancel_blocking_collector),
	    cmocka_unit_test(test_copy_fifo_cannot_hang),
	    cmocka_unit_test(test_copy_from_hung_mount_killed),
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_custom_action_times_out),
	    cmocka_unit_test(test_cifs_mounts_parse),
	    cmocka_unit_test(test_builtins_on_this_host),
	    cmocka_unit_test(test_dmesg_without_kmsg),
	    cmocka_unit_test(test_syslogs_tail),
	    cmocka_unit_test(test_journalctl_with_journal),
	};
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return 1;
	exe[n] = '\0';
	snprintf(helper_dir, sizeof(helper_dir), "%s", dirname(exe));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
