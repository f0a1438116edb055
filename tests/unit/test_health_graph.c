// SPDX-License-Identifier: MIT
/* Tarjan's SCCs and Johnson's cycles on graphs with and without cycles, checked against brute force. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/graph.h"

#define E(a, b) { a, b }

struct found {
	size_t n;
	char cycles[256][64];   /* "0 1 2" */
};

static void collect(const size_t *c, size_t len, void *arg)
{
	struct found *f = arg;
	size_t off = 0;

	assert_true(f->n < 256);
	for (size_t i = 0; i < len && off < 48; i++)
		off += (size_t)snprintf(f->cycles[f->n] + off, 64 - off, "%s%zu", i ? " " : "", c[i]);
	f->n++;
}

static bool has(const struct found *f, const char *s)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->cycles[i], s))
			return true;
	return false;
}

static void cycles_of(size_t n, const struct aod_edge *e, size_t ne, struct found *f,
		      struct aod_cycle_stats *st)
{
	struct aod_graph g;

	memset(f, 0, sizeof(*f));
	assert_int_equal(aod_graph_build(&g, n, e, ne), 0);
	assert_int_equal(aod_graph_cycles(&g, 1000, 1000000, collect, f, st), 0);
	aod_graph_free(&g);
}

static void test_dag_has_no_cycle(void **state)
{
	const struct aod_edge e[] = { E(0, 1), E(0, 2), E(1, 3), E(2, 3), E(3, 4), E(0, 4) };
	struct aod_cycle_stats st;
	struct found f;
	struct aod_graph g;
	size_t comp[5];

	cycles_of(5, e, 6, &f, &st);
	assert_int_equal(f.n, 0);
	assert_int_equal(st.found, 0);
	assert_false(st.truncated);
	/* every vertex its own component */
	assert_int_equal(aod_graph_build(&g, 5, e, 6), 0);
	assert_int_equal(aod_graph_scc(&g, comp), 5);
	aod_graph_free(&g);
}

static void test_two_cycle_and_self_loop(void **state)
{
	/* a Requires= pair (1 <-> 2), a unit that wants itself (4), a tail (0 -> 1), duplicates */
	const struct aod_edge e[] = { E(0, 1), E(1, 2), E(2, 1), E(2, 1), E(4, 4), E(3, 0), E(9, 1) };
	struct aod_cycle_stats st;
	struct found f;

	cycles_of(5, e, 7, &f, &st);
	assert_int_equal(f.n, 2);
	assert_true(has(&f, "4"));
	assert_true(has(&f, "1 2"));
	assert_int_equal(st.found, 2);
}

static void test_scc(void **state)
{
	/* {0,1,2} a ring, {3,4} a pair, 5 alone, 2 -> 3 joins them one way */
	const struct aod_edge e[] = { E(0, 1), E(1, 2), E(2, 0), E(2, 3), E(3, 4), E(4, 3), E(4, 5) };
	struct aod_graph g;
	size_t comp[6];

	assert_int_equal(aod_graph_build(&g, 6, e, 7), 0);
	assert_int_equal(g.nedges, 7);
	assert_int_equal(aod_graph_scc(&g, comp), 3);
	assert_true(comp[0] == comp[1] && comp[1] == comp[2]);
	assert_true(comp[3] == comp[4]);
	assert_true(comp[5] != comp[3] && comp[3] != comp[0]);
	/* reverse topological order: the sink component comes first */
	assert_true(comp[5] < comp[3] && comp[3] < comp[0]);
	aod_graph_free(&g);
}

static void test_complete_graph_cycle_count(void **state)
{
	/* K4 has sum over k=2..4 of C(4,k)(k-1)! = 6 + 8 + 6 = 20 elementary cycles */
	struct aod_edge e[12];
	struct aod_cycle_stats st;
	struct found f;
	size_t n = 0;

	for (size_t a = 0; a < 4; a++)
		for (size_t b = 0; b < 4; b++)
			if (a != b)
				e[n++] = (struct aod_edge){ a, b };
	cycles_of(4, e, n, &f, &st);
	assert_int_equal(f.n, 20);
	for (size_t i = 0; i < f.n; i++)          /* no cycle twice */
		for (size_t j = i + 1; j < f.n; j++)
			assert_string_not_equal(f.cycles[i], f.cycles[j]);
	assert_true(has(&f, "0 1 2 3"));
	assert_true(has(&f, "0 3 2 1"));
	assert_true(has(&f, "1 3"));
}

/* Brute force: count the simple cycles of a small graph by DFS from each smallest vertex. */
static size_t brute(const unsigned char adj[8][8], size_t n, size_t start, size_t v, unsigned used)
{
	size_t count = 0;

	for (size_t w = start; w < n; w++) {
		if (!adj[v][w])
			continue;
		if (w == start)
			count++;
		else if (!(used & (1u << w)))
			count += brute(adj, n, start, w, used | (1u << w));
	}
	return count;
}

static void test_random_graphs_match_brute_force(void **state)
{
	unsigned seed = 12345;

	for (int round = 0; round < 200; round++) {
		unsigned char adj[8][8] = { { 0 } };
		struct aod_edge e[64];
		struct aod_cycle_stats st;
		struct found f;
		size_t n = 3 + (size_t)(round % 6), ne = 0, expect = 0;

		for (size_t a = 0; a < n; a++)
			for (size_t b = 0; b < n; b++) {
				seed = seed * 1103515245u + 12345u;
				if ((seed >> 16) % 100 < 30) {
					adj[a][b] = 1;
					e[ne++] = (struct aod_edge){ a, b };
				}
			}
		for (size_t s = 0; s < n; s++)
			expect += brute(adj, n, s, s, 1u << s);
		cycles_of(n, e, ne, &f, &st);
		assert_int_equal(f.n, expect);
	}
}

static void test_limits(void **state)
{
	struct aod_edge e[56];
	struct aod_graph g;
	struct aod_cycle_stats st;
	struct found f = { 0 };
	size_t n = 0;

	for (size_t a = 0; a < 8; a++)
		for (size_t b = 0; b < 8; b++)
			if (a != b)
				e[n++] = (struct aod_edge){ a, b };
	assert_int_equal(aod_graph_build(&g, 8, e, n), 0);
	assert_int_equal(aod_graph_cycles(&g, 20, 1000000, collect, &f, &st), 0);
	assert_int_equal(f.n, 20);
	assert_true(st.truncated);
	memset(&f, 0, sizeof(f));
	assert_int_equal(aod_graph_cycles(&g, 1000000, 50, collect, &f, &st), 0);
	assert_true(st.truncated);    /* the step budget stops a dense graph */
	aod_graph_free(&g);
}

static void test_long_chain_no_recursion(void **state)
{
	size_t n = 200000;
	struct aod_edge *e = malloc(n * sizeof(*e));
	struct aod_graph g;
	struct aod_cycle_stats st;
	struct found f = { 0 };
	size_t *comp = malloc(n * sizeof(*comp));

	for (size_t i = 0; i + 1 < n; i++)
		e[i] = (struct aod_edge){ i, i + 1 };
	e[n - 1] = (struct aod_edge){ n - 1, 0 };   /* one big ring */
	assert_int_equal(aod_graph_build(&g, n, e, n), 0);
	assert_int_equal(aod_graph_scc(&g, comp), 1);
	assert_int_equal(aod_graph_cycles(&g, 10, 10000000, collect, &f, &st), 0);
	assert_int_equal(f.n, 1);
	aod_graph_free(&g);
	free(comp);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dag_has_no_cycle),
		cmocka_unit_test(test_two_cycle_and_self_loop),
		cmocka_unit_test(test_scc),
		cmocka_unit_test(test_complete_graph_cycle_count),
		cmocka_unit_test(test_random_graphs_match_brute_force),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_long_chain_no_recursion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
