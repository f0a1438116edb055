// SPDX-License-Identifier: MIT
/*
 * In-process actions (AOD_ACTION_FUNC collectors and AOD_ACTION_COPY file
 * copies) run in a child process of their own, so that a read that blocks
 * for ever (a hung cifs mount, /proc/PID/cmdline of a process stuck on
 * one) blocks only the child: at the deadline the parent kills the child's
 * whole cell and the action ends with what was written so far.
 *
 * The child writes its output straight into the action's file and its
 * result (skipped, error, desc, timed_out, truncated, ...) into a struct
 * aod_action_result in memory shared with the parent (MAP_SHARED |
 * MAP_ANONYMOUS), so what it recorded before being killed still counts.
 * The parent watches a pidfd, the deadline and the pool's cancel.
 *
 * After fork only the forking thread exists in the child: it uses what
 * glibc makes fork-safe (malloc, new FILE streams), never a lock another
 * agent thread may hold (log.c's stderr, the pool, gmtime's tz lock: the
 * collectors use none), and closes every fd but its output, the cancel
 * eventfd and stdio, so a child stuck in the kernel holds nothing of the
 * agent (BPF links, the control socket).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect/action_internal.h"
#include "collect/contain.h"
#include "collect/exec.h"
#include "common/timeutil.h"

#define CHILD_GIVE_UP_MS 2000 /* after SIGKILL: uninterruptible sleep, stop waiting */
#define CHILD_NOPIDFD_POLL_MS 20

struct shared {
	struct aod_action_result res;
	int rc;
	atomic_int done; /* the child returned from its work */
};

struct watch {
	pid_t pid;
	int pidfd;
	uint64_t kill_at;  /* hard deadline: kill the cell */
	bool exited, killed, timed_out, cancelled, gave_up;
};

/* Close every fd >= 3 except the (at most two) kept ones. */
static void close_except(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;
	unsigned ranges[3][2] = {{3, (unsigned)lo - 1}, {(unsigned)lo + 1, (unsigned)hi - 1},
				 {(unsigned)hi + 1, ~0U}};

	for (int i = 0; i < 3; i++)
		if (ranges[i][0] >= 3 && ranges[i][0] <= ranges[i][1])
			syscall(SYS_close_range, ranges[i][0], ranges[i][1], 0);
}

__attribute__((noreturn)) static void child_main(const struct aod_child_job *job,
						 struct shared *sh, uint64_t deadline,
						 pid_t parent)
{
	struct aod_exec_ctl ctl = {.cancel_fd = job->cancel_fd, .quiet = true};
	struct aod_func_ctx ctx = {.ctl = &ctl, .deadline_mono_ns = deadline, .res = &sh->res};
	const struct aod_action_spec *spec = job->spec;
	char name[16];

	aod_cell_enter(job->cell); /* first: all it starts is in the cell */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	setpgid(0, 0);
	snprintf(name, sizeof(name), "aod:%.11s", spec->name);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	if (job->cancel_fd >= 3 && job->fd >= 3)
		close_except(job->fd, job->cancel_fd);
	if (spec->kind == AOD_ACTION_COPY)
		sh->rc = aod_copy_file(spec->path, spec->max_bytes, job->fd, &sh->res);
	else
		sh->rc = spec->fn(&ctx, spec, job->fd);
	atomic_store(&sh->done, 1);
	_exit(0);
}

static void hard_kill(struct watch *w, struct aod_cell *cell, uint64_t now)
{
	aod_cell_kill(cell);
	kill(w->pid, SIGKILL);
	w->killed = true;
	w->kill_at = now + CHILD_GIVE_UP_MS * AOD_NSEC_PER_MSEC; /* from now on: give up at */
}

static void check_exit(struct watch *w)
{
	siginfo_t si = {0};

	if (!waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == w->pid)
		w->exited = true;
}

static int wait_ms(const struct watch *w, uint64_t now)
{
	uint64_t ms = w->kill_at > now ? (w->kill_at - now + AOD_NSEC_PER_MSEC - 1) / AOD_NSEC_PER_MSEC : 0;

	if (w->pidfd < 0 && ms > CHILD_NOPIDFD_POLL_MS)
		ms = CHILD_NOPIDFD_POLL_MS;
	return ms > 60000 ? 60000 : (int)ms;
}

/* Until the child exits: at kill_at it is killed (timed out), on cancel it
 * gets a grace of AOD_EXEC_KILL_GRACE_MS to stop its own programs. */
static void watch_child(struct watch *w, struct aod_cell *cell, int cancel_fd)
{
	while (!w->exited && !w->gave_up) {
		struct pollfd pfd[2];
		int n = 0, i_cancel = -1;
		uint64_t now = aod_mono_ns();

		if (now >= w->kill_at) {
			if (w->killed) {
				w->gave_up = true;
				break;
			}
			w->timed_out = !w->cancelled;
			hard_kill(w, cell, now);
		}
		if (w->pidfd >= 0)
			pfd[n++] = (struct pollfd){.fd = w->pidfd, .events = POLLIN};
		if (!w->cancelled && !w->killed && cancel_fd >= 0) {
			i_cancel = n;
			pfd[n++] = (struct pollfd){.fd = cancel_fd, .events = POLLIN};
		}
		if (poll(pfd, (nfds_t)n, wait_ms(w, now)) < 0 && errno != EINTR)
			usleep(10000);
		check_exit(w);
		if (i_cancel >= 0 && pfd[i_cancel].revents) {
			uint64_t grace = aod_mono_ns() + AOD_EXEC_KILL_GRACE_MS * AOD_NSEC_PER_MSEC;

			w->cancelled = true;
			if (grace < w->kill_at)
				w->kill_at = grace;
		}
	}
}

/* Take the child's result; its strings may have been cut by the kill. */
static void take_result(const struct shared *sh, struct aod_action_result *res)
{
	*res = sh->res;
	res->name[sizeof(res->name) - 1] = '\0';
	res->file[sizeof(res->file) - 1] = '\0';
	res->desc[sizeof(res->desc) - 1] = '\0';
	res->error[sizeof(res->error) - 1] = '\0';
}

static void note_kill(struct aod_action_result *res, const struct watch *w, uint32_t timeout)
{
	char was[AOD_ACTION_ERR_LEN];

	if (!w->killed)
		return; /* it finished on its own, in time or in its grace */
	if (w->cancelled) {
		if (!res->error[0])
			snprintf(res->error, sizeof(res->error), "cancelled");
		return;
	}
	if (!w->timed_out)
		return;
	res->timed_out = true;
	snprintf(was, sizeof(was), "%s", res->error);
	snprintf(res->error, sizeof(res->error), "timed out after %u s, killed%s%.200s", timeout,
		 was[0] ? "; before: " : "", was);
}

static void reap(struct watch *w, struct aod_action_result *res)
{
	if (w->gave_up) {
		/* The child is stuck in the kernel: it holds only its output fd.
		 * Whoever reaps later: the pool's cell close retries, init. */
		if (!res->error[0])
			snprintf(res->error, sizeof(res->error),
				 "pid %d did not exit after SIGKILL (uninterruptible sleep?)",
				 (int)w->pid);
		return;
	}
	while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int aod_child_run(const struct aod_child_job *job, struct aod_action_result *res)
{
	uint32_t timeout = job->spec->timeout_sec ? job->spec->timeout_sec
						  : AOD_ACTION_DEFAULT_TIMEOUT_SEC;
	uint64_t deadline = aod_mono_ns() + timeout * AOD_NSEC_PER_SEC;
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct watch w = {.pidfd = -1};
	pid_t parent = getpid();
	int rc;

	if (sh == MAP_FAILED) {
		rc = -errno;
		snprintf(res->error, sizeof(res->error), "mmap: %s", strerror(-rc));
		return rc;
	}
	sh->res = *res;
	sh->rc = 0;
	atomic_init(&sh->done, 0);
	w.pid = fork();
	if (w.pid == 0)
		child_main(job, sh, deadline, parent);
	if (w.pid < 0) {
		rc = -errno;
		snprintf(res->error, sizeof(res->error), "fork: %s", strerror(-rc));
		munmap(sh, sizeof(*sh));
		return rc;
	}
	aod_cell_set_leader(job->cell, w.pid);
	w.pidfd = (int)syscall(SYS_pidfd_open, w.pid, 0);
	/* A collector gets the grace a program gets between TERM and KILL, to
	 * stop the programs it runs itself; a copy has nothing to stop. */
	w.kill_at = deadline + (job->spec->kind == AOD_ACTION_FUNC
					? AOD_EXEC_KILL_GRACE_MS * AOD_NSEC_PER_MSEC
					: 0);
	watch_child(&w, job->cell, job->cancel_fd);
	reap(&w, &sh->res);
	take_result(sh, res);
	rc = atomic_load(&sh->done) ? sh->rc : w.cancelled ? -ECANCELED : -ETIME;
	note_kill(res, &w, timeout);
	if (w.pidfd >= 0)
		close(w.pidfd);
	munmap(sh, sizeof(*sh));
	return rc;
}
