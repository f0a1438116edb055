// SPDX-License-Identifier: MIT
/* Recent processes for bundles (proc_cache.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "probe/proc_cache.h"
#include "probe/proc_chain.h"

#define CMD_LEN 160

struct centry {
	uint32_t tgid, ppid;
	uint64_t start_ns, pstart_ns;   /* identities (boot ns) */
	uint64_t start_wall_ns, exit_wall_ns;
	int exit_code, signal;
	bool used, exited;
	uint64_t seq;                   /* insertion order, for eviction */
	char cmd[CMD_LEN];
};

struct aod_proc_cache {
	pthread_mutex_t lock;
	uint32_t cap;
	uint64_t seq;
	struct centry *v;
};

struct aod_proc_cache *aod_proc_cache_new(uint32_t cap)
{
	struct aod_proc_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->v = calloc(cap ? cap : 1, sizeof(*c->v));
	if (!c->v) {
		free(c);
		return NULL;
	}
	c->cap = cap ? cap : 1;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void aod_proc_cache_free(struct aod_proc_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->v);
	free(c);
}

/* A process may sit in one of WAYS slots from its tgid's hash: O(1) per
 * record at exec-storm rates, at the price of an early eviction when
 * WAYS processes share the slots. */
#define WAYS 2

static uint32_t slot(const struct aod_proc_cache *c, uint32_t tgid, uint32_t way)
{
	return (uint32_t)(((uint64_t)tgid * 2654435761u + way) % c->cap);
}

/* Under the lock. The entry of (start_ns, tgid), or NULL. */
static struct centry *find(struct aod_proc_cache *c, uint32_t tgid, uint64_t start_ns)
{
	for (uint32_t w = 0; w < WAYS; w++) {
		struct centry *e = &c->v[slot(c, tgid, w)];

		if (e->used && e->tgid == tgid && e->start_ns == start_ns)
			return e;
	}
	return NULL;
}

/* Under the lock: a free slot of tgid's, else the longest-exited, else the oldest. */
static struct centry *victim(struct aod_proc_cache *c, uint32_t tgid)
{
	struct centry *best = NULL;

	for (uint32_t w = 0; w < WAYS; w++) {
		struct centry *e = &c->v[slot(c, tgid, w)];

		if (!e->used)
			return e;
		if (!best || (e->exited && !best->exited) ||
		    (e->exited == best->exited && e->seq < best->seq))
			best = e;
	}
	return best;
}

static void set_cmd(struct centry *e, const struct aod_proc_event *ev)
{
	size_t n = ev->argv_len < CMD_LEN - 1 ? ev->argv_len : CMD_LEN - 1;

	if (!ev->argv || !n) {
		snprintf(e->cmd, sizeof(e->cmd), "[%.16s]", ev->h->comm);
		return;
	}
	memcpy(e->cmd, ev->argv, n);
	while (n && !e->cmd[n - 1])
		n--;
	for (size_t i = 0; i < n; i++)
		if (!e->cmd[i])
			e->cmd[i] = ' ';
	e->cmd[n] = '\0';
}

void aod_proc_cache_add(struct aod_proc_cache *c, const struct aod_proc_event *ev)
{
	const struct aod_proc_hdr *h = ev->h;
	struct centry *e;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	e = find(c, h->tgid, h->start_ns);
	if (!e) {
		e = victim(c, h->tgid);
		memset(e, 0, sizeof(*e));
		e->used = true;
		e->seq = ++c->seq;
		e->tgid = h->tgid;
		e->start_ns = h->start_ns;
		e->ppid = h->ppid;
		e->pstart_ns = h->pstart_ns;
		e->start_wall_ns = ev->start_wall_ns;
		set_cmd(e, ev);
	}
	if (h->kind == AOD_PROC_EXEC || (h->kind == AOD_PROC_FORK && ev->argv))
		set_cmd(e, ev);
	if (h->kind == AOD_PROC_EXIT) {
		e->exited = true;
		e->exit_wall_ns = ev->wall_ns;
		e->exit_code = ev->exit_code;
		e->signal = ev->signal;
	}
	pthread_mutex_unlock(&c->lock);
}

/* Under the lock: the process tgid was at wall_ns (started before, not
 * exited before), the latest such. */
static struct centry *at(struct aod_proc_cache *c, uint32_t tgid, uint64_t wall_ns)
{
	struct centry *best = NULL;

	for (uint32_t w = 0; w < WAYS; w++) {
		struct centry *e = &c->v[slot(c, tgid, w)];

		if (!e->used || e->tgid != tgid || (wall_ns && e->start_wall_ns > wall_ns))
			continue;
		if (!best || e->start_ns > best->start_ns)
			best = e;
	}
	return best;
}

static void put(FILE *f, const char *lead, const struct centry *e)
{
	char esc[CMD_LEN * 4 + 1];

	aod_text_escape(e->cmd, strlen(e->cmd), esc, sizeof(esc), false);
	fprintf(f, "%s%u  %s", lead, e->tgid, esc);
	if (e->exited && e->signal)
		fprintf(f, "  (killed by signal %d)", e->signal);
	else if (e->exited)
		fprintf(f, "  (exit %d)", e->exit_code);
	fputc('\n', f);
}

bool aod_proc_cache_chain_fput(struct aod_proc_cache *c, FILE *f, uint32_t tgid,
			       uint64_t wall_ns)
{
	struct centry *e;
	bool found;

	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	e = at(c, tgid, wall_ns);
	found = e != NULL;
	if (e) {
		put(f, "  ", e);
		for (int d = 0; d < AOD_PROC_CHAIN_DEPTH && e->ppid; d++) {
			e = find(c, e->ppid, e->pstart_ns);
			if (!e)
				break;
			put(f, "    <- ", e);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}
