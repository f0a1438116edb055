// SPDX-License-Identifier: MIT
/*
 * Directed graphs for the dependency analysis: compressed rows, Tarjan's
 * SCCs on an induced subgraph, and Johnson's elementary cycles (the
 * iterative formulation networkx uses: per SCC, from its smallest vertex,
 * with blocked sets and B lists; then the SCCs of what remains without
 * that vertex). Self-loops are reported first, as cycles of length one.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health/graph.h"

#define UNSET SIZE_MAX

static int cmp_edge(const void *a, const void *b)
{
	const struct aod_edge *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

int aod_graph_build(struct aod_graph *g, size_t n, const struct aod_edge *edges, size_t nedges)
{
	struct aod_edge *e = malloc((nedges ? nedges : 1) * sizeof(*e));
	size_t m = 0;

	memset(g, 0, sizeof(*g));
	g->off = calloc(n + 1, sizeof(*g->off));
	g->adj = malloc((nedges ? nedges : 1) * sizeof(*g->adj));
	if (!e || !g->off || !g->adj) {
		free(e);
		aod_graph_free(g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nedges; i++)
		if (edges[i].from < n && edges[i].to < n)
			e[m++] = edges[i];
	qsort(e, m, sizeof(*e), cmp_edge);
	g->n = n;
	for (size_t i = 0; i < m; i++) {
		if (i && !cmp_edge(&e[i], &e[i - 1]))
			continue;
		g->adj[g->nedges++] = e[i].to;
		g->off[e[i].from + 1]++;
	}
	for (size_t v = 0; v < n; v++)
		g->off[v + 1] += g->off[v];
	free(e);
	return 0;
}

void aod_graph_free(struct aod_graph *g)
{
	free(g->off);
	free(g->adj);
	memset(g, 0, sizeof(*g));
}

struct tarjan {
	const struct aod_graph *g;
	const unsigned char *mask;   /* NULL = every vertex */
	size_t *index, *low, *stack, *frame_v, *frame_pos, *comp;
	unsigned char *onstack;
	size_t counter, sp, fp, ncomp;
};

static bool in_mask(const struct tarjan *t, size_t v)
{
	return !t->mask || t->mask[v];
}

static void tarjan_visit(struct tarjan *t, size_t v)
{
	t->index[v] = t->low[v] = t->counter++;
	t->stack[t->sp++] = v;
	t->onstack[v] = 1;
	t->frame_v[t->fp] = v;
	t->frame_pos[t->fp++] = t->g->off[v];
}

static void tarjan_close(struct tarjan *t, size_t v)
{
	size_t w;

	if (t->low[v] != t->index[v])
		return;
	do {
		w = t->stack[--t->sp];
		t->onstack[w] = 0;
		t->comp[w] = t->ncomp;
	} while (w != v);
	t->ncomp++;
}

static void tarjan_from(struct tarjan *t, size_t root)
{
	tarjan_visit(t, root);
	while (t->fp) {
		size_t v = t->frame_v[t->fp - 1], *pos = &t->frame_pos[t->fp - 1];

		if (*pos < t->g->off[v + 1]) {
			size_t w = t->g->adj[(*pos)++];

			if (!in_mask(t, w))
				continue;
			if (t->index[w] == UNSET)
				tarjan_visit(t, w);
			else if (t->onstack[w] && t->index[w] < t->low[v])
				t->low[v] = t->index[w];
			continue;
		}
		t->fp--;
		tarjan_close(t, v);
		if (t->fp) {
			size_t u = t->frame_v[t->fp - 1];

			if (t->low[v] < t->low[u])
				t->low[u] = t->low[v];
		}
	}
}

/* SCCs of the subgraph induced by mask; comp[v] is UNSET outside it. */
static long scc_masked(const struct aod_graph *g, const unsigned char *mask, size_t *comp)
{
	size_t n = g->n ? g->n : 1;
	struct tarjan t = { .g = g, .mask = mask, .comp = comp };
	long ret;

	t.index = malloc(n * sizeof(size_t));
	t.low = malloc(n * sizeof(size_t));
	t.stack = malloc(n * sizeof(size_t));
	t.frame_v = malloc(n * sizeof(size_t));
	t.frame_pos = malloc(n * sizeof(size_t));
	t.onstack = calloc(n, 1);
	ret = -ENOMEM;
	if (t.index && t.low && t.stack && t.frame_v && t.frame_pos && t.onstack) {
		for (size_t v = 0; v < g->n; v++)
			t.index[v] = comp[v] = UNSET;
		for (size_t v = 0; v < g->n; v++)
			if (in_mask(&t, v) && t.index[v] == UNSET)
				tarjan_from(&t, v);
		ret = (long)t.ncomp;
	}
	free(t.index);
	free(t.low);
	free(t.stack);
	free(t.frame_v);
	free(t.frame_pos);
	free(t.onstack);
	return ret;
}

long aod_graph_scc(const struct aod_graph *g, size_t *comp)
{
	return scc_masked(g, NULL, comp);
}

/* ---- Johnson ---- */

struct vset {            /* a set of vertices (an SCC still to search) */
	size_t n, *v;
};

struct blist {           /* B(v): vertices to unblock when v is */
	size_t n, cap, *v;
};

struct johnson {
	const struct aod_graph *g;
	size_t max_cycles, max_steps, steps;
	aod_cycle_fn fn;
	void *arg;
	struct aod_cycle_stats *st;
	unsigned char *member, *blocked, *closed, *mask, *queued;
	struct blist *B;
	size_t *path, *frame_v, *frame_pos, *comp, *ustack;
	struct vset *todo;
	size_t ntodo, captodo;
};

static bool stop(struct johnson *j)
{
	if (j->st->found >= j->max_cycles || j->steps >= j->max_steps) {
		j->st->truncated = true;
		return true;
	}
	return false;
}

static int blist_add(struct blist *b, size_t v)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i] == v)
			return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 4;
		size_t *grown = realloc(b->v, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		b->v = grown;
		b->cap = cap;
	}
	b->v[b->n++] = v;
	return 0;
}

static void unblock(struct johnson *j, size_t v)
{
	size_t sp = 0;

	j->ustack[sp++] = v;
	j->queued[v] = 1;
	while (sp) {
		size_t u = j->ustack[--sp];

		j->queued[u] = 0;
		if (!j->blocked[u])
			continue;
		j->blocked[u] = 0;
		for (size_t i = 0; i < j->B[u].n; i++) {
			size_t w = j->B[u].v[i];

			if (j->blocked[w] && !j->queued[w]) {
				assert(sp < j->g->n); /* each vertex at most once on the stack */
				j->queued[w] = 1;
				j->ustack[sp++] = w;
			}
		}
		j->B[u].n = 0;
	}
}

/* The frame of v is finished: unblock it, or remember it in its successors' B lists. */
static int finish_frame(struct johnson *j, size_t v)
{
	if (j->closed[v]) {
		unblock(j, v);
		return 0;
	}
	for (size_t p = j->g->off[v]; p < j->g->off[v + 1]; p++) {
		size_t w = j->g->adj[p];

		if (j->member[w] && blist_add(&j->B[w], v))
			return -ENOMEM;
	}
	return 0;
}

static void found_cycle(struct johnson *j, size_t len)
{
	j->fn(j->path, len, j->arg);
	j->st->found++;
	for (size_t i = 0; i < len; i++)
		j->closed[j->path[i]] = 1;
}

/* All elementary cycles through start within the member set. */
static int circuits_from(struct johnson *j, size_t start)
{
	size_t fp = 0, len = 0;

	j->path[len++] = start;
	j->blocked[start] = 1;
	j->frame_v[fp] = start;
	j->frame_pos[fp++] = j->g->off[start];
	while (fp && !stop(j)) {
		size_t v = j->frame_v[fp - 1], *pos = &j->frame_pos[fp - 1];

		if (*pos < j->g->off[v + 1]) {
			size_t w = j->g->adj[(*pos)++];

			j->steps++;
			if (!j->member[w])
				continue;
			if (w == start && v != start) { /* v == start: a self-loop, reported apart */
				found_cycle(j, len);
			} else if (!j->blocked[w]) {
				j->path[len++] = w;
				j->closed[w] = 0;
				j->blocked[w] = 1;
				j->frame_v[fp] = w;
				j->frame_pos[fp++] = j->g->off[w];
			}
			continue;
		}
		if (finish_frame(j, v))
			return -ENOMEM;
		fp--;
		len--;
	}
	return 0;
}

static int push_todo(struct johnson *j, const size_t *v, size_t n)
{
	struct vset s = { .n = n, .v = malloc(n * sizeof(size_t)) };

	if (!s.v)
		return -ENOMEM;
	memcpy(s.v, v, n * sizeof(size_t));
	if (j->ntodo == j->captodo) {
		size_t cap = j->captodo ? 2 * j->captodo : 16;
		struct vset *grown = realloc(j->todo, cap * sizeof(*grown));

		if (!grown) {
			free(s.v);
			return -ENOMEM;
		}
		j->todo = grown;
		j->captodo = cap;
	}
	j->todo[j->ntodo++] = s;
	return 0;
}

/* Push every SCC of more than one vertex of the subgraph induced by mask. */
static int push_sccs(struct johnson *j, const unsigned char *mask)
{
	long nc = scc_masked(j->g, mask, j->comp);
	size_t *off, *buf = j->ustack, n = j->g->n;
	int err = 0;

	if (nc < 0)
		return (int)nc;
	off = calloc((size_t)nc + 2, sizeof(*off));
	if (!off)
		return -ENOMEM;
	for (size_t v = 0; v < n; v++)       /* counting sort of the vertices by component */
		if (j->comp[v] != UNSET)
			off[j->comp[v] + 2]++;
	for (long c = 0; c < nc; c++)
		off[c + 2] += off[c + 1];
	for (size_t v = 0; v < n; v++)       /* ascending v within each component */
		if (j->comp[v] != UNSET)
			buf[off[j->comp[v] + 1]++] = v;
	for (long c = 0; !err && c < nc; c++)
		if (off[c + 1] - off[c] > 1)
			err = push_todo(j, buf + off[c], off[c + 1] - off[c]);
	free(off);
	return err;
}

static int search_scc(struct johnson *j, struct vset *s)
{
	size_t start = s->v[0];
	int err;

	for (size_t i = 0; i < s->n; i++) {   /* v[] is sorted: v[0] is the smallest */
		size_t v = s->v[i];

		j->member[v] = 1;
		j->blocked[v] = j->closed[v] = 0;
		j->B[v].n = 0;
	}
	err = circuits_from(j, start);
	for (size_t i = 0; i < s->n; i++) {
		j->member[s->v[i]] = 0;
		j->mask[s->v[i]] = s->v[i] != start;
	}
	if (!err && !stop(j))
		err = push_sccs(j, j->mask);
	for (size_t i = 0; i < s->n; i++)
		j->mask[s->v[i]] = 0;
	return err;
}

static void self_loops(struct johnson *j)
{
	for (size_t v = 0; v < j->g->n && !stop(j); v++) {
		for (size_t p = j->g->off[v]; p < j->g->off[v + 1]; p++) {
			if (j->g->adj[p] != v)
				continue;
			j->fn(&v, 1, j->arg);
			j->st->found++;
			break;
		}
	}
}

static int johnson_alloc(struct johnson *j)
{
	size_t n = j->g->n ? j->g->n : 1;

	j->member = calloc(n, 1);
	j->blocked = calloc(n, 1);
	j->closed = calloc(n, 1);
	j->mask = calloc(n, 1);
	j->queued = calloc(n, 1);
	j->B = calloc(n, sizeof(*j->B));
	j->path = malloc(n * sizeof(size_t));
	j->frame_v = malloc(n * sizeof(size_t));
	j->frame_pos = malloc(n * sizeof(size_t));
	j->comp = malloc(n * sizeof(size_t));
	j->ustack = malloc(n * sizeof(size_t));
	return j->member && j->blocked && j->closed && j->mask && j->queued && j->B && j->path && j->frame_v &&
	       j->frame_pos && j->comp && j->ustack ? 0 : -ENOMEM;
}

static void johnson_free(struct johnson *j)
{
	for (size_t i = 0; j->B && i < j->g->n; i++)
		free(j->B[i].v);
	for (size_t i = 0; i < j->ntodo; i++)
		free(j->todo[i].v);
	free(j->todo);
	free(j->member);
	free(j->blocked);
	free(j->closed);
	free(j->mask);
	free(j->queued);
	free(j->B);
	free(j->path);
	free(j->frame_v);
	free(j->frame_pos);
	free(j->comp);
	free(j->ustack);
}

int aod_graph_cycles(const struct aod_graph *g, size_t max_cycles, size_t max_steps,
		     aod_cycle_fn fn, void *arg, struct aod_cycle_stats *st)
{
	struct johnson j = { .g = g, .max_cycles = max_cycles, .max_steps = max_steps,
			     .fn = fn, .arg = arg, .st = st };
	int err;

	memset(st, 0, sizeof(*st));
	err = johnson_alloc(&j);
	if (!err) {
		self_loops(&j);
		if (!stop(&j))
			err = push_sccs(&j, NULL);
	}
	/* smallest start vertex first: pop the todo set with the smallest v[0] */
	while (!err && j.ntodo && !stop(&j)) {
		size_t best = 0;
		struct vset s;

		for (size_t i = 1; i < j.ntodo; i++)
			if (j.todo[i].v[0] < j.todo[best].v[0])
				best = i;
		s = j.todo[best];
		j.todo[best] = j.todo[--j.ntodo];
		err = search_scc(&j, &s);
		free(s.v);
	}
	johnson_free(&j);
	assert(!err || err == -ENOMEM);
	return err;
}
