// SPDX-License-Identifier: MIT
#include "impact/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/control.h"
#include "common/fsutil.h"
#include "common/text.h"
#include "common/timeutil.h"
#include "impact/sampler.h"

extern char **environ;

const char *const aod_impact_loss_names[AOD_LOSS_COUNT] = {
	[AOD_LOSS_RINGBUF] = "ringbuf_drops",
	[AOD_LOSS_INFLIGHT_FULL] = "inflight_full",
	[AOD_LOSS_EVENT_QUEUE] = "event_queue_overflows",
	[AOD_LOSS_FLIGHT_RECORDER] = "flight_recorder_overwritten",
	[AOD_LOSS_WINDOW] = "window_dropped",
	[AOD_LOSS_ANOMALY_QUEUE] = "anomaly_queue_overflows",
	[AOD_LOSS_STORE] = "store_lost",
};

/* The agent of a with-agent run. */
struct agent_child {
	pid_t pid;
	int pidfd;
	char dir[112], sock[108], out[128], cfg[128], log[128];
};

static double secs(uint64_t ns) { return (double)ns / 1e9; }

static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int aod_impact_resolve_exe(const char *argv0, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p, *end;
	int last = -ENOENT;

	if (!argv0[0])
		return -ENOENT;
	if (strchr(argv0, '/')) {
		if ((size_t)snprintf(out, len, "%s", argv0) >= len)
			return -ENAMETOOLONG;
		return access(out, X_OK) ? -errno : 0;
	}
	if (!path || !path[0])
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		struct stat st;
		size_t n;

		end = strchrnul(p, ':');
		n = (size_t)(end - p);
		if ((size_t)snprintf(out, len, "%.*s/%s", (int)n, n ? p : ".", argv0) >= len)
			continue;
		if (!stat(out, &st) && S_ISREG(st.st_mode)) {
			if (!access(out, X_OK))
				return 0;
			last = -EACCES;
		}
	}
	return last;
}

/* In a child: stdin from /dev/null, stdout and stderr to log (appended). */
static int child_redirect(const char *log)
{
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		return -errno;
	return 0;
}

/*
 * fork + execve exe argv with output to log (agent: without the service
 * manager's variables). The child reports a failed
 * exec as its errno on a close-on-exec pipe, so "could not run" is told
 * apart from "ran and failed". Returns the pid, or -errno (err set).
 */
static pid_t spawn(const char *exe, char *const *argv, const char *log, bool agent, char *err,
		   size_t errlen)
{
	int pfd[2], child_errno = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pfd[0]);
		close(pfd[1]);
		snprintf(err, errlen, "fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		sigset_t none;
		int rc;

		/* the caller blocks the signals it reads from a signalfd: not the child's business */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (agent) {
			/* not the service manager's agent: no READY=1 or watchdog pings to it, and
			 * a log with timestamps (a file, not the journal) */
			unsetenv("NOTIFY_SOCKET");
			unsetenv("WATCHDOG_USEC");
			unsetenv("WATCHDOG_PID");
			unsetenv("JOURNAL_STREAM");
		}
		rc = child_redirect(log);
		if (!rc) {
			execve(exe, argv, environ);
			rc = -errno;
		}
		child_errno = -rc;
		(void)!write(pfd[1], &child_errno, sizeof(child_errno));
		_exit(127);
	}
	close(pfd[1]);
	do {
		n = read(pfd[0], &child_errno, sizeof(child_errno));
	} while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == (ssize_t)sizeof(child_errno)) {
		waitpid(pid, NULL, 0);
		snprintf(err, errlen, "cannot run %s: %s", exe, strerror(child_errno));
		return -child_errno;
	}
	return pid;
}

static void add_sample(struct aod_impact_run *r, double t, double cpu, uint64_t rss)
{
	if (r->nsamples == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct aod_impact_sample *s = realloc(r->samples, cap * sizeof(*s));

		if (!s)
			return; /* keep what we have: the summary counts samples, not time */
		r->samples = s;
		r->cap = cap;
	}
	r->samples[r->nsamples++] = (struct aod_impact_sample){ t, cpu, rss };
	if (rss > r->agent_rss_max_kib)
		r->agent_rss_max_kib = rss;
}

/* Sample the agent at t: CPU relative to cpu0. A failed read is skipped (logged by caller). */
static int sample_agent(struct aod_impact_run *r, double t, double cpu0)
{
	uint64_t rss;
	double cpu;
	int rc;

	rc = aod_impact_proc_cpu(r->agent_pid, &cpu);
	if (!rc)
		rc = aod_impact_proc_rss(r->agent_pid, &rss);
	if (!rc)
		add_sample(r, t, cpu - cpu0, rss);
	return rc;
}

/* The last line of a log, escaped, in out ("" if none). */
static void log_tail(const char *path, char *out, size_t len)
{
	char *text = NULL, *line, *end;
	size_t n;

	out[0] = '\0';
	if (aod_read_text(path, 1 << 20, &text, &n))
		return;
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	end = text + n;
	line = memrchr(text, '\n', n);
	line = line ? line + 1 : text;
	aod_text_escape(line, (size_t)(end - line), out, len, false);
	free(text);
}

/* The agent's config: the user's, with every place it writes moved below dir. */
static int write_agent_config(const struct aod_impact_plan *p, struct agent_child *a, char *err,
			      size_t errlen)
{
	struct aod_config *c = malloc(sizeof(*c));
	FILE *f;
	int rc = 0;

	if (!c)
		return -ENOMEM;
	*c = *p->cfg;
	snprintf(c->output_dir, sizeof(c->output_dir), "%s", a->out);
	snprintf(c->store.path, sizeof(c->store.path), "%s/aod.db", a->out);
	snprintf(c->agent.control_socket, sizeof(c->agent.control_socket), "%s", a->sock);
	snprintf(c->health.history_dir, sizeof(c->health.history_dir), "%s/health", a->dir);
	c->http.listen[0] = '\0'; /* no port to collide with a running agent's */
	f = fopen(a->cfg, "wxe");
	if (!f || aod_config_print(c, f) < 0 || fclose(f)) {
		rc = -errno;
		snprintf(err, errlen, "cannot write %s: %s", a->cfg, strerror(errno));
		if (f)
			fclose(f);
	}
	free(c);
	return rc;
}

static int agent_paths(const struct aod_impact_plan *p, unsigned index, struct agent_child *a,
		       char *err, size_t errlen)
{
	int n = snprintf(a->dir, sizeof(a->dir), "%s/agent-%02u", p->workdir, index);

	if (n < 0 || (size_t)n >= sizeof(a->dir) ||
	    (size_t)snprintf(a->sock, sizeof(a->sock), "%s/aod.sock", a->dir) >= sizeof(a->sock)) {
		snprintf(err, errlen, "%s: path too long for a unix socket (at most %zu bytes)",
			 a->dir, sizeof(a->sock) - 10);
		return -ENAMETOOLONG;
	}
	snprintf(a->out, sizeof(a->out), "%s/out", a->dir);
	snprintf(a->cfg, sizeof(a->cfg), "%s/aod.yaml", a->dir);
	snprintf(a->log, sizeof(a->log), "%s/agent.log", a->dir);
	if (mkdir(a->dir, 0700)) {
		snprintf(err, errlen, "mkdir %s: %s", a->dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Reap the agent if it has exited; returns true and fills err with why. */
static bool agent_exited(struct agent_child *a, char *err, size_t errlen)
{
	char tail[512];
	int status;

	if (waitpid(a->pid, &status, WNOHANG) != a->pid)
		return false;
	log_tail(a->log, tail, sizeof(tail));
	if (WIFEXITED(status))
		snprintf(err, errlen, "the agent exited with status %d: %s (log %s)",
			 WEXITSTATUS(status), tail, a->log);
	else
		snprintf(err, errlen, "the agent was killed by signal %d: %s (log %s)",
			 WTERMSIG(status), tail, a->log);
	a->pid = 0;
	return true;
}

static void agent_kill(struct agent_child *a)
{
	if (a->pid > 0) {
		kill(a->pid, SIGKILL);
		waitpid(a->pid, NULL, 0);
		a->pid = 0;
	}
	if (a->pidfd >= 0)
		close(a->pidfd);
	a->pidfd = -1;
}

/* Has the user asked to stop? Waits up to ms for it. */
static bool stop_requested(int stop_fd, int ms)
{
	struct pollfd pfd = { .fd = stop_fd, .events = POLLIN };

	if (stop_fd < 0) {
		if (ms > 0)
			usleep((useconds_t)ms * 1000);
		return false;
	}
	return poll(&pfd, 1, ms) > 0;
}

/* Start the agent and wait until it answers "status" on its socket. */
static int agent_start(const struct aod_impact_plan *p, struct aod_impact_run *r,
		       struct agent_child *a, char *err, size_t errlen)
{
	char *argv[] = { "aod", "agent", "--config", a->cfg, NULL };
	uint64_t t0 = aod_mono_ns(), deadline;
	char cerr[256], *reply = NULL;
	int rc;

	a->pidfd = -1;
	if ((rc = agent_paths(p, r->index, a, err, errlen)) ||
	    (rc = write_agent_config(p, a, err, errlen)))
		return rc;
	a->pid = spawn("/proc/self/exe", argv, a->log, true, err, errlen);
	if (a->pid < 0) {
		rc = (int)a->pid;
		a->pid = 0;
		return rc;
	}
	a->pidfd = pidfd_of(a->pid);
	r->agent_pid = a->pid;
	deadline = t0 + (uint64_t)(p->ready_timeout_s * 1e9);
	for (;;) {
		if (agent_exited(a, err, errlen))
			return -ECHILD;
		if (!access(a->sock, F_OK) &&
		    !aod_control_request(a->sock, "status", &reply, cerr, sizeof(cerr)))
			break;
		if (aod_mono_ns() > deadline) {
			snprintf(err, errlen, "the agent did not answer on %s within %.0f s (log %s)",
				 a->sock, p->ready_timeout_s, a->log);
			agent_kill(a);
			return -ETIMEDOUT;
		}
		if (stop_requested(p->stop_fd, 50)) {
			snprintf(err, errlen, "interrupted while the agent was starting");
			agent_kill(a);
			return -EINTR;
		}
	}
	free(reply);
	r->agent_start_s = secs(aod_mono_ns() - t0);
	aod_impact_proc_cpu(a->pid, &r->agent_start_cpu_s);
	aod_impact_dir_bytes(a->out, &r->out_bytes_ready);
	return 0;
}

static uint64_t jnum(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(o, a), b);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

int aod_impact_parse_status(const char *text, struct aod_impact_run *r)
{
	json_t *root = json_loads(text, 0, NULL), *probes, *pr;
	size_t i;

	if (!json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	memset(r->loss, 0, sizeof(r->loss));
	probes = json_object_get(root, "probes");
	json_array_foreach(probes, i, pr) {
		r->loss[AOD_LOSS_RINGBUF] += jnum(pr, "counters", "ringbuf_drops");
		r->loss[AOD_LOSS_INFLIGHT_FULL] += jnum(pr, "counters", "inflight_full");
	}
	r->loss[AOD_LOSS_EVENT_QUEUE] = jnum(root, "dispatcher", "event_queue_overflows");
	r->loss[AOD_LOSS_FLIGHT_RECORDER] = jnum(root, "dispatcher", "flight_recorder_overwritten");
	r->loss[AOD_LOSS_WINDOW] = jnum(root, "detector", "window_dropped");
	r->loss[AOD_LOSS_ANOMALY_QUEUE] = jnum(root, "anomalies", "queue_overflows");
	r->loss[AOD_LOSS_STORE] = jnum(root, "store", "lost");
	r->events_decoded = jnum(root, "dispatcher", "events_decoded");
	json_decref(root);
	return 0;
}

/* Final status (loss counters), then SIGTERM and wait for a clean exit. */
static int agent_stop(const struct aod_impact_plan *p, struct aod_impact_run *r,
		      struct agent_child *a, char *err, size_t errlen)
{
	char cerr[256], *reply = NULL, tail[512];
	struct pollfd pfd = { .fd = a->pidfd, .events = POLLIN };
	int status, rc = 0;

	if (aod_control_request(a->sock, "status", &reply, cerr, sizeof(cerr)) ||
	    aod_impact_parse_status(reply, r)) {
		if (agent_exited(a, err, errlen)) { /* it died during the run: that is the news */
			close(a->pidfd);
			a->pidfd = -1;
			free(reply);
			aod_impact_dir_bytes(a->out, &r->out_bytes_end);
			return -ECHILD;
		}
		snprintf(err, errlen, "the agent's final status: %s", reply ? "not JSON" : cerr);
		rc = -EIO;
	}
	free(reply);
	kill(a->pid, SIGTERM);
	if (a->pidfd >= 0 && poll(&pfd, 1, 30000) == 0) {
		snprintf(err, errlen, "the agent did not stop within 30 s of SIGTERM: killed (log %s)",
			 a->log);
		agent_kill(a);
		return -ETIMEDOUT;
	}
	waitpid(a->pid, &status, 0);
	a->pid = 0;
	close(a->pidfd);
	a->pidfd = -1;
	if (!rc && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		log_tail(a->log, tail, sizeof(tail));
		snprintf(err, errlen, "the agent did not stop cleanly (status 0x%x): %s (log %s)",
			 status, tail, a->log);
		rc = -EIO;
	}
	aod_impact_dir_bytes(a->out, &r->out_bytes_end);
	return rc;
}

static void describe_failure(const char *exe, int status, const char *log, char *err,
			     size_t errlen)
{
	char tail[512];

	log_tail(log, tail, sizeof(tail));
	if (WIFEXITED(status))
		snprintf(err, errlen, "%s exited with status %d%s%s (output in %s)", exe,
			 WEXITSTATUS(status), tail[0] ? ": " : "", tail, log);
	else
		snprintf(err, errlen, "%s was killed by signal %d (%s)%s%s (output in %s)", exe,
			 WTERMSIG(status), strsignal(WTERMSIG(status)), tail[0] ? ": " : "", tail,
			 log);
}

/*
 * One execution of the workload. The wait is on a pidfd so the end is seen
 * at once; between, the agent (if any) is sampled every sample_ms.
 */
static enum aod_impact_rc run_once(const struct aod_impact_plan *p, struct aod_impact_run *r,
				   const char *log, uint64_t run_t0, double cpu0, char *err,
				   size_t errlen)
{
	uint64_t t0, next, now, period = (uint64_t)p->sample_ms * AOD_NSEC_PER_MSEC;
	struct pollfd pfd[2] = { { .events = POLLIN }, { .fd = p->stop_fd, .events = POLLIN } };
	bool stop = false;
	struct rusage ru;
	pid_t pid;
	int status;

	t0 = aod_mono_ns();
	pid = spawn(p->exe, p->argv, log, false, err, errlen);
	if (pid < 0)
		return AOD_IMPACT_WORKLOAD_FAILED;
	pfd[0].fd = pidfd_of(pid);
	if (pfd[0].fd < 0) {
		snprintf(err, errlen, "pidfd_open: %s", strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return AOD_IMPACT_SYSTEM;
	}
	next = t0 + period;
	for (;;) {
		int wait_ms, n;

		now = aod_mono_ns();
		wait_ms = next > now ? (int)((next - now + 999999) / AOD_NSEC_PER_MSEC) : 0;
		n = poll(pfd, p->stop_fd >= 0 ? 2 : 1, wait_ms);
		if (n > 0 && (pfd[1].revents & POLLIN) && !stop) {
			stop = true; /* let it end as it would on the signal; wait4 below */
			kill(pid, SIGTERM);
		}
		if (n > 0 && pfd[0].revents)
			break;
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		now = aod_mono_ns();
		if (now >= next) {
			if (r->with_agent)
				sample_agent(r, secs(now - run_t0), cpu0);
			next += period;
			if (next < now)
				next = now + period;
		}
	}
	close(pfd[0].fd);
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	if (stop || stop_requested(p->stop_fd, 0)) {
		snprintf(err, errlen, "interrupted");
		return AOD_IMPACT_INTERRUPTED;
	}
	now = aod_mono_ns();
	r->wall_s += secs(now - t0);
	r->user_s += (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	r->sys_s += (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	r->iterations++;
	r->wait_status = status;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		describe_failure(p->argv[0], status, log, err, errlen);
		return AOD_IMPACT_WORKLOAD_FAILED;
	}
	return AOD_IMPACT_OK;
}

enum aod_impact_rc aod_impact_run(const struct aod_impact_plan *p, struct aod_impact_run *r,
				  char *err, size_t errlen)
{
	struct agent_child a = { .pidfd = -1 };
	enum aod_impact_rc rc = AOD_IMPACT_OK;
	char log[PATH_MAX];
	double cpu0 = 0, cpu1 = 0;
	uint64_t t0;

	snprintf(log, sizeof(log), "%s/run-%02u.out", p->workdir, r->index);
	if (r->with_agent) {
		int e = agent_start(p, r, &a, err, errlen);

		if (e)
			return e == -EINTR ? AOD_IMPACT_INTERRUPTED : AOD_IMPACT_AGENT_FAILED;
	}
	t0 = aod_mono_ns();
	if (r->with_agent) {
		aod_impact_proc_cpu(a.pid, &cpu0);
		sample_agent(r, 0, cpu0);
	}
	do {
		rc = run_once(p, r, log, t0, cpu0, err, errlen);
	} while (rc == AOD_IMPACT_OK && secs(aod_mono_ns() - t0) < p->duration_s);
	if (!r->with_agent)
		return rc;
	if (!sample_agent(r, secs(aod_mono_ns() - t0), cpu0) && r->nsamples)
		cpu1 = r->samples[r->nsamples - 1].cpu_s + cpu0;
	r->agent_cpu_s = cpu1 > cpu0 ? cpu1 - cpu0 : 0;
	if (rc != AOD_IMPACT_OK) { /* the workload's failure is the news; stop the agent anyway */
		char ignored[256];

		if (agent_stop(p, r, &a, ignored, sizeof(ignored)) && a.pid > 0)
			agent_kill(&a);
		return rc;
	}
	if (agent_stop(p, r, &a, err, errlen)) {
		agent_kill(&a);
		return AOD_IMPACT_AGENT_FAILED;
	}
	return AOD_IMPACT_OK;
}

void aod_impact_run_free(struct aod_impact_run *r)
{
	free(r->samples);
	r->samples = NULL;
	r->nsamples = r->cap = 0;
}
