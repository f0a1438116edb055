// SPDX-License-Identifier: MIT
/*
 * aod trace [-o FILE.db] [--all] [--json] [--report FILE] [--argv-cap N]
 *           [--ignore-comm NAME]... [--ignore-exe PATTERN]... [--failed-execs]
 *           -- CMD [ARGS...]
 *
 * Loads the process probe itself (so it works with or without an agent),
 * starts CMD (as the invoking user when run through sudo, with this
 * environment), follows its whole process tree in the kernel (tracked at
 * fork) until the last descendant exited, then reports. The child waits on
 * a pipe until it is tracked, so its exec is the first thing seen. Like
 * time(1), the report goes to stderr (or --report FILE), and SIGINT and
 * SIGQUIT are ignored here while CMD runs: a Ctrl-C goes to CMD, and the
 * report still comes. The exit status is CMD's (128 + signal if killed).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "probe/proc_probe.h"
#include "trace/trace.h"

#define MAX_FILTERS 64
#define REAP_EVERY_NS (1000ULL * 1000 * 1000)

struct trace_args {
	const char *out_db, *report;
	bool all, json, failed_execs;
	uint32_t argv_cap;
	const char *ignore_comm[MAX_FILTERS + 1];
	const char *ignore_exe[MAX_FILTERS + 1];
	int ncomm, nexe;
	char **cmd;
};

struct trace_ctx {
	struct trace_table t;
	uint64_t oom_fail; /* records that could not be kept */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: aod trace [-o FILE.db] [--all] [--json] [--report FILE] [--argv-cap BYTES]\n"
		   "                 [--ignore-comm NAME]... [--ignore-exe PATTERN]... [--failed-execs]\n"
		   "                 -- CMD [ARGS...]\n"
		   "Runs CMD, traces its whole process tree until the last descendant exits and\n"
		   "reports it (tree, slowest, CPU and memory top, failures) on stderr.\n"
		   "  -o, --output FILE.db\n"
		   "                    also write the run and its processes to a SQLite store\n"
		   "  --all             also record every other process on the host meanwhile\n"
		   "  --json            the report as JSON\n"
		   "  --report FILE     write the report to FILE instead of stderr\n"
		   "  --argv-cap BYTES  longest argv kept per exec (default %d, max %d)\n"
		   "  --ignore-comm N   do not report execs of this command name\n"
		   "  --ignore-exe P    nor of executables matching P (PREFIX*SUFFIX, e.g. '*.sh')\n"
		   "  --failed-execs    also record execs that fail (hooks every syscall meanwhile)\n",
		AOD_PROC_ARGV_DEFAULT, AOD_PROC_ARGV_MAX);
}

static int parse_args(int argc, char **argv, struct trace_args *a)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "report", required_argument, NULL, 'r' },
		{ "argv-cap", required_argument, NULL, 'c' },
		{ "ignore-comm", required_argument, NULL, 'C' },
		{ "ignore-exe", required_argument, NULL, 'E' },
		{ "failed-execs", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'o': a->out_db = optarg; break;
		case 'a': a->all = true; break;
		case 'j': a->json = true; break;
		case 'F': a->failed_execs = true; break;
		case 'r': a->report = optarg; break;
		case 'c':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !v || v > AOD_PROC_ARGV_MAX) {
				fprintf(stderr, "aod trace: --argv-cap %s: expected 1..%d bytes\n",
					optarg, AOD_PROC_ARGV_MAX);
				return -EINVAL;
			}
			a->argv_cap = (uint32_t)v;
			break;
		case 'C':
		case 'E':
			if ((c == 'C' ? a->ncomm : a->nexe) == MAX_FILTERS) {
				fprintf(stderr, "aod trace: at most %d filters of each kind\n", MAX_FILTERS);
				return -EINVAL;
			}
			if (c == 'C')
				a->ignore_comm[a->ncomm++] = optarg;
			else
				a->ignore_exe[a->nexe++] = optarg;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "aod trace: no command given (aod trace [OPTIONS] -- CMD [ARGS...])\n");
		usage(stderr);
		return -EINVAL;
	}
	a->cmd = argv + optind;
	return 0;
}

static void on_event(void *ctx, const struct aod_proc_event *ev)
{
	struct trace_ctx *tc = ctx;

	if (trace_table_add(&tc->t, ev))
		tc->oom_fail++;
}

/* Through sudo: the user who ran it. */
static int drop_to_sudo_user(void)
{
	const char *u = getenv("SUDO_UID"), *g = getenv("SUDO_GID"), *name = getenv("SUDO_USER");
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || !u || !g)
		return 0;
	uid = (uid_t)strtoul(u, NULL, 10);
	gid = (gid_t)strtoul(g, NULL, 10);
	if (uid == 0)
		return 0;
	if ((name && initgroups(name, gid)) || (!name && setgroups(0, NULL)))
		return -errno;
	if (setgid(gid) || setuid(uid))
		return -errno;
	return 0;
}

/*
 * CMD's path, searched in PATH here as execvp would (the first executable
 * match), so that the traced tree does not begin with one failed exec per
 * PATH entry. NULL when there is no match: execvp then reports it.
 */
static char *resolve_cmd(const char *cmd)
{
	const char *path = getenv("PATH");
	char *dup, *save = NULL, *dir, *found = NULL;

	if (strchr(cmd, '/') || !path || !(dup = strdup(path)))
		return NULL;
	for (dir = strtok_r(dup, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *full;

		if (asprintf(&full, "%s/%s", *dir ? dir : ".", cmd) < 0)
			break;
		if (!access(full, X_OK))
			found = full;
		else
			free(full);
	}
	free(dup);
	return found;
}

static void child_run(int sync_fd, char **cmd)
{
	char *path;

	char c;
	int e;

	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	if (read(sync_fd, &c, 1) != 1)
		_exit(127); /* the parent could not track us */
	close(sync_fd);
	e = drop_to_sudo_user();
	if (e) {
		fprintf(stderr, "aod trace: dropping to the sudo user: %s\n", strerror(-e));
		_exit(126);
	}
	path = resolve_cmd(cmd[0]); /* as the user who runs it */
	if (path)
		execv(path, cmd);
	else
		execvp(cmd[0], cmd);
	e = errno;
	fprintf(stderr, "aod trace: %s: %s\n", cmd[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

static char *join_cmd(char **cmd)
{
	size_t len = 1;
	char *s;

	for (char **p = cmd; *p; p++)
		len += strlen(*p) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (char **p = cmd; *p; p++) {
		if (p != cmd)
			strcat(s, " ");
		strcat(s, *p);
	}
	return s;
}

static int exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

/* Poll until the root was reaped and no process of its tree lives. */
static int follow(struct aod_proc_probe *pp, struct trace_ctx *tc, pid_t child, int *status)
{
	bool reaped = false;
	uint64_t next_reap = aod_mono_ns() + REAP_EVERY_NS;

	for (;;) {
		int n = aod_proc_probe_poll(pp, 50);

		if (n < 0) {
			log_err("trace: reading the process probe's ring: %s", strerror(-n));
			return n;
		}
		if (!reaped) {
			pid_t w = waitpid(child, status, WNOHANG);

			if (w == child)
				reaped = true;
			else if (w < 0 && errno != EINTR)
				return -errno;
		}
		if (reaped && tc->t.live_in_tree == 0) {
			aod_proc_probe_poll(pp, 0);
			if (tc->t.live_in_tree == 0)
				return 0;
		}
		if (aod_mono_ns() >= next_reap) {
			next_reap = aod_mono_ns() + REAP_EVERY_NS;
			trace_table_reap_lost(&tc->t);
		}
	}
}

static FILE *open_report(const char *path)
{
	FILE *f;

	if (!path)
		return stderr;
	f = fopen(path, "we");
	if (!f)
		fprintf(stderr, "aod trace: --report %s: %s\n", path, strerror(errno));
	return f;
}

static int report(const struct trace_args *a, struct trace_ctx *tc, struct trace_run *run)
{
	FILE *f = open_report(a->report);
	char err[512];
	int ret = 0;

	if (a->out_db && trace_store_write(a->out_db, &tc->t, run, err, sizeof(err))) {
		fprintf(stderr, "aod trace: writing the store: %s\n", err);
		ret = -EIO;
	}
	if (!f)
		return -EIO;
	if (a->json)
		trace_report_json(f, &tc->t, run);
	else
		trace_report_text(f, &tc->t, run);
	if (a->out_db && !ret && !a->json)
		fprintf(f, "\nStored in %s (aod query -d %s ...)\n", a->out_db, a->out_db);
	if (f != stderr)
		fclose(f);
	return ret;
}

int aod_cmd_trace(int argc, char **argv)
{
	struct trace_args a;
	struct trace_ctx tc = { 0 };
	struct aod_proc_probe *pp = NULL;
	struct trace_run run = { 0 };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	char err[1024];
	int sync[2], status = 0, e, cg, rc = 1;
	pid_t child;

	if (parse_args(argc, argv, &a))
		return 2;
	struct aod_proc_probe_opts po = {
		.tree_only = !a.all,
		.argv_cap = a.argv_cap,
		.ignore_comm = a.ignore_comm,
		.ignore_exe = a.ignore_exe,
		.failed_execs = a.failed_execs,
	};
	e = aod_proc_probe_open(&po, on_event, &tc, &pp, err, sizeof(err));
	if (e) {
		fprintf(stderr, "aod trace: loading the process probe: %s\n", err);
		return e == -EINVAL ? 2 : 1;
	}
	if (a.all && trace_table_init(&tc.t, 0) == 0) {
		/* the processes already running, outside the tree */
		e = aod_proc_probe_seed(pp);
		if (e < 0)
			fprintf(stderr, "aod trace: listing the running processes: %s\n", strerror(-e));
	}
	if (pipe2(sync, O_CLOEXEC)) {
		perror("aod trace: pipe");
		goto out;
	}
	run.command = join_cmd(a.cmd);
	run.all = a.all;
	run.mode = aod_proc_probe_mode(pp);
	run.started_wall_ns = aod_wall_ns();
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	child = fork();
	if (child < 0) {
		perror("aod trace: fork");
		goto out;
	}
	if (child == 0) {
		close(sync[1]);
		child_run(sync[0], a.cmd);
	}
	close(sync[0]);
	tc.t.root_tgid = (uint32_t)child;
	if ((!tc.t.bucket && trace_table_init(&tc.t, 0)) ||
	    (e = aod_proc_probe_track(pp, (uint32_t)child))) {
		fprintf(stderr, "aod trace: tracking the command: %s\n", strerror(e ? -e : ENOMEM));
		close(sync[1]); /* the child exits 127 without running CMD */
		waitpid(child, NULL, 0);
		goto out;
	}
	if (write(sync[1], "g", 1) != 1)
		perror("aod trace: starting the command");
	close(sync[1]);
	e = follow(pp, &tc, child, &status);
	run.ended_wall_ns = aod_wall_ns();
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	aod_proc_probe_counters(pp, run.counters);
	run.exit_status = exit_status(status);
	trace_table_link(&tc.t);
	cg = aod_cgroups_load(&tc.t.cgroups);
	if (cg && cg != -ENOENT)
		log_debug("trace: reading the cgroup2 hierarchy: %s", strerror(-cg));
	if (tc.oom_fail)
		fprintf(stderr, "aod trace: %llu records not kept (out of memory)\n",
			(unsigned long long)tc.oom_fail);
	report(&a, &tc, &run);
	rc = e ? 1 : run.exit_status;
out:
	aod_proc_probe_close(pp);
	trace_table_free(&tc.t);
	free((char *)run.command);
	return rc;
}
