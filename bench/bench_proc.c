// SPDX-License-Identifier: MIT
/*
 * Workloads for bench/proc.sh (figures, no assertions):
 *   bench_proc storm N [PAR]  N fork+exec of /bin/true, PAR at a time (default
 *                             2); prints "execs_per_s RATE cpu_us CPU" (CPU:
 *                             its own and its children's, getrusage)
 *   bench_proc spawn N PAR EXE  N posix_spawn()s of EXE (glibc: clone with
 *                             CLONE_VM | CLONE_VFORK, no page-table copy),
 *                             PAR at a time: the fastest storm, with
 *                             bench/exit0.S; prints "execs_per_s RATE"
 *   bench_proc getppid N      N getppid() calls; prints "ns_per_call X"
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU (user + system) of this process and its waited-for children, in
 * microseconds: the storm's own cost, the probes' kernel programs included
 * (they run in the context of the fork, exec and exit they hook). */
static double cpu_us(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return (self.ru_utime.tv_sec + kids.ru_utime.tv_sec + self.ru_stime.tv_sec +
		kids.ru_stime.tv_sec) * 1e6 +
	       self.ru_utime.tv_usec + kids.ru_utime.tv_usec + self.ru_stime.tv_usec +
	       kids.ru_stime.tv_usec;
}

static int storm(long n, int par)
{
	char *const argv[] = { "true", NULL };
	double t0 = now_s();
	long started = 0, running = 0;

	while (started < n || running) {
		if (started < n && running < par) {
			pid_t c = fork();

			if (c == 0) {
				execv("/bin/true", argv);
				_exit(127);
			}
			if (c < 0)
				return 1;
			started++;
			running++;
			continue;
		}
		if (wait(NULL) > 0)
			running--;
	}
	printf("execs_per_s %.0f cpu_us %.0f\n", n / (now_s() - t0), cpu_us());
	return 0;
}

static int spawn_storm(long n, int par, char *exe)
{
	extern char **environ;
	char *argv[] = { exe, NULL };
	double t0 = now_s();
	long started = 0, running = 0;

	while (started < n || running) {
		if (started < n && running < par) {
			pid_t c;
			int err = posix_spawn(&c, exe, NULL, NULL, argv, environ);

			if (err) {
				fprintf(stderr, "bench_proc: posix_spawn %s: %s\n", exe, strerror(err));
				return 1;
			}
			started++;
			running++;
			continue;
		}
		if (wait(NULL) > 0)
			running--;
	}
	printf("execs_per_s %.0f\n", n / (now_s() - t0));
	return 0;
}

static int ppid_loop(long n)
{
	double t0 = now_s();

	for (long i = 0; i < n; i++)
		syscall(SYS_getppid); /* not the libc wrapper: never cached */
	printf("ns_per_call %.1f\n", (now_s() - t0) * 1e9 / n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "storm"))
		return storm(atol(argv[2]), argc > 3 ? atoi(argv[3]) : 2);
	if (argc >= 5 && !strcmp(argv[1], "spawn"))
		return spawn_storm(atol(argv[2]), atoi(argv[3]), argv[4]);
	if (argc >= 3 && !strcmp(argv[1], "getppid"))
		return ppid_loop(atol(argv[2]));
	fprintf(stderr, "usage: bench_proc storm N [PAR] | spawn N PAR EXE | getppid N\n");
	return 2;
}
