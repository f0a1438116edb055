/* SPDX-License-Identifier: MIT */
/*
 * A directed graph on vertices 0..n-1 (units), in compressed rows, with
 * Tarjan's strongly connected components and Johnson's enumeration of
 * elementary cycles. Both are iterative over explicit stacks, so a long
 * dependency chain cannot overflow the C stack; the cycle search stops at
 * max_cycles or after max_steps edge visits (a dense graph can hold
 * exponentially many cycles) and says it was truncated.
 */
#ifndef AOD_HEALTH_GRAPH_H
#define AOD_HEALTH_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

struct aod_graph {
	size_t n, nedges;
	size_t *off;   /* n + 1 row offsets into adj */
	size_t *adj;   /* targets, sorted and unique within a row */
};

struct aod_edge {
	size_t from, to;
};

/* Edges out of range are ignored; duplicates are merged. -ENOMEM. */
int aod_graph_build(struct aod_graph *g, size_t n, const struct aod_edge *edges, size_t nedges);
void aod_graph_free(struct aod_graph *g);

/* comp[v] = component index (components in reverse topological order); returns the count,
 * or -ENOMEM. */
long aod_graph_scc(const struct aod_graph *g, size_t *comp);

/* Called with each cycle as vertices v0..v(len-1) (the edge v(len-1) -> v0 closes it). */
typedef void (*aod_cycle_fn)(const size_t *cycle, size_t len, void *arg);

struct aod_cycle_stats {
	size_t found;      /* cycles reported */
	bool truncated;    /* stopped at max_cycles or max_steps */
};

int aod_graph_cycles(const struct aod_graph *g, size_t max_cycles, size_t max_steps,
		     aod_cycle_fn fn, void *arg, struct aod_cycle_stats *st);

#endif /* AOD_HEALTH_GRAPH_H */
