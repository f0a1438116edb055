// SPDX-License-Identifier: MIT
/*
 * Child process groups of services: the process table from /proc, then the
 * descendants of each service's main PID grouped by command.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "health/procgroups.h"

static void lower_basename(const char *s, size_t n, char *out, size_t len)
{
	const char *slash = memrchr(s, '/', n);
	size_t o = 0;

	if (slash) {
		n -= (size_t)(slash + 1 - s);
		s = slash + 1;
	}
	for (size_t i = 0; i < n && o + 1 < len; i++)
		out[o++] = (char)tolower((unsigned char)s[i]);
	out[o] = '\0';
}

/* /proc/PID/stat: "pid (comm) state ppid ... utime stime ... rss" */
static int parse_stat(const char *text, struct aod_proc *p, long tick, long page)
{
	const char *open = strchr(text, '('), *close = strrchr(text, ')');
	unsigned long utime, stime;
	long rss;

	if (!open || !close || close < open)
		return -EINVAL;
	if (sscanf(close + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
			      "%*d %*u %*u %ld", &p->ppid, &utime, &stime, &rss) != 4)
		return -EINVAL;
	p->cpu_seconds = (double)(utime + stime) / (double)tick;
	p->rss_bytes = rss > 0 ? (uint64_t)rss * (uint64_t)page : 0;
	if (!p->command[0])
		lower_basename(open + 1, (size_t)(close - open - 1), p->command, sizeof(p->command));
	return 0;
}

static int read_proc(int pid, struct aod_proc *p, long tick, long page)
{
	char path[64], *text;
	size_t len;
	int err;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	if (aod_read_text(path, 4096, &text, &len) == 0) {
		if (len && text[0])
			lower_basename(text, strnlen(text, len), p->command, sizeof(p->command));
		free(text);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	err = aod_read_text(path, 4096, &text, NULL);
	if (err)
		return err;
	err = parse_stat(text, p, tick, page);
	free(text);
	return err;
}

int aod_procs_read(struct aod_proc **out, size_t *n)
{
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct aod_proc *list = NULL, *grown;
	size_t cap = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	*out = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int pid = atoi(de->d_name);

		if (pid <= 0)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 512;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				closedir(d);
				free(list);
				*n = 0;
				return -ENOMEM;
			}
			list = grown;
		}
		if (read_proc(pid, &list[*n], tick > 0 ? tick : 100, page > 0 ? page : 4096) == 0)
			(*n)++;
	}
	closedir(d);
	*out = list;
	return 0;
}

static struct aod_proc_group *group_of(struct aod_proc_group *g, size_t *ng, const char *unit,
				       const char *command)
{
	for (size_t i = 0; i < *ng; i++)
		if (g[i].unit == unit && !strcmp(g[i].command, command))
			return &g[i];
	memset(&g[*ng], 0, sizeof(g[*ng]));
	g[*ng].unit = unit;
	snprintf(g[*ng].command, sizeof(g[*ng].command), "%s", command);
	return &g[(*ng)++];
}

static void add_to_group(struct aod_proc_group *grp, const struct aod_proc *p)
{
	if (grp->count < AOD_PG_PIDS)
		grp->pids[grp->count] = p->pid;
	grp->count++;
	grp->cpu_seconds += p->cpu_seconds;
	grp->mem_bytes += p->rss_bytes;
}

static int biggest_first(const void *a, const void *b)
{
	const struct aod_proc_group *x = a, *y = b;

	if (x->cpu_seconds != y->cpu_seconds)
		return x->cpu_seconds > y->cpu_seconds ? -1 : 1;
	if (x->mem_bytes != y->mem_bytes)
		return x->mem_bytes > y->mem_bytes ? -1 : 1;
	return strcmp(x->command, y->command);
}

/* Breadth-first over children: queue holds process indexes. */
static void descendants(const struct aod_proc *procs, size_t n, int root, unsigned char *seen,
			size_t *queue, size_t *nq)
{
	size_t head = *nq;

	for (size_t i = 0; i < n; i++)
		if (procs[i].pid == root)
			seen[i] = 1;   /* the main process itself is the unit, not a child */
	for (size_t i = 0; i < n; i++)
		if (procs[i].ppid == root && !seen[i])
			seen[i] = 1, queue[(*nq)++] = i;
	while (head < *nq) {
		int pid = procs[queue[head++]].pid;

		for (size_t i = 0; i < n; i++)
			if (procs[i].ppid == pid && !seen[i])
				seen[i] = 1, queue[(*nq)++] = i;
	}
}

size_t aod_proc_groups(const struct aod_proc *procs, size_t n, const struct aod_proc_root *roots,
		       size_t nroots, struct aod_proc_group **out)
{
	unsigned char *seen = calloc(n ? n : 1, 1);
	size_t *queue = malloc((n ? n : 1) * sizeof(*queue)), ng = 0, kept = 0;
	struct aod_proc_group *g = malloc((n ? n : 1) * sizeof(*g));

	*out = NULL;
	if (!seen || !queue || !g) {
		free(seen);
		free(queue);
		free(g);
		return 0;
	}
	for (size_t r = 0; r < nroots; r++) {
		size_t nq = 0;

		if (roots[r].pid <= 0)
			continue;
		descendants(procs, n, roots[r].pid, seen, queue, &nq);
		for (size_t q = 0; q < nq; q++)
			add_to_group(group_of(g, &ng, roots[r].unit, procs[queue[q]].command), &procs[queue[q]]);
	}
	for (size_t i = 0; i < ng; i++)
		if (g[i].mem_bytes >= AOD_PG_MIN_MEM || g[i].cpu_seconds >= AOD_PG_MIN_CPU_SEC)
			g[kept++] = g[i];
	qsort(g, kept, sizeof(*g), biggest_first);
	free(seen);
	free(queue);
	*out = g;
	return kept < AOD_PG_MAX_GROUPS ? kept : AOD_PG_MAX_GROUPS;
}
