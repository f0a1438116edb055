// SPDX-License-Identifier: MIT
/*
 * The report of a trace: the process tree with durations and exit codes,
 * the slowest commands, the CPU and peak-memory top, the failures, the
 * loss counters. Every name and command line is escaped (a process names
 * itself, with terminal escapes if it likes).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "trace/trace.h"

#define TOP_N 10
#define TREE_MAX_LINES 500
#define CMD_SHOWN 100

static void put_escaped(FILE *f, const char *s, size_t max)
{
	char buf[4 * CMD_SHOWN + 8];
	size_t n = strnlen(s, max);

	aod_text_escape(s, n, buf, sizeof(buf), false);
	fputs(buf, f);
	if (strlen(s) > max)
		fputs("...", f);
}

static void put_cmd(FILE *f, const struct trace_proc *p)
{
	char line[CMD_SHOWN * 2];

	trace_proc_cmdline(p, line, sizeof(line));
	put_escaped(f, line, CMD_SHOWN);
}

static void put_dur(FILE *f, uint64_t ns)
{
	if (ns >= 10000000000ULL)
		fprintf(f, "%.1f s", ns / 1e9);
	else if (ns >= 1000000000ULL)
		fprintf(f, "%.2f s", ns / 1e9);
	else if (ns >= 1000000ULL)
		fprintf(f, "%.1f ms", ns / 1e6);
	else
		fprintf(f, "%.0f us", ns / 1e3);
}

static void put_outcome(FILE *f, const struct trace_proc *p)
{
	if (p->exit_lost)
		fputs("exit not seen", f);
	else if (!p->exited)
		fputs("still running", f);
	else if (p->signal)
		fprintf(f, "killed by signal %d%s%s", p->signal, p->core_dumped ? " (core)" : "",
			p->oom_killed ? " (OOM)" : "");
	else
		fprintf(f, "exit %d%s", p->exit_code, p->oom_killed ? " (OOM)" : "");
}

static bool failed(const struct trace_proc *p)
{
	return p->exited && (p->exit_code || p->signal || p->oom_killed);
}

/* ---- tree ---- */

struct tree {
	const struct trace_table *t;
	uint32_t *first, *next; /* children lists: index + 1 */
	unsigned lines;
};

static void tree_line(FILE *f, struct tree *tr, uint32_t i, unsigned depth)
{
	const struct trace_proc *p = &tr->t->v[i];

	if (tr->lines++ >= TREE_MAX_LINES) {
		if (tr->lines == TREE_MAX_LINES + 1)
			fprintf(f, "  ... (more processes: see --json or -o)\n");
		return;
	}
	fprintf(f, "  %*s%u ", (int)(depth > 20 ? 40 : depth * 2), "", p->tgid);
	put_cmd(f, p);
	fputs("  ", f);
	put_dur(f, p->duration_ns);
	fputs("  ", f);
	put_outcome(f, p);
	fputc('\n', f);
	for (uint32_t c = tr->first[i]; c; c = tr->next[c - 1])
		tree_line(f, tr, c - 1, depth + 1);
}

static void print_tree(FILE *f, const struct trace_table *t, bool in_tree)
{
	struct tree tr = { .t = t };

	tr.first = calloc(t->n + 1, sizeof(*tr.first));
	tr.next = calloc(t->n + 1, sizeof(*tr.next));
	if (!tr.first || !tr.next)
		goto out;
	/* children in start order: the table is in arrival order, close to it;
	 * prepend in reverse so each list reads forward */
	for (uint32_t i = t->n; i-- > 0;) {
		int par = t->v[i].parent;

		if (t->v[i].filtered || t->v[i].in_tree != in_tree || par < 0 ||
		    t->v[par].in_tree != in_tree)
			continue;
		tr.next[i] = tr.first[par];
		tr.first[par] = i + 1;
	}
	for (uint32_t i = 0; i < t->n; i++) {
		int par = t->v[i].parent;

		if (!t->v[i].filtered && t->v[i].in_tree == in_tree &&
		    (par < 0 || t->v[par].in_tree != in_tree || t->v[par].filtered))
			tree_line(f, &tr, i, 0);
	}
out:
	free(tr.first);
	free(tr.next);
}

/* ---- tops ---- */

static uint64_t cpu_of(const struct trace_proc *p)
{
	return p->cpu_user_ns + p->cpu_sys_ns;
}

static int by_cpu(const void *a, const void *b, void *ctx)
{
	const struct trace_table *sort_table = ctx;

	uint64_t x = cpu_of(&sort_table->v[*(const uint32_t *)a]);
	uint64_t y = cpu_of(&sort_table->v[*(const uint32_t *)b]);

	return x < y ? 1 : x > y ? -1 : 0;
}

static int by_rss(const void *a, const void *b, void *ctx)
{
	const struct trace_table *sort_table = ctx;

	uint64_t x = sort_table->v[*(const uint32_t *)a].maxrss_bytes;
	uint64_t y = sort_table->v[*(const uint32_t *)b].maxrss_bytes;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int by_dur(const void *a, const void *b, void *ctx)
{
	const struct trace_table *sort_table = ctx;

	uint64_t x = sort_table->v[*(const uint32_t *)a].duration_ns;
	uint64_t y = sort_table->v[*(const uint32_t *)b].duration_ns;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Indexes of the exited in-tree processes, sorted by cmp. */
static uint32_t *sorted(const struct trace_table *t,
			int (*cmp)(const void *, const void *, void *), uint32_t *n)
{
	uint32_t *ix = malloc((t->n + 1) * sizeof(*ix));

	*n = 0;
	if (!ix)
		return NULL;
	for (uint32_t i = 0; i < t->n; i++)
		if (t->v[i].in_tree && t->v[i].exited && !t->v[i].filtered)
			ix[(*n)++] = i;
	qsort_r(ix, *n, sizeof(*ix), cmp, (void *)t);
	return ix;
}

static void print_top(FILE *f, const struct trace_table *t, const char *title,
		      int (*cmp)(const void *, const void *, void *), int what)
{
	uint32_t n, *ix = sorted(t, cmp, &n);

	fprintf(f, "\n%s:\n", title);
	for (uint32_t k = 0; ix && k < n && k < TOP_N; k++) {
		const struct trace_proc *p = &t->v[ix[k]];

		if (what == 0) {
			fputs("  ", f);
			put_dur(f, p->duration_ns);
		} else if (what == 1) {
			fprintf(f, "  %.3f s (user %.3f, sys %.3f)", cpu_of(p) / 1e9,
				p->cpu_user_ns / 1e9, p->cpu_sys_ns / 1e9);
		} else {
			fprintf(f, "  %.1f MiB", p->maxrss_bytes / 1048576.0);
		}
		fprintf(f, "  %u ", p->tgid);
		put_cmd(f, p);
		fputc('\n', f);
	}
	free(ix);
}

static void print_failures(FILE *f, const struct trace_table *t)
{
	unsigned n = 0;

	fprintf(f, "\nFailures:\n");
	for (uint32_t i = 0; i < t->n; i++) {
		const struct trace_proc *p = &t->v[i];

		if (p->filtered || !p->in_tree || !(failed(p) || p->exit_lost))
			continue;
		if (n++ < 50) {
			fprintf(f, "  %u ", p->tgid);
			put_cmd(f, p);
			fputs(": ", f);
			put_outcome(f, p);
			fputc('\n', f);
		}
	}
	for (uint32_t i = 0; i < t->nfailed; i++) {
		const struct trace_exec_failed *x = &t->failed[i];

		if (!x->in_tree)
			continue;
		if (n++ < 50) {
			fprintf(f, "  %u ", x->tgid);
			put_escaped(f, x->comm, AOD_PROC_COMM_LEN);
			fputs(": exec ", f);
			put_escaped(f, x->filename, CMD_SHOWN);
			fprintf(f, " failed: %s\n", strerror(-x->error));
		}
	}
	if (!n)
		fprintf(f, "  none\n");
	else if (n > 50)
		fprintf(f, "  ... %u in all\n", n);
}

void trace_report_text(FILE *f, const struct trace_table *t, const struct trace_run *r)
{
	uint32_t in = 0, out = 0;

	for (uint32_t i = 0; i < t->n; i++)
		if (!t->v[i].filtered)
			t->v[i].in_tree ? in++ : out++;
	fprintf(f, "\naod trace: ");
	put_escaped(f, r->command, CMD_SHOWN);
	fprintf(f, "\n  exit status %d after ", r->exit_status);
	put_dur(f, r->ended_wall_ns - r->started_wall_ns);
	fprintf(f, "; %u processes in the tree", in);
	if (r->all)
		fprintf(f, ", %u outside it", out);
	fprintf(f, " (probe: %s)\n\nProcess tree:\n", r->mode);
	print_tree(f, t, true);
	print_top(f, t, "Slowest", by_dur, 0);
	print_top(f, t, "Top CPU", by_cpu, 1);
	print_top(f, t, "Top peak memory (RSS)", by_rss, 2);
	print_failures(f, t);
	if (r->all && out) {
		fprintf(f, "\nOutside the tree:\n");
		print_tree(f, t, false);
	}
	fprintf(f, "\nLoss: ring drops %llu, state map full %llu, exits not seen %llu, "
		"exits without a start seen %llu; argv truncated %llu\n",
		(unsigned long long)r->counters[AOD_PROC_CNT_RB_DROPS],
		(unsigned long long)r->counters[AOD_PROC_CNT_STATE_FULL],
		(unsigned long long)t->exits_lost, (unsigned long long)t->exit_unseen,
		(unsigned long long)r->counters[AOD_PROC_CNT_ARGV_TRUNC]);
}

/* ---- JSON ---- */

/* Valid UTF-8 for jansson: control characters and bytes that are not
 * UTF-8 become \xHH text (newlines and tabs stay, JSON escapes them). */
static json_t *jstr(const char *s, size_t n)
{
	size_t need = aod_text_escape(s, n, NULL, 0, true);
	char *buf = malloc(need + 1);
	json_t *j;

	if (!buf)
		return json_null();
	aod_text_escape(s, n, buf, need + 1, true);
	j = json_string(buf);
	free(buf);
	return j ? j : json_null();
}

static json_t *proc_json(const struct trace_table *t, const struct trace_proc *p)
{
	json_t *o = json_object(), *args = json_array();
	size_t n = p->argv_len, i = 0;

	while (n && p->argv[n - 1] == '\0')
		n--;
	while (p->argv && i < n) {
		size_t l = strnlen(p->argv + i, n - i);

		json_array_append_new(args, jstr(p->argv + i, l));
		i += l + 1;
	}
	json_object_set_new(o, "tgid", json_integer(p->tgid));
	json_object_set_new(o, "start_ns", json_integer((json_int_t)p->start_ns));
	json_object_set_new(o, "ppid", json_integer(p->ppid));
	json_object_set_new(o, "parent_start_ns", json_integer((json_int_t)p->pstart_ns));
	json_object_set_new(o, "parent_in_run", json_boolean(p->parent >= 0));
	json_object_set_new(o, "uid", json_integer(p->uid));
	json_object_set_new(o, "cgroup_id", json_integer((json_int_t)p->cgroup_id));
	{
		const char *unit = aod_cgroups_unit(&t->cgroups, p->cgroup_id);

		json_object_set_new(o, "unit", unit ? jstr(unit, strlen(unit)) : json_null());
	}
	json_object_set_new(o, "comm", jstr(p->comm, strnlen(p->comm, AOD_PROC_COMM_LEN)));
	json_object_set_new(o, "filename", p->filename ? jstr(p->filename, strlen(p->filename))
						       : json_null());
	json_object_set_new(o, "argv", args);
	json_object_set_new(o, "argv_truncated", json_boolean(p->argv_truncated));
	json_object_set_new(o, "execs", json_integer(p->execs));
	json_object_set_new(o, "in_tree", json_boolean(p->in_tree));
	json_object_set_new(o, "root", json_boolean(p->root));
	json_object_set_new(o, "seeded", json_boolean(p->seeded));
	json_object_set_new(o, "start_wall_ns", json_integer((json_int_t)p->start_wall_ns));
	json_object_set_new(o, "exited", json_boolean(p->exited));
	json_object_set_new(o, "exit_lost", json_boolean(p->exit_lost));
	if (p->exited) {
		json_object_set_new(o, "duration_ns", json_integer((json_int_t)p->duration_ns));
		json_object_set_new(o, "exit_code", json_integer(p->exit_code));
		json_object_set_new(o, "signal", json_integer(p->signal));
		json_object_set_new(o, "core_dumped", json_boolean(p->core_dumped));
		json_object_set_new(o, "oom_killed", json_boolean(p->oom_killed));
		json_object_set_new(o, "cpu_user_ns", json_integer((json_int_t)p->cpu_user_ns));
		json_object_set_new(o, "cpu_sys_ns", json_integer((json_int_t)p->cpu_sys_ns));
		json_object_set_new(o, "maxrss_bytes", json_integer((json_int_t)p->maxrss_bytes));
		json_object_set_new(o, "minflt", json_integer((json_int_t)p->minflt));
		json_object_set_new(o, "majflt", json_integer((json_int_t)p->majflt));
		json_object_set_new(o, "nvcsw", json_integer((json_int_t)p->nvcsw));
		json_object_set_new(o, "nivcsw", json_integer((json_int_t)p->nivcsw));
	}
	return o;
}

int trace_report_json(FILE *f, const struct trace_table *t, const struct trace_run *r)
{
	json_t *root = json_object(), *procs = json_array(), *cnt = json_object();
	int err;

	for (uint32_t i = 0; i < t->n; i++)
		if (!t->v[i].filtered)
			json_array_append_new(procs, proc_json(t, &t->v[i]));
	for (int c = 0; c < AOD_PROC_CNT_MAX; c++)
		json_object_set_new(cnt, aod_proc_counter_name((enum aod_proc_counter)c),
				    json_integer((json_int_t)r->counters[c]));
	json_object_set_new(cnt, "exits_lost", json_integer((json_int_t)t->exits_lost));
	json_object_set_new(cnt, "exits_without_start", json_integer((json_int_t)t->exit_unseen));
	json_object_set_new(root, "command", jstr(r->command, strlen(r->command)));
	json_object_set_new(root, "exit_status", json_integer(r->exit_status));
	json_object_set_new(root, "started_wall_ns", json_integer((json_int_t)r->started_wall_ns));
	json_object_set_new(root, "ended_wall_ns", json_integer((json_int_t)r->ended_wall_ns));
	json_object_set_new(root, "probe_mode", json_string(r->mode));
	json_object_set_new(root, "all", json_boolean(r->all));
	json_object_set_new(root, "counters", cnt);
	json_object_set_new(root, "processes", procs);
	json_t *fails = json_array();

	for (uint32_t i = 0; i < t->nfailed; i++) {
		const struct trace_exec_failed *x = &t->failed[i];
		json_t *o = json_object();

		json_object_set_new(o, "tgid", json_integer(x->tgid));
		json_object_set_new(o, "pid", json_integer(x->pid));
		json_object_set_new(o, "start_ns", json_integer((json_int_t)x->start_ns));
		json_object_set_new(o, "comm", jstr(x->comm, strnlen(x->comm, AOD_PROC_COMM_LEN)));
		json_object_set_new(o, "filename", jstr(x->filename, strlen(x->filename)));
		json_object_set_new(o, "error", json_integer(x->error));
		json_object_set_new(o, "in_tree", json_boolean(x->in_tree));
		json_array_append_new(fails, o);
	}
	json_object_set_new(root, "failed_execs", fails);
	err = json_dumpf(root, f, JSON_COMPACT | JSON_ENSURE_ASCII) ? -EIO : 0;
	fputc('\n', f);
	json_decref(root);
	return err;
}
