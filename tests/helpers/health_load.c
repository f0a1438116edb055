// SPDX-License-Identifier: MIT
/*
 * Load for the health tests (tests/vm/health.sh, tests/integration/health.sh):
 *   health_load mem MB [MB2]   hold MB of touched memory; on SIGUSR1 grow to MB2; wait
 *   health_load segv           die of a real segmentation fault (the kernel logs it)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t grow;

static void on_usr1(int sig)
{
	(void)sig;
	grow = 1;
}

static char *hold(size_t mb)
{
	char *p = malloc(mb << 20);

	if (!p) {
		perror("health_load: malloc");
		exit(1);
	}
	memset(p, 0x5a, mb << 20);   /* touched: counted in memory.current */
	return p;
}

static int mem(size_t mb, size_t mb2)
{
	char *a = hold(mb), *b = NULL;

	signal(SIGUSR1, on_usr1);
	printf("health_load: holding %zu MiB\n", mb);
	fflush(stdout);
	for (;;) {
		pause();
		if (grow && !b && mb2 > mb) {
			b = hold(mb2 - mb);
			printf("health_load: holding %zu MiB\n", mb2);
			fflush(stdout);
		}
	}
	free(a);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "mem"))
		return mem(strtoul(argv[2], NULL, 10), argc > 3 ? strtoul(argv[3], NULL, 10) : 0);
	if (argc == 2 && !strcmp(argv[1], "segv")) {
		volatile int *nowhere = NULL;

		*nowhere = 1;
		return 0;
	}
	fprintf(stderr, "usage: health_load mem MB [MB2] | segv\n");
	return 2;
}
