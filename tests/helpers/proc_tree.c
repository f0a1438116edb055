// SPDX-License-Identifier: MIT
/*
 * Test helper for the process probe: a process tree of known shape.
 *   proc_tree DEPTH FANOUT
 * Every process at depth d < DEPTH forks FANOUT children (processes, and one
 * extra thread each, which must not count as a process), waits for them and
 * exits with code d (the root: 0). sum(FANOUT^i, i = 0..DEPTH) processes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *idle(void *arg)
{
	(void)arg;
	usleep(1000);
	return NULL;
}

static int node(int d, int depth, int fanout)
{
	pthread_t t;

	if (pthread_create(&t, NULL, idle, NULL) == 0)
		pthread_join(t, NULL);
	if (d < depth)
		for (int i = 0; i < fanout; i++) {
			pid_t c = fork();

			if (c == 0)
				_exit(node(d + 1, depth, fanout));
			if (c < 0)
				return 100;
		}
	while (wait(NULL) > 0)
		;
	return d;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: proc_tree DEPTH FANOUT\n");
		return 2;
	}
	return node(0, atoi(argv[1]), atoi(argv[2]));
}
