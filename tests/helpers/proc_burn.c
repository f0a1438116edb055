// SPDX-License-Identifier: MIT
/*
 * Test helper for the process probe: a workload that knows its own usage.
 *   proc_burn CPU_MS MIB EXIT_CODE [OUT]
 * burns CPU_MS ms of CPU time (user, measured by CLOCK_PROCESS_CPUTIME_ID),
 * touches MIB MiB (one write per page), then writes its getrusage(RUSAGE_SELF)
 * as "utime_us stime_us maxrss_kb minflt majflt nvcsw nivcsw" to OUT (or
 * stdout) and exits with EXIT_CODE. MIB far over a memory limit makes it an
 * OOM victim (it never gets to write).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	volatile unsigned long sink = 0;
	struct rusage ru;
	long page = sysconf(_SC_PAGESIZE);
	size_t bytes;
	char *mem;
	FILE *out = stdout;

	if (argc < 4) {
		fprintf(stderr, "usage: proc_burn CPU_MS MIB EXIT_CODE [OUT]\n");
		return 2;
	}
	bytes = strtoull(argv[2], NULL, 10) << 20;
	for (double end = cpu_ms() + atof(argv[1]); cpu_ms() < end;)
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i * 7;
	if (bytes) {
		mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED) {
			perror("mmap");
			return 2;
		}
		for (size_t o = 0; o < bytes; o += (size_t)page)
			mem[o] = 1;
	}
	if (argc > 4 && !(out = fopen(argv[4], "w"))) {
		perror(argv[4]);
		return 2;
	}
	getrusage(RUSAGE_SELF, &ru);
	fprintf(out, "%ld %ld %ld %ld %ld %ld %ld\n",
		(long)(ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec),
		(long)(ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec),
		ru.ru_maxrss, ru.ru_minflt, ru.ru_majflt, ru.ru_nvcsw, ru.ru_nivcsw);
	fflush(out);
	_exit(atoi(argv[3]));
}
