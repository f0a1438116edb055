// SPDX-License-Identifier: MIT
/*
 * aod impact: what does the agent cost? The workload runs N times without
 * and N times with the agent, interleaved (A B A B ...) so that drift of
 * the machine falls on both sides alike; the report compares the medians
 * and says whether the difference leaves the baseline's run-to-run spread.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "agent/privileges.h"
#include "cli/commands.h"
#include "common/fsutil.h"
#include "config/config.h"
#include "impact/report.h"
#include "impact/runner.h"
#include "impact/svg.h"

#define MAX_REPEAT 100
#define SAMPLE_MS 200
#define READY_TIMEOUT_S 60

static void impact_usage(FILE *out)
{
	fprintf(out,
		"usage: aod impact [--duration S] [--repeat N] [--config FILE] [--output-dir DIR]\n"
		"                  [--format text|csv] [--plot FILE.svg] -- WORKLOAD [ARG]...\n\n"
		"Measure what the agent costs a workload. WORKLOAD runs N times without and N\n"
		"times with the agent, interleaved (without, with, without, ...); it is executed\n"
		"directly (execve, no shell), stdin /dev/null, its output kept in DIR/run-NN.out.\n"
		"For each with-agent run the agent (this binary, `aod agent --config` with FILE's\n"
		"settings but its own output dir, control socket and health history under\n"
		"DIR/agent-NN/, and no HTTP server) is started, the run begins once it answers on\n"
		"its control socket, its CPU and RSS are sampled every %d ms, and it is stopped\n"
		"after (SIGTERM) with its loss counters read from its status first.\n\n"
		"Report: the workload's wall time and CPU per iteration (median, IQR, min-max) without\n"
		"and with, their ratio, and a verdict: \"within noise\" when the two medians differ by\n"
		"no more than the baseline's max-min; the agent's CPU (s and %% of one core), RSS over\n"
		"time, output-directory growth and loss counters; a table of the runs.\n\n"
		"  --duration S     each run repeats the workload until S seconds have passed\n"
		"                   (default 0: one execution per run); figures are per iteration\n"
		"  --repeat N       runs on each side (default 3, at most %d)\n"
		"  --config FILE    the agent's config (default: the embedded one)\n"
		"  --output-dir DIR keep logs, agent configs and agent output here (created; must be\n"
		"                   empty); default a temporary dir under /var/tmp, removed at exit\n"
		"  --format F       text (default) or csv (one row per run, then one per sample;\n"
		"                   columns in docs/impact.md)\n"
		"  --plot FILE.svg  also write an SVG: agent CPU%% and RSS over time, wall per run\n\n"
		"Needs root (CAP_BPF, CAP_PERFMON) for the agent. SIGINT/SIGTERM stop the workload and\n"
		"the agent and report nothing (exit 130). Exit status: 0 done, 1 a workload run\n"
		"failed (named) or the agent could not start or stop, 2 usage error.\n",
		SAMPLE_MS, MAX_REPEAT);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("aod impact: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n(aod impact --help for usage)\n", stderr);
	return 2;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return !errno && end != s && !*end && *out >= 0 && *out <= 86400 ? 0 : -EINVAL;
}

static int parse_repeat(const char *s, unsigned *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > MAX_REPEAT)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) ? -1 : 0;
}

/* DIR must not exist or be empty: results are never mixed with another run's. */
static int prepare_output_dir(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int rc;

	rc = aod_mkdir_p(dir, 0700);
	if (rc) {
		fprintf(stderr, "aod impact: --output-dir %s: %s\n", dir, strerror(-rc));
		return 2;
	}
	if (!(d = opendir(dir))) {
		fprintf(stderr, "aod impact: --output-dir %s: %s\n", dir, strerror(errno));
		return 2;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			closedir(d);
			fprintf(stderr, "aod impact: --output-dir %s: not empty (expected a new or "
				"empty directory)\n", dir);
			return 2;
		}
	closedir(d);
	return 0;
}

/* The command line as one string, for the report's first line and the plot's title. */
static char *join_argv(char *const *argv)
{
	size_t len = 1;
	char *s;

	for (char *const *a = argv; *a; a++)
		len += strlen(*a) + 1;
	if (!(s = calloc(1, len)))
		return NULL;
	for (char *const *a = argv; *a; a++) {
		if (a != argv)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

static int write_plot(const char *path, const char *title, const struct aod_impact_run *runs,
		      size_t nruns)
{
	FILE *f = fopen(path, "we");
	int rc;

	if (!f) {
		fprintf(stderr, "aod impact: --plot %s: %s\n", path, strerror(errno));
		return 1;
	}
	rc = aod_impact_svg(f, title, runs, nruns);
	if (fclose(f) || rc) {
		fprintf(stderr, "aod impact: --plot %s: write failed\n", path);
		return 1;
	}
	return 0;
}

struct impact_opts {
	double duration_s;
	unsigned repeat;
	const char *config, *output_dir, *plot;
	bool csv;
};

static int parse_opts(int argc, char **argv, struct impact_opts *o)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' },
		{ "output-dir", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "plot", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	o->repeat = 3;
	optind = 1;
	/* '+': stop at the first non-option, so the workload's own options stay its own */
	while ((c = getopt_long(argc, argv, "+d:n:c:o:f:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_seconds(optarg, &o->duration_s))
				return usage_error("--duration '%s': expected seconds, 0 to 86400",
						   optarg);
			break;
		case 'n':
			if (parse_repeat(optarg, &o->repeat))
				return usage_error("--repeat '%s': expected a whole number, 1 to 100",
						   optarg);
			break;
		case 'c': o->config = optarg; break;
		case 'o': o->output_dir = optarg; break;
		case 'p': o->plot = optarg; break;
		case 'f':
			if (strcmp(optarg, "text") && strcmp(optarg, "csv"))
				return usage_error("--format '%s': expected text or csv", optarg);
			o->csv = !strcmp(optarg, "csv");
			break;
		case 'h': impact_usage(stdout); return -1;
		default: impact_usage(stderr); return 2;
		}
	}
	if (optind >= argc)
		return usage_error("%s", "no workload: expected -- WORKLOAD [ARG]...");
	return 0;
}

/* Run the plan: A B A B ...; stops at the first failure (message printed). */
static int run_all(const struct aod_impact_plan *plan, struct aod_impact_run *runs,
		   unsigned nruns, size_t *made)
{
	char err[1024];

	for (unsigned i = 0; i < nruns; i++) {
		enum aod_impact_rc rc;

		runs[i].index = i + 1;
		runs[i].with_agent = i % 2 == 1;
		rc = aod_impact_run(plan, &runs[i], err, sizeof(err));
		*made = i + 1;
		if (rc == AOD_IMPACT_INTERRUPTED) {
			fprintf(stderr, "aod impact: interrupted during run %u: workload and agent "
				"stopped, nothing reported\n", i + 1);
			return 130;
		}
		if (rc == AOD_IMPACT_WORKLOAD_FAILED) {
			fprintf(stderr, "aod impact: run %u (%s the agent) failed: %s\n", i + 1,
				runs[i].with_agent ? "with" : "without", err);
			return 1;
		}
		if (rc) {
			fprintf(stderr, "aod impact: run %u (%s the agent): %s\n", i + 1,
				runs[i].with_agent ? "with" : "without", err);
			return 1;
		}
	}
	return 0;
}

static int impact(const struct impact_opts *o, char **workload)
{
	char exe[PATH_MAX], tmpdir[] = "/var/tmp/aod-impact.XXXXXX", missing[128];
	struct aod_impact_plan plan = { .argv = workload, .exe = exe,
					.duration_s = o->duration_s, .sample_ms = SAMPLE_MS,
					.ready_timeout_s = READY_TIMEOUT_S, .stop_fd = -1 };
	sigset_t stop_set, old_set;
	struct aod_config_error cerr;
	struct aod_config *cfg = malloc(sizeof(*cfg));
	unsigned nruns = 2 * o->repeat;
	struct aod_impact_run *runs = calloc(nruns, sizeof(*runs));
	char *title = join_argv(workload);
	size_t made = 0;
	int rc;

	if (!cfg || !runs || !title) {
		rc = 1;
		goto out;
	}
	if ((rc = aod_impact_resolve_exe(workload[0], exe, sizeof(exe)))) {
		fprintf(stderr, "aod impact: workload '%s': %s\n", workload[0],
			rc == -ENOENT ? "not found (not a path, and not in $PATH)" : strerror(-rc));
		rc = 2;
		goto out;
	}
	if (aod_config_load(cfg, o->config, &cerr)) {
		fprintf(stderr, "aod impact: %s\n", cerr.msg);
		rc = 2;
		goto out;
	}
	plan.cfg = cfg;
	if (aod_check_privileges(missing, sizeof(missing))) {
		fprintf(stderr, "aod impact: the agent cannot start: it needs %s to load its BPF "
			"probes; run aod impact as root\n", missing);
		rc = 1;
		goto out;
	}
	if (o->output_dir) {
		if ((rc = prepare_output_dir(o->output_dir)))
			goto out;
		plan.workdir = o->output_dir;
	} else if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "aod impact: mkdtemp %s: %s\n", tmpdir, strerror(errno));
		rc = 1;
		goto out;
	} else {
		plan.workdir = tmpdir;
	}
	/* INT and TERM end the measurement cleanly: workload and agent stopped, DIR removed */
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_set, &old_set);
	plan.stop_fd = signalfd(-1, &stop_set, SFD_CLOEXEC | SFD_NONBLOCK);
	rc = run_all(&plan, runs, nruns, &made);
	if (!rc) {
		if (o->csv)
			aod_impact_report_csv(stdout, runs, nruns);
		else
			aod_impact_report_text(stdout, title, runs, nruns, o->duration_s);
		if (o->plot)
			rc = write_plot(o->plot, title, runs, nruns);
		if (fflush(stdout)) {
			fprintf(stderr, "aod impact: writing the report: %s\n", strerror(errno));
			rc = 1;
		}
	}
	if (!o->output_dir && nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS))
		fprintf(stderr, "aod impact: removing %s: %s\n", tmpdir, strerror(errno));
	if (plan.stop_fd >= 0) {
		struct signalfd_siginfo si;

		/* consume it: unblocked while pending, it would kill us (SIGTERM's default) */
		while (read(plan.stop_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			;
		close(plan.stop_fd);
	}
	sigprocmask(SIG_SETMASK, &old_set, NULL);
out:
	for (size_t i = 0; runs && i < made; i++)
		aod_impact_run_free(&runs[i]);
	free(runs);
	free(title);
	free(cfg);
	return rc;
}

int aod_cmd_impact(int argc, char **argv)
{
	struct impact_opts o = { 0 };
	int rc = parse_opts(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	return impact(&o, argv + optind);
}
