// SPDX-License-Identifier: MIT
/*
 * Running one program for a bundle, the way sos report learned to: in its
 * own process group and its action's cell (contain.h) so a timeout kills
 * what it forked too, setsid() or not; output capped with the tail kept,
 * every outcome recorded. No SIGCHLD handler: the child is watched through
 * a pidfd (or a short poll when pidfds are missing) and reaped by pid,
 * because the agent owns the signals. Also the helpers an in-process
 * collector uses through its explicit context (struct aod_func_ctx).
 */
#include "collect/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect/action_internal.h"
#include "collect/contain.h"
#include "common/log.h"
#include "common/timeutil.h"

#define SINK_CHUNK 65536
#define SINK_MIN_SLACK 65536
#define EXEC_READS_PER_WAKE 16 /* then look at the clock again */
#define EXEC_GIVE_UP_MS 2000   /* after KILL: D state, stop waiting */
#define EXEC_NOPIDFD_POLL_MS 20

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

__attribute__((format(printf, 2, 3))) static void set_error(struct aod_action_result *res,
							    const char *fmt, ...)
{
	va_list ap;

	if (res->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
}

/* ---- capped output, tail kept ---- */

void aod_sink_init(struct aod_sink *s, int fd, uint64_t max)
{
	off_t base = lseek(fd, 0, SEEK_CUR);

	s->fd = fd;
	s->base = base < 0 ? 0 : base;
	s->max = max ? max : AOD_ACTION_DEFAULT_MAX_BYTES;
	s->size = 0;
	s->total = 0;
	s->err = 0;
}

void aod_sink_adopt(struct aod_sink *s, uint64_t size)
{
	s->size = size;
	s->total = size;
}

/* Move the last keep bytes of [base, base+size) to base. Forward copy in
 * chunks is safe: every destination lies before its source. */
static int sink_keep_tail(struct aod_sink *s, uint64_t keep)
{
	char buf[SINK_CHUNK];
	off_t from = s->base + (off_t)(s->size - keep);
	uint64_t done = 0;

	while (done < keep) {
		size_t want = keep - done < sizeof(buf) ? keep - done : sizeof(buf);
		ssize_t n = pread(s->fd, buf, want, from + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		for (ssize_t w = 0; w < n;) {
			ssize_t m =
			    pwrite(s->fd, buf + w, (size_t)(n - w), s->base + (off_t)(done + w));

			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0)
				return -errno;
			w += m;
		}
		done += (uint64_t)n;
	}
	s->size = keep;
	return 0;
}

void aod_sink_write(struct aod_sink *s, const void *buf, size_t len)
{
	uint64_t slack = s->max > SINK_MIN_SLACK ? s->max : SINK_MIN_SLACK;
	const char *p = buf;
	size_t done = 0;

	s->total += len;
	if (s->err)
		return;
	while (done < len) {
		ssize_t n = pwrite(s->fd, p + done, len - done, s->base + (off_t)s->size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			s->err = errno;
			return;
		}
		done += (size_t)n;
		s->size += (uint64_t)n;
	}
	if (s->size >= s->max + slack) {
		int rc = sink_keep_tail(s, s->max);

		if (rc)
			s->err = -rc;
	}
}

int aod_sink_finish(struct aod_sink *s, struct aod_action_result *res)
{
	int rc = 0;

	if (!s->err && s->size > s->max) {
		rc = sink_keep_tail(s, s->max);
		if (rc)
			s->err = -rc;
	}
	if (ftruncate(s->fd, s->base + (off_t)s->size) < 0 && !s->err)
		s->err = errno;
	lseek(s->fd, s->base + (off_t)s->size, SEEK_SET);
	res->bytes += s->size;
	if (s->total > s->size) {
		res->bytes_dropped += s->total - s->size;
		res->truncated = true;
	}
	if (s->err) {
		set_error(res, "writing output: %s", strerror(s->err));
		return -s->err;
	}
	return rc;
}

/* ---- files ---- */

int aod_copy_file(const char *path, uint64_t max_bytes, int fd, struct aod_action_result *res)
{
	char buf[SINK_CHUNK];
	struct aod_sink sink;
	int in, rc = 0;

	/* O_NONBLOCK: a FIFO or device in place of a file must not hang us. */
	in = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (in < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			set_error(res, "missing: %s", path);
		else
			set_error(res, "cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	aod_sink_init(&sink, fd, max_bytes);
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			rc = -errno;
			set_error(res, "reading %s: %s", path, strerror(-rc));
			break;
		}
		if (n == 0)
			break;
		aod_sink_write(&sink, buf, (size_t)n);
	}
	close(in);
	int frc = aod_sink_finish(&sink, res);
	return rc ? rc : frc;
}

/* ---- programs ---- */

int aod_exec_lookup(const char *name, char *out, size_t len)
{
	char path[] = AOD_EXEC_PATH;
	char *save = NULL;

	if (!name || !name[0])
		return -EINVAL;
	if (strchr(name, '/')) {
		if (name[0] != '/')
			return -EINVAL; /* relative paths depend on the agent's cwd */
		if ((size_t)snprintf(out, len, "%s", name) >= len)
			return -ENAMETOOLONG;
		return access(out, X_OK) ? -errno : 0;
	}
	for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len)
			continue;
		if (!access(out, X_OK))
			return 0;
	}
	return -ENOENT;
}

/* A descriptor >= 3, so the dup2() calls onto 0..2 in the child never clobber it. */
static int fd_above_stdio(int fd)
{
	int hi;

	if (fd < 0 || fd > 2)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return hi;
}

static int make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	p[0] = fd_above_stdio(p[0]);
	p[1] = fd_above_stdio(p[1]);
	if (p[0] < 0 || p[1] < 0) {
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		return -EMFILE;
	}
	return 0;
}

/* Only async-signal-safe calls between fork and exec: the agent has threads. */
__attribute__((noreturn)) static void child_exec(const char *path, const char *const *argv,
						 int devnull, int out, int errfd, pid_t parent,
						 const struct aod_cell *cell)
{
	static const char *const envp[] = {"PATH=" AOD_EXEC_PATH, "LC_ALL=C", NULL};
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int err;

	if (cell)
		aod_cell_enter(cell); /* first: all it starts is in the cell */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	/* The agent blocks and ignores signals; a tool must get the defaults
	 * back, or our TERM would be lost and only KILL would work. */
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC)) {
		for (int i = 3; i < 65536; i++)
			if (i != errfd)
				close(i);
	}
	execve(path, (char *const *)argv, (char *const *)envp);
fail:
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(126);
	_exit(127);
}

static void *reap_later(void *arg)
{
	pid_t pid = (pid_t)(intptr_t)arg;

	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return NULL;
}

/* A child that survived KILL (D state): reap it whenever it dies. In an
 * action's child process (quiet) nothing is started: the child exits soon
 * and its zombies go to its own reaper. */
static void reap_in_background(pid_t pid, bool quiet)
{
	pthread_attr_t attr;
	pthread_t t;

	if (quiet)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, reap_later, (void *)(intptr_t)pid))
		log_warn("exec: cannot start a reaper for pid %d; it stays a zombie", (int)pid);
	pthread_attr_destroy(&attr);
}

struct exec_state {
	pid_t pid;
	int outfd;
	int pidfd;
	struct aod_cell *cell; /* NULL: the process group only */
	bool quiet;
	bool exited, eof, killing, killed, gave_up, cancelled;
	uint64_t deadline, kill_at, give_up_at;
};

static void drain(struct exec_state *st, struct aod_sink *sink)
{
	char buf[SINK_CHUNK];

	for (int i = 0; i < EXEC_READS_PER_WAKE; i++) {
		ssize_t n = read(st->outfd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			st->eof = true;
			return;
		}
		aod_sink_write(sink, buf, (size_t)n);
	}
}

/* Has the leader exited? Peek only (WNOWAIT): while it stays a zombie its
 * pid, and so the group id, cannot be reused by another process. */
static void check_exit(struct exec_state *st)
{
	siginfo_t si = {0};

	if (!waitid(P_PID, (id_t)st->pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == st->pid)
		st->exited = true;
}

static void start_kill(struct exec_state *st, uint64_t now)
{
	if (st->killing)
		return;
	st->killing = true;
	if (st->cell)
		aod_cell_term(st->cell);
	else
		kill(-st->pid, SIGTERM);
	st->kill_at = now + AOD_EXEC_KILL_GRACE_MS * AOD_NSEC_PER_MSEC;
}

/* SIGKILL to the process group, and to every process of the cell. */
static void kill_all(struct exec_state *st)
{
	kill(-st->pid, SIGKILL);
	if (st->cell)
		aod_cell_kill(st->cell);
}

static void step_clock(struct exec_state *st, uint64_t now, struct aod_action_result *res)
{
	if (!st->killing && now >= st->deadline) {
		res->timed_out = true;
		start_kill(st, now);
	}
	if (st->killing && !st->killed && now >= st->kill_at) {
		kill_all(st);
		st->killed = true;
		st->give_up_at = now + EXEC_GIVE_UP_MS * AOD_NSEC_PER_MSEC;
	}
	if (st->killed && now >= st->give_up_at)
		st->gave_up = true;
}

static int poll_wait_ms(const struct exec_state *st, uint64_t now)
{
	uint64_t next = !st->killing ? st->deadline : !st->killed ? st->kill_at : st->give_up_at;
	uint64_t ms = next > now ? (next - now + AOD_NSEC_PER_MSEC - 1) / AOD_NSEC_PER_MSEC : 0;

	if (st->pidfd < 0 && !st->exited && ms > EXEC_NOPIDFD_POLL_MS)
		ms = EXEC_NOPIDFD_POLL_MS;
	return ms > 60000 ? 60000 : (int)ms;
}

/* Watch output, exit, clock and cancel until the leader exited and the pipe
 * is closed by every process that held it (or we gave up after KILL). */
static void watch_child(struct exec_state *st, struct aod_sink *sink, int cancel_fd,
			struct aod_action_result *res)
{
	while (!(st->exited && st->eof) && !st->gave_up) {
		struct pollfd pfd[3];
		int n = 0, i_out = -1, i_pid = -1, i_cancel = -1;
		uint64_t now = aod_mono_ns();

		step_clock(st, now, res);
		if (st->gave_up)
			break;
		if (!st->eof) {
			i_out = n;
			pfd[n++] = (struct pollfd){.fd = st->outfd, .events = POLLIN};
		}
		if (!st->exited && st->pidfd >= 0) {
			i_pid = n;
			pfd[n++] = (struct pollfd){.fd = st->pidfd, .events = POLLIN};
		}
		if (!st->killing && cancel_fd >= 0) {
			i_cancel = n;
			pfd[n++] = (struct pollfd){.fd = cancel_fd, .events = POLLIN};
		}
		if (poll(pfd, (nfds_t)n, poll_wait_ms(st, now)) < 0 && errno != EINTR) {
			if (!st->quiet)
				log_warn("exec: poll: %s", strerror(errno));
			usleep(10000);
		}
		if (i_out >= 0 && pfd[i_out].revents)
			drain(st, sink);
		if (!st->exited && (st->pidfd < 0 || (i_pid >= 0 && pfd[i_pid].revents)))
			check_exit(st);
		if (i_cancel >= 0 && pfd[i_cancel].revents) {
			st->cancelled = true;
			start_kill(st, aod_mono_ns());
		}
	}
}

static void record_status(pid_t pid, bool exited, bool quiet, struct aod_action_result *res)
{
	int status;

	if (!exited) {
		set_error(res, "pid %d did not exit after SIGKILL (uninterruptible sleep?)",
			  (int)pid);
		reap_in_background(pid, quiet);
		return;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			set_error(res, "waitpid %d: %s", (int)pid, strerror(errno));
			return;
		}
	}
	if (WIFEXITED(status)) {
		res->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->exit_code = -1;
		res->term_signal = WTERMSIG(status);
	}
}

static bool cancel_requested(const struct aod_exec_ctl *ctl)
{
	struct pollfd pfd;

	if (!ctl || ctl->cancel_fd < 0)
		return false;
	pfd = (struct pollfd){.fd = ctl->cancel_fd, .events = POLLIN};
	return poll(&pfd, 1, 0) > 0;
}

/* fork + exec; returns the pid, or -errno with res->error set. */
static pid_t spawn(const char *path, const char *const *argv, int out_w, struct aod_cell *cell,
		   struct aod_action_result *res)
{
	int errp[2], devnull, child_err = 0;
	pid_t pid, parent = getpid();
	ssize_t n;

	devnull = fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	if (devnull < 0) {
		set_error(res, "cannot open /dev/null: %s", strerror(errno));
		return -EIO;
	}
	int rc = make_pipe(errp);

	if (rc) {
		close(devnull);
		set_error(res, "pipe: %s", strerror(-rc));
		return rc;
	}
	pid = fork();
	if (pid == 0)
		child_exec(path, argv, devnull, out_w, errp[1], parent, cell);
	close(devnull);
	close(errp[1]);
	if (pid < 0) {
		int err = errno;

		close(errp[0]);
		set_error(res, "fork: %s", strerror(err));
		return -err;
	}
	setpgid(pid, pid); /* also here: no window where a kill(-pid) misses */
	if (cell)
		aod_cell_set_leader(cell, pid);
	/* EOF means exec succeeded (the pipe is close-on-exec); an int is errno. */
	while ((n = read(errp[0], &child_err, sizeof(child_err))) < 0 && errno == EINTR)
		;
	close(errp[0]);
	if (n == (ssize_t)sizeof(child_err)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (child_err == ENOENT)
			set_error(res, "not found: %s", path);
		else
			set_error(res, "cannot execute %s: %s", path, strerror(child_err));
		return -child_err;
	}
	return pid;
}

int aod_exec_run(const char *const *argv, uint64_t timeout_ms, uint64_t max_bytes, int fd,
		 const struct aod_exec_ctl *ctl, struct aod_action_result *res)
{
	struct exec_state st = {.outfd = -1, .pidfd = -1};
	struct aod_sink sink;

	if (ctl) {
		st.cell = ctl->cell;
		st.quiet = ctl->quiet;
	}
	char path[AOD_ARG_LEN];
	int outp[2], rc;

	res->exit_code = -1;
	res->term_signal = 0;
	rc = aod_exec_lookup(argv[0], path, sizeof(path));
	if (rc == -ENOENT) {
		set_error(res, "not found: %s", argv[0]);
		return rc;
	}
	if (rc) {
		set_error(res, "cannot execute %s: %s", argv[0], strerror(-rc));
		return rc;
	}
	if (cancel_requested(ctl)) {
		set_error(res, "cancelled");
		return -ECANCELED;
	}
	rc = make_pipe(outp);
	if (rc) {
		set_error(res, "pipe: %s", strerror(-rc));
		return rc;
	}
	st.pid = spawn(path, argv, outp[1], st.cell, res);
	close(outp[1]);
	if (st.pid < 0) {
		close(outp[0]);
		return (int)st.pid;
	}
	if (ctl && ctl->spawned)
		ctl->spawned(ctl->arg);
	st.outfd = outp[0];
	fcntl(st.outfd, F_SETFL, O_NONBLOCK);
	st.pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
	if (!timeout_ms)
		timeout_ms = AOD_ACTION_DEFAULT_TIMEOUT_SEC * 1000ULL;
	st.deadline = aod_mono_ns() + timeout_ms * AOD_NSEC_PER_MSEC;

	aod_sink_init(&sink, fd, max_bytes);
	watch_child(&st, &sink, ctl ? ctl->cancel_fd : -1, res);

	/* Nothing it started may outlive the action. The leader is a zombie
	 * (not reaped yet), so the group id still names only its group. */
	kill_all(&st);
	record_status(st.pid, st.exited, st.quiet, res);
	if (ctl && ctl->reaped)
		ctl->reaped(ctl->arg);
	if (st.pidfd >= 0)
		close(st.pidfd);
	close(st.outfd);
	aod_sink_finish(&sink, res);

	if (st.cancelled) {
		set_error(res, "cancelled");
		return -ECANCELED;
	}
	if (res->timed_out)
		set_error(res, "timed out after %llu.%03llu s",
			  (unsigned long long)(timeout_ms / 1000),
			  (unsigned long long)(timeout_ms % 1000));
	return 0;
}

/* ---- the in-process collector's context ---- */

void aod_func_skip(struct aod_func_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	char msg[AOD_ACTION_ERR_LEN];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ctx) {
		log_info("action skipped: %s", msg);
		return;
	}
	ctx->res->skipped = true;
	set_error(ctx->res, "%s", msg);
}

void aod_func_error(struct aod_func_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	char msg[AOD_ACTION_ERR_LEN];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ctx) {
		log_warn("action: %s", msg);
		return;
	}
	set_error(ctx->res, "%s", msg);
}

void aod_func_desc(struct aod_func_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (!ctx)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx->res->desc, sizeof(ctx->res->desc), fmt, ap);
	va_end(ap);
}

uint64_t aod_func_time_left_ns(const struct aod_func_ctx *ctx)
{
	uint64_t now;

	if (!ctx)
		return UINT64_MAX;
	now = aod_mono_ns();
	return now < ctx->deadline_mono_ns ? ctx->deadline_mono_ns - now : 0;
}

int aod_func_exec(struct aod_func_ctx *ctx, const char *const *argv, uint64_t timeout_ms,
		  uint64_t max_bytes, int fd, struct aod_action_result *sub)
{
	struct aod_exec_ctl ctl = {.cancel_fd = -1};
	uint64_t left = aod_func_time_left_ns(ctx);
	bool by_deadline = false;
	int rc;

	memset(sub, 0, sizeof(*sub));
	sub->exit_code = -1;
	if (left == 0) {
		sub->timed_out = true;
		set_error(sub, "no time left");
		if (ctx)
			ctx->res->timed_out = true;
		return -ETIME;
	}
	if (left != UINT64_MAX) {
		uint64_t left_ms = (left + AOD_NSEC_PER_MSEC - 1) / AOD_NSEC_PER_MSEC;

		if (!timeout_ms || left_ms <= timeout_ms) {
			timeout_ms = left_ms;
			by_deadline = true;
		}
	}
	if (ctx && ctx->ctl) {
		ctl.cancel_fd = ctx->ctl->cancel_fd;
		ctl.quiet = ctx->ctl->quiet;
	}
	rc = aod_exec_run(argv, timeout_ms, max_bytes, fd, &ctl, sub);
	if (ctx) {
		ctx->res->bytes_dropped += sub->bytes_dropped;
		ctx->res->truncated |= sub->truncated;
		if (sub->timed_out && by_deadline)
			ctx->res->timed_out = true;
	}
	return rc;
}
