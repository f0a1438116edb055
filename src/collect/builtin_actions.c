// SPDX-License-Identifier: MIT
/*
 * The built-in actions, under the names the seed config's `actions:` lists
 * use, and the host context every bundle gets. Compared with the seed:
 * every action has a timeout (its own default: aod_builtin_timeouts[] in
 * the config) and a cap, smbinfo queries each cifs mount
 * instead of printing its help, syslogs also finds RHEL's
 * /var/log/messages, and journalctl says why it was skipped on hosts
 * without a journal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/action.h"
#include "collect/action_internal.h"
#include "collect/exec.h"
#include "collect/hostctx.h"
#include "common/log.h"
#include "common/timeutil.h"

#define SYSLOG_TAIL_LINES 1000
#define KMSG_RECORD_MAX 8192
#define SMBINFO_MIN_QUERY_MS 1000

static const char *const smbinfo_queries[] = {"fileallinfo", "filefsfullsizeinfo"};

/* ---- dmesg ---- */

static const char *const kmsg_levels[] = {"emerg", "alert",  "crit", "err",
					  "warn",  "notice", "info", "debug"};

static uint64_t wall_of(uint64_t mono, uint64_t now_mono, uint64_t now_wall)
{
	uint64_t age = now_mono > mono ? now_mono - mono : 0;

	return now_wall > age ? now_wall - age : 0;
}

/*
 * The kernel ring buffer, read in-process: quick, no fork, works with and
 * without journald. Record timestamps are the printk clock (monotonic,
 * no suspend time), so wall time is derived from CLOCK_MONOTONIC "now".
 */
static int kmsg_collect(struct aod_func_ctx *ctx, int fd, uint32_t lookback)
{
	uint64_t now_mono = aod_mono_ns(), now_wall = aod_wall_ns();
	uint64_t back_ns = (uint64_t)lookback * AOD_NSEC_PER_SEC;
	uint64_t since_us = now_mono > back_ns ? (now_mono - back_ns) / 1000 : 0;
	unsigned kept = 0, lost = 0;
	char rec[KMSG_RECORD_MAX + 1], when[40];
	int k, rc = 0;
	FILE *out;

	k = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k < 0)
		return -errno;
	out = fdopen(dup(fd), "w");
	if (!out) {
		close(k);
		return -ENOMEM;
	}
	setvbuf(out, NULL, _IOLBF, 0); /* whole lines kept if killed */
	aod_format_wall(now_wall - back_ns, when, sizeof(when));
	fprintf(out, "# /dev/kmsg: kernel messages of the last %u s (since %s)\n", lookback, when);
	for (;;) {
		unsigned pri;
		unsigned long long seq, ts;
		ssize_t n = read(k, rec, KMSG_RECORD_MAX);
		char *msg, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EPIPE) { /* overwritten while we read */
			lost++;
			continue;
		}
		if (n < 0 && errno != EAGAIN)
			rc = -errno;
		if (n <= 0)
			break;
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (!msg || sscanf(rec, "%u,%llu,%llu", &pri, &seq, &ts) != 3 || ts < since_us)
			continue;
		nl = strchr(++msg, '\n');
		if (nl)
			*nl = '\0';
		aod_format_wall(wall_of(ts * 1000, now_mono, now_wall), when, sizeof(when));
		fprintf(out, "%s [%5llu.%06llu] %-6s %s\n", when, ts / 1000000, ts % 1000000,
			kmsg_levels[pri & 7], msg);
		kept++;
	}
	fprintf(out, "# %u messages%s\n", kept,
		lost ? " (some were overwritten while reading)" : "");
	fclose(out);
	close(k);
	if (rc)
		aod_func_error(ctx, "reading /dev/kmsg: %s", strerror(-rc));
	return rc;
}

static int dmesg_collect(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	const char *argv[AOD_MAX_ARGV + 1];
	struct aod_action_result sub;
	int rc;

	rc = kmsg_collect(ctx, fd, spec->lookback_sec);
	if (rc != -EPERM && rc != -EACCES && rc != -ENOENT) {
		aod_func_desc(ctx, "/dev/kmsg (last %u s)", spec->lookback_sec);
		return rc;
	}
	/* Sandboxed (ProtectKernelLogs) or a container: the journal's copy. */
	if (!aod_journal_present()) {
		aod_func_error(ctx, "cannot read /dev/kmsg (%s) and there is no journal", strerror(-rc));
		return rc;
	}
	for (uint32_t i = 0; i < spec->argc; i++)
		argv[i] = spec->argv[i];
	argv[spec->argc] = NULL;
	aod_func_desc(ctx, "/dev/kmsg unreadable (%s): journalctl -k --since=-%us", strerror(-rc),
		      spec->lookback_sec);
	rc = aod_func_exec(ctx, argv, 0, spec->max_bytes, fd, &sub);
	if (sub.error[0])
		aod_func_error(ctx, "%s", sub.error);
	else if (sub.exit_code)
		aod_func_error(ctx, "journalctl -k exited with %d", sub.exit_code);
	return rc;
}

/* ---- journalctl ---- */

static bool dir_has_journal(const char *path, int depth)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char sub[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		if ((len > 8 && !strcmp(e->d_name + len - 8, ".journal")) ||
		    (len > 9 && !strcmp(e->d_name + len - 9, ".journal~")))
			found = true;
		else if (depth > 0 && e->d_type == DT_DIR &&
			 (size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) < sizeof(sub))
			found = dir_has_journal(sub, depth - 1);
	}
	closedir(d);
	return found;
}

bool aod_journal_present(void)
{
	return !access("/run/systemd/journal/socket", F_OK) ||
	       dir_has_journal("/run/log/journal", 1) || dir_has_journal("/var/log/journal", 1);
}

static int journalctl_collect(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	const char *argv[AOD_MAX_ARGV + 1];
	struct aod_action_result sub;
	int rc;

	if (!aod_journal_present()) {
		aod_func_skip(ctx, "no systemd journal here: journald is not running and there are no "
			      "journal files in /run/log/journal or /var/log/journal");
		return 0;
	}
	for (uint32_t i = 0; i < spec->argc; i++)
		argv[i] = spec->argv[i];
	argv[spec->argc] = NULL;
	rc = aod_func_exec(ctx, argv, 0, spec->max_bytes, fd, &sub);
	if (sub.error[0])
		aod_func_error(ctx, "%s", sub.error);
	else if (sub.exit_code)
		aod_func_error(ctx, "journalctl exited with %d", sub.exit_code);
	return rc;
}

/* ---- smbinfo ---- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_mountinfo(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < cap; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			out[o++] =
			    (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

int aod_cifs_mounts(const char *mountinfo, char (*out)[AOD_ARG_LEN], size_t max)
{
	FILE *f = fopen(mountinfo, "re");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	if (!f)
		return -errno;
	while ((size_t)n < max && getline(&line, &cap, f) > 0) {
		/* id parent maj:min root MOUNTPOINT opts [optional...] - FSTYPE source super */
		char *sep = strstr(line, " - "), *p = line, *end;
		char fstype[32];

		if (!sep || sscanf(sep + 3, "%31s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cifs") && strcmp(fstype, "smb3"))
			continue;
		for (int i = 0; i < 4 && p; i++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (!p || !(end = strchr(p, ' ')))
			continue;
		unescape_mountinfo(p, (size_t)(end - p), out[n], AOD_ARG_LEN);
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

static int smbinfo_query(struct aod_func_ctx *ctx, int fd, const char *bin, const char *query, const char *mnt,
			 unsigned remaining, const struct aod_action_spec *spec, bool *failed)
{
	const char *argv[] = {bin, query, mnt, NULL};
	uint64_t left_ms = aod_func_time_left_ns(ctx) / AOD_NSEC_PER_MSEC;
	uint64_t reserve_ms = (uint64_t)(remaining - 1) * SMBINFO_MIN_QUERY_MS;
	uint64_t per_ms = left_ms > reserve_ms ? left_ms - reserve_ms : 0;
	struct aod_action_result sub;
	int rc;

	/* All the time left but a second for each query after this one: a
	 * slow query may take long (python starts slowly on a busy host),
	 * a hung mount still leaves the others their chance. */
	if (per_ms < SMBINFO_MIN_QUERY_MS)
		per_ms = SMBINFO_MIN_QUERY_MS;
	dprintf(fd, "== %s %s %s\n", bin, query, mnt);
	rc = aod_func_exec(ctx, argv, per_ms, spec->max_bytes, fd, &sub);
	if (sub.term_signal)
		dprintf(fd, "-- killed by signal %d%s%s\n\n", sub.term_signal,
			sub.error[0] ? ": " : "", sub.error);
	else
		dprintf(fd, "-- exit %d%s%s\n\n", sub.exit_code, sub.error[0] ? ": " : "",
			sub.error);
	*failed = rc || sub.exit_code != 0;
	return rc;
}

static int smbinfo_collect(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	const unsigned nq = sizeof(smbinfo_queries) / sizeof(smbinfo_queries[0]);
	char(*mounts)[AOD_ARG_LEN] = calloc(AOD_MAX_CIFS_MOUNTS, AOD_ARG_LEN);
	char bin[AOD_ARG_LEN];
	unsigned failed = 0, done = 0, total;
	int n, rc = 0;

	if (!mounts)
		return -ENOMEM;
	n = aod_cifs_mounts("/proc/self/mountinfo", mounts, AOD_MAX_CIFS_MOUNTS);
	if (n < 0) {
		aod_func_error(ctx, "cannot read /proc/self/mountinfo: %s", strerror(-n));
		rc = n;
		goto out;
	}
	if (n == 0) {
		aod_func_skip(ctx, "no cifs mount in /proc/self/mountinfo");
		goto out;
	}
	if (aod_exec_lookup(spec->argv[0], bin, sizeof(bin))) {
		aod_func_error(ctx, "not found: %s (package cifs-utils)", spec->argv[0]);
		rc = -ENOENT;
		goto out;
	}
	aod_func_desc(ctx, "%s fileallinfo, filefsfullsizeinfo on %d cifs mount%s", bin, n,
		      n == 1 ? "" : "s");
	total = (unsigned)n * nq;
	for (int m = 0; m < n && !rc; m++) {
		for (unsigned q = 0; q < nq && !rc; q++, done++) {
			bool bad;

			if (!aod_func_time_left_ns(ctx)) {
				aod_func_error(ctx, "out of time: %u of %u queries not run",
					       total - done, total);
				goto out;
			}
			rc = smbinfo_query(ctx, fd, bin, smbinfo_queries[q], mounts[m], total - done,
					   spec, &bad);
			failed += bad;
		}
	}
	if (rc == -ECANCELED)
		goto out;
	rc = 0;
	if (failed)
		aod_func_error(ctx, "%u of %u smbinfo queries failed", failed, total);
out:
	free(mounts);
	return rc;
}

/* ---- syslogs ---- */

/* Offset of the first of the last `lines` lines of the file. */
static off_t tail_offset(int in, unsigned lines)
{
	char buf[65536];
	off_t size = lseek(in, 0, SEEK_END), pos = size;
	unsigned seen = 0;

	while (pos > 0) {
		size_t chunk = pos < (off_t)sizeof(buf) ? (size_t)pos : sizeof(buf);
		ssize_t n;

		pos -= (off_t)chunk;
		n = pread(in, buf, chunk, pos);
		if (n != (ssize_t)chunk)
			return 0;
		for (size_t i = chunk; i-- > 0;) {
			if (buf[i] != '\n' || pos + (off_t)i == size - 1)
				continue; /* the last line's own newline */
			if (++seen == lines)
				return pos + (off_t)i + 1;
		}
	}
	return 0;
}

static int copy_from(int in, off_t off, int fd)
{
	char buf[65536];

	for (;;) {
		ssize_t n = pread(in, buf, sizeof(buf), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (ssize_t w = 0; w < n;) {
			ssize_t m = write(fd, buf + w, (size_t)(n - w));

			if (m < 0 && errno != EINTR)
				return -errno;
			if (m > 0)
				w += m;
		}
		off += n;
	}
}

static int syslogs_collect(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	static const char *const paths[] = {"/var/log/syslog", "/var/log/messages"};
	int in = -1, rc = -ENOENT;
	const char *path = NULL;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && in < 0; i++) {
		in = open(paths[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (in >= 0)
			path = paths[i];
		else if (errno != ENOENT && rc == -ENOENT)
			rc = -errno;
	}
	if (in < 0) {
		if (rc == -ENOENT)
			aod_func_error(ctx, "missing: /var/log/syslog, /var/log/messages");
		else
			aod_func_error(ctx, "cannot open the syslog file: %s", strerror(-rc));
		return rc;
	}
	aod_func_desc(ctx, "last %u lines of %s", SYSLOG_TAIL_LINES, path);
	rc = copy_from(in, tail_offset(in, SYSLOG_TAIL_LINES), fd);
	if (rc)
		aod_func_error(ctx, "reading %s: %s", path, strerror(-rc));
	close(in);
	return rc;
}

/* ---- the table ---- */

enum argv_kind { ARGV_NONE, ARGV_JOURNAL, ARGV_JOURNAL_KERNEL, ARGV_SMBINFO };

struct builtin {
	const char *name;
	const char *file;
	enum aod_action_kind kind;
	const char *path; /* COPY: the file; FUNC: the initial description */
	aod_action_fn fn;
	bool quick;
	enum argv_kind argv;
};

static const struct builtin builtins[] = {
    {"dmesg", "dmesg.log", AOD_ACTION_FUNC, "/dev/kmsg", dmesg_collect, true, ARGV_JOURNAL_KERNEL},
    {"journalctl", "journalctl.log", AOD_ACTION_FUNC, "", journalctl_collect, false, ARGV_JOURNAL},
    {"debugdata", "debugdata.log", AOD_ACTION_COPY, "/proc/fs/cifs/DebugData", NULL, true,
     ARGV_NONE},
    {"stats", "stats.log", AOD_ACTION_COPY, "/proc/fs/cifs/Stats", NULL, true, ARGV_NONE},
    {"mounts", "mounts.log", AOD_ACTION_COPY, "/proc/self/mountinfo", NULL, true, ARGV_NONE},
    {"smbinfo", "smbinfo.log", AOD_ACTION_FUNC, "", smbinfo_collect, false, ARGV_SMBINFO},
    {"syslogs", "syslogs.log", AOD_ACTION_FUNC, "/var/log/syslog | /var/log/messages",
     syslogs_collect, true, ARGV_NONE},
    /* Health rules: the report that fired them (path from health.history_dir) */
    {"health_report", "health-report.json", AOD_ACTION_COPY, "", NULL, true, ARGV_NONE},
    /* host context */
    {"meminfo", "meminfo.txt", AOD_ACTION_COPY, "/proc/meminfo", NULL, true, ARGV_NONE},
    {"pressure", "pressure.txt", AOD_ACTION_FUNC, "/proc/pressure/*", aod_hostctx_pressure, true,
     ARGV_NONE},
    {"loadavg", "loadavg.txt", AOD_ACTION_COPY, "/proc/loadavg", NULL, true, ARGV_NONE},
    {"diskstats", "diskstats.txt", AOD_ACTION_COPY, "/proc/diskstats", NULL, true, ARGV_NONE},
    {"processes", "processes.txt", AOD_ACTION_FUNC, "/proc/[pid]/stat, wchan",
     aod_hostctx_processes, true, ARGV_NONE},
    {"sockets", "sockets.txt", AOD_ACTION_FUNC, "/proc/net/{tcp,tcp6,udp,udp6,unix}",
     aod_hostctx_sockets, true, ARGV_NONE},
};

const char *const aod_hostctx_names[] = {"meminfo",   "pressure",  "loadavg",
					 "diskstats", "processes", "sockets"};
const size_t aod_hostctx_count = sizeof(aod_hostctx_names) / sizeof(aod_hostctx_names[0]);

static void add_arg(struct aod_action_spec *spec, const char *arg)
{
	if (spec->argc < AOD_MAX_ARGV)
		snprintf(spec->argv[spec->argc++], AOD_ARG_LEN, "%s", arg);
}

static void fill_argv(struct aod_action_spec *spec, enum argv_kind kind)
{
	char since[48];

	switch (kind) {
	case ARGV_JOURNAL:
	case ARGV_JOURNAL_KERNEL:
		snprintf(since, sizeof(since), "--since=-%us", spec->lookback_sec);
		add_arg(spec, "journalctl");
		if (kind == ARGV_JOURNAL_KERNEL)
			add_arg(spec, "-k");
		add_arg(spec, "--no-pager");
		add_arg(spec, "--quiet");
		add_arg(spec, "--output=short-iso-precise");
		add_arg(spec, since);
		break;
	case ARGV_SMBINFO: add_arg(spec, "smbinfo"); break;
	case ARGV_NONE: break;
	}
}

int aod_builtin_spec(const struct aod_config *cfg, const char *name, struct aod_action_spec *spec)
{
	const struct builtin *b = NULL;

	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]) && !b; i++)
		if (!strcmp(builtins[i].name, name))
			b = &builtins[i];
	if (!b)
		return -ENOENT;
	memset(spec, 0, sizeof(*spec));
	snprintf(spec->name, sizeof(spec->name), "%s", b->name);
	snprintf(spec->file, sizeof(spec->file), "%s", b->file);
	snprintf(spec->path, sizeof(spec->path), "%s", b->path);
	if (cfg && !strcmp(b->name, "health_report") &&
	    snprintf(spec->path, sizeof(spec->path), "%s/" AOD_HEALTH_LATEST_FILE,
		     cfg->health.history_dir) >= (int)sizeof(spec->path))
		spec->path[0] = '\0';
	spec->kind = b->kind;
	spec->fn = b->fn;
	spec->quick = b->quick;
	spec->timeout_sec = aod_config_builtin_timeout(cfg, b->name); /* its own default */
	spec->max_bytes = cfg ? cfg->watcher.action_max_bytes : 0;
	spec->lookback_sec = cfg ? cfg->watcher.lookback_sec : 0;
	if (!spec->timeout_sec)
		spec->timeout_sec = AOD_ACTION_DEFAULT_TIMEOUT_SEC;
	if (!spec->max_bytes)
		spec->max_bytes = AOD_ACTION_DEFAULT_MAX_BYTES;
	if (!spec->lookback_sec)
		spec->lookback_sec = AOD_ACTION_DEFAULT_LOOKBACK_SEC;
	fill_argv(spec, b->argv);
	return 0;
}
