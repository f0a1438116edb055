// SPDX-License-Identifier: MIT
/*
 * The logs part: this boot's entries (_BOOT_ID; or from --since on, any boot)
 * at priority <= health.log_priority, plus every kernel message whatever its
 * priority (the kernel logs a segfault at info), classified by pattern with
 * counts, the first level seen and three examples each. Without journal
 * files: the kernel ring buffer (/dev/kmsg, this boot by definition) and the
 * syslog files in /var/log, their lines kept from the boot's start on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "health/health_int.h"
#include "health/hjson.h"
#include "health/logpat.h"

#define EXAMPLES 3

struct log_entry {
	uint64_t wall_usec;
	int priority;           /* 0..7, -1 unknown */
	const char *unit;       /* may be NULL */
	size_t unit_len;
	long pid;               /* 0 unknown */
	const char *msg;
	size_t msg_len;
};

struct pat_tally {
	uint64_t count;
	int level;
	json_t *examples;
};

struct log_state {
	struct aod_health_ctx *c;
	struct aod_logpats pats;
	struct pat_tally *tally;
	uint64_t entries, from_usec;
	bool truncated;
};

static const char *level_name(int p)
{
	static const char *const names[] = { "EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE",
					     "INFO", "DEBUG" };

	return p >= 0 && p <= 7 ? names[p] : "UNKNOWN";
}

static json_t *example(const struct log_entry *e)
{
	json_t *when = aod_health_wall_iso(e->wall_usec), *v;
	char pid[24] = "", *line;

	if (e->pid > 0)
		snprintf(pid, sizeof(pid), "(%ld)", e->pid);
	if (asprintf(&line, "%s [%s] %.*s%s: %.*s", json_string_value(when) ? json_string_value(when) : "?",
		     level_name(e->priority), e->unit ? (int)e->unit_len : 6, e->unit ? e->unit : "system",
		     pid, (int)e->msg_len, e->msg) < 0)
		line = NULL;
	json_decref(when);
	v = hj_str(line);
	free(line);
	return v;
}

static void classify(struct log_state *st, const struct log_entry *e)
{
	char buf[4096];
	size_t n = e->msg_len < sizeof(buf) - 1 ? e->msg_len : sizeof(buf) - 1;
	struct pat_tally *t;
	int k;

	st->entries++;
	memcpy(buf, e->msg, n);
	buf[n] = '\0';
	k = aod_logpats_classify(&st->pats, buf);
	if (k < 0)
		return;
	t = &st->tally[k];
	if (!t->count++)
		t->level = e->priority;
	if (json_array_size(t->examples) < EXAMPLES)
		hj_push(t->examples, example(e));
}

static bool full(struct log_state *st)
{
	if (st->entries < st->c->cfg->log_max_entries)
		return false;
	st->truncated = true;
	return true;
}

/* ---- the journal ---- */

static long jnumber(sd_journal *j, const char *name, long dflt)
{
	const char *v;
	size_t len;
	char buf[24];

	if (!aod_journal_field(j, name, &v, &len) || !len || len >= sizeof(buf))
		return dflt;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return strtol(buf, NULL, 10);
}

static int journal_matches(struct log_state *st, sd_journal *j)
{
	char m[64];
	int r = 0;

	sd_journal_flush_matches(j);
	for (uint32_t p = 0; r >= 0 && p <= st->c->cfg->log_priority; p++) {
		int n = snprintf(m, sizeof(m), "PRIORITY=%u", p);

		r = sd_journal_add_match(j, m, (size_t)n);
	}
	if (r >= 0)
		r = sd_journal_add_disjunction(j);
	if (r >= 0)
		r = sd_journal_add_match(j, "_TRANSPORT=kernel", 0);
	if (r >= 0 && !st->c->since_usec) {
		int n = snprintf(m, sizeof(m), "_BOOT_ID=%s", st->c->boot_id);

		r = sd_journal_add_conjunction(j);
		if (r >= 0)
			r = sd_journal_add_match(j, m, (size_t)n);
	}
	if (r >= 0)
		r = st->c->since_usec ? sd_journal_seek_realtime_usec(j, st->c->since_usec) :
					sd_journal_seek_head(j);
	return r;
}

static int read_journal(struct log_state *st, sd_journal *j)
{
	int r = journal_matches(st, j);

	while (r >= 0 && !full(st) && (r = sd_journal_next(j)) > 0) {
		struct log_entry e = { .priority = (int)jnumber(j, "PRIORITY", -1) };

		if (!aod_journal_field(j, "MESSAGE", &e.msg, &e.msg_len))
			continue;
		aod_journal_field(j, "_SYSTEMD_UNIT", &e.unit, &e.unit_len);
		e.pid = jnumber(j, "_PID", 0);
		sd_journal_get_realtime_usec(j, &e.wall_usec);
		classify(st, &e);
	}
	sd_journal_flush_matches(j);
	return r < 0 ? r : 0;
}

/* ---- the kernel ring buffer ---- */

/* "pri,seq,usec,flags;message" */
static void kmsg_record(struct log_state *st, char *rec, size_t n, uint64_t boot_wall_usec)
{
	unsigned long long pri, seq, usec;
	char *semi = memchr(rec, ';', n), *nl;
	struct log_entry e = { 0 };

	if (!semi || sscanf(rec, "%llu,%llu,%llu", &pri, &seq, &usec) != 3)
		return;
	e.priority = (int)(pri & 7);
	e.wall_usec = boot_wall_usec + usec;
	e.msg = semi + 1;
	nl = memchr(e.msg, '\n', n - (size_t)(e.msg - rec));
	e.msg_len = nl ? (size_t)(nl - e.msg) : n - (size_t)(e.msg - rec);
	if (e.wall_usec >= st->from_usec)
		classify(st, &e);
}

static int read_kmsg(struct log_state *st)
{
	uint64_t boot_wall = st->c->now_wall_usec - st->c->now_mono_usec;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char rec[8192];

	if (fd < 0)
		return -errno;
	while (!full(st)) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);

		if (n < 0 && (errno == EPIPE || errno == EINTR))
			continue;      /* records overwritten while reading: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		kmsg_record(st, rec, (size_t)n, boot_wall);
	}
	close(fd);
	return 0;
}

/* ---- /var/log ---- */

/* "2025-12-01T19:12:57.123456+01:00 " (RFC 3339) or "Dec  1 19:12:57 " (local, no year). */
static bool syslog_time(const char *line, uint64_t now_usec, uint64_t *usec, const char **rest)
{
	struct tm tm = { 0 };
	time_t now = (time_t)(now_usec / 1000000), t;
	const char *p = strptime(line, "%Y-%m-%dT%H:%M:%S", &tm);
	int sign, oh, om;

	if (p) {
		while (*p == '.' || (*p >= '0' && *p <= '9'))
			p++;
		t = timegm(&tm);
		if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2) {
			sign = *p == '+' ? 1 : -1;
			t -= sign * (oh * 3600 + om * 60);
			p += 6;
		} else if (*p == 'Z') {
			p++;
		}
	} else if ((p = strptime(line, "%b %e %H:%M:%S", &tm))) {
		struct tm lt;

		localtime_r(&now, &lt);
		tm.tm_year = lt.tm_year;
		tm.tm_isdst = -1;
		t = mktime(&tm);
		if (t > now + 86400) {
			tm.tm_year--;
			t = mktime(&tm);
		}
	} else {
		return false;
	}
	*usec = (uint64_t)t * 1000000ULL;
	*rest = p + strspn(p, " ");
	return t > 0;
}

static void read_syslog_file(struct log_state *st, const char *path, json_t *files)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return;
	hj_push(files, json_string(path));
	while (!full(st) && (n = getline(&line, &cap, f)) > 0) {
		struct log_entry e = { .priority = -1 };
		const char *rest;

		if (!syslog_time(line, st->c->now_wall_usec, &e.wall_usec, &rest) ||
		    e.wall_usec < st->from_usec)
			continue;
		e.msg = rest;
		e.msg_len = strcspn(rest, "\n");
		classify(st, &e);
	}
	free(line);
	fclose(f);
}

/* ---- the part ---- */

static json_t *patterns_json(struct log_state *st)
{
	json_t *arr = json_array();
	size_t *order = malloc((st->pats.n + 1) * sizeof(*order)), k = 0;

	for (size_t i = 0; order && i < st->pats.n; i++)
		if (st->tally[i].count)
			order[k++] = i;
	for (size_t a = 1; order && a < k; a++)    /* by count, descending, stable */
		for (size_t b = a; b > 0 && st->tally[order[b]].count > st->tally[order[b - 1]].count; b--) {
			size_t t = order[b];

			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	for (size_t i = 0; order && i < k; i++) {
		const struct aod_logpat *p = &st->pats.p[order[i]];
		struct pat_tally *t = &st->tally[order[i]];
		json_t *o = json_object();

		hj_set(o, "name", json_string(p->name));
		hj_set(o, "class", json_string(aod_log_class_name(p->cls)));
		hj_set(o, "count", hj_u64(t->count));
		hj_set(o, "level", json_string(level_name(t->level)));
		hj_set(o, "examples", json_incref(t->examples));
		hj_push(arr, o);
	}
	free(order);
	return arr;
}

static const char *read_fallback(struct log_state *st, json_t *files)
{
	static const char *const syslogs[] = { "/var/log/syslog", "/var/log/messages", "/var/log/daemon.log" };
	bool kmsg = read_kmsg(st) == 0;

	for (size_t i = 0; i < sizeof(syslogs) / sizeof(syslogs[0]); i++)
		read_syslog_file(st, syslogs[i], files);
	if (!kmsg)
		read_syslog_file(st, "/var/log/kern.log", files);
	else
		json_array_insert_new(files, 0, json_string("/dev/kmsg"));
	return hj_len(files) ? (kmsg ? "kmsg+files" : "files") : "none";
}

static void logs_json(struct log_state *st, json_t *s, const char *source, json_t *files)
{
	hj_set(s, "source", json_string(source));
	hj_set(s, "boot_only", json_boolean(!st->c->since_usec));
	hj_set(s, "since", st->c->since_usec ? aod_health_wall_iso(st->c->since_usec) : NULL);
	hj_set(s, "max_priority", json_integer(st->c->cfg->log_priority));
	hj_set(s, "kernel_all_priorities", json_true());
	hj_set(s, "entries", hj_u64(st->entries));
	hj_set(s, "truncated", json_boolean(st->truncated));
	hj_set(s, "files", files);
	hj_set(s, "patterns", patterns_json(st));
}

int aod_health_logs(struct aod_health_ctx *c, json_t *s)
{
	struct log_state st = { .c = c };
	json_t *files = json_array();
	const char *source = "journal";
	int err = aod_logpats_build(&st.pats, c->cfg);

	if (!err && !(st.tally = calloc(st.pats.n + 1, sizeof(*st.tally))))
		err = -ENOMEM;
	for (size_t i = 0; !err && i < st.pats.n; i++)
		st.tally[i].examples = json_array();
	st.from_usec = c->since_usec ? c->since_usec : c->now_wall_usec - c->now_mono_usec;
	if (!err && c->journal)
		err = read_journal(&st, c->journal);
	else if (!err)
		source = read_fallback(&st, files);
	if (err) {
		aod_health_error(c, "logs", err, "cannot read the logs");
		hj_set(s, "error", json_string(strerror(-err)));
	}
	logs_json(&st, s, source, files);
	for (size_t i = 0; st.tally && i < st.pats.n; i++)
		json_decref(st.tally[i].examples);
	free(st.tally);
	aod_logpats_free(&st.pats);
	return err;
}
