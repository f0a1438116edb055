// SPDX-License-Identifier: MIT
/*
 * impact_work [-w FILE] [-n BLOCKS] [-s MS] [-l LOCKFILE] MILLIONS
 *
 * A deterministic workload for tests of `aod impact`: MILLIONS million
 * rounds of xorshift (a fixed amount of CPU work), after BLOCKS (default 0)
 * 4 KiB O_DIRECT writes to FILE (real block I/O) when -w is given, then a
 * sleep of MS milliseconds (-s), then an exclusive flock of LOCKFILE (-l),
 * waiting for whoever holds it (released at exit). While it
 * works it looks, independently of aod, for an `aod agent` among its
 * parent's children and samples that process's VmRSS from /proc every
 * 20 ms. Prints one line:
 *   impact_work: elapsed_ns=N cpu_ns=C agent_pid=P|none rss_min_kib=A rss_max_kib=B rss_samples=K x=X
 * elapsed_ns is CLOCK_MONOTONIC from the start of main to the end of the work,
 * cpu_ns CLOCK_PROCESS_CPUTIME_ID at the end.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Is pid an `aod agent` (argv[1] == "agent")? */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int is_agent(int pid)
{
	char path[64], buf[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (size_t)n > strlen(buf) + 1 && !strcmp(buf + strlen(buf) + 1, "agent");
}

/* The agent among the children of our parent's threads, or 0. */
static int find_agent(void)
{
	char path[64], buf[4096];
	struct dirent *de;
	DIR *d;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)getppid());
	if (!(d = opendir(path)))
		return 0;
	while (!found && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(buf, sizeof(buf), "%s/%s/children", path, de->d_name);
		if (!(f = fopen(buf, "r")))
			continue;
		for (int pid; !found && fscanf(f, "%d", &pid) == 1;)
			if (pid != getpid() && is_agent(pid))
				found = pid;
		fclose(f);
	}
	closedir(d);
	return found;
}

static long rss_kib(int pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int write_blocks(const char *file, unsigned long n)
{
	void *buf;
	int fd = open(file, O_WRONLY | O_CREAT | O_DIRECT, 0600);

	if (fd < 0 || posix_memalign(&buf, 4096, 4096)) {
		perror(file);
		return 1;
	}
	memset(buf, 0x5a, 4096);
	for (unsigned long i = 0; i < n; i++)
		if (pwrite(fd, buf, 4096, (off_t)(i * 4096)) != 4096) {
			perror("pwrite");
			return 1;
		}
	free(buf);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t t0 = mono_ns(), x = 88172645463325252ull, next_sample = 0;
	unsigned long blocks = 0, millions;
	const char *file = NULL, *lock = NULL;
	unsigned long sleep_ms = 0;
	long rmin = -1, rmax = -1, r;
	unsigned samples = 0;
	int opt, agent;

	while ((opt = getopt(argc, argv, "w:n:s:l:")) != -1) {
		switch (opt) {
		case 'w': file = optarg; break;
		case 's': sleep_ms = strtoul(optarg, NULL, 10); break;
		case 'l': lock = optarg; break;
		case 'n': blocks = strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	millions = strtoul(argv[optind], NULL, 10);
	agent = find_agent();
	if (file && write_blocks(file, blocks))
		return 1;
	if (sleep_ms)
		usleep((useconds_t)(sleep_ms * 1000));
	if (lock) {
		int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		if (fd < 0 || flock(fd, LOCK_EX)) {
			perror(lock);
			return 1;
		}
	}
	for (unsigned long m = 0; m < millions; m++) {
		for (int i = 0; i < 1000000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		if (agent && mono_ns() >= next_sample && (r = rss_kib(agent)) > 0) {
			rmin = rmin < 0 || r < rmin ? r : rmin;
			rmax = r > rmax ? r : rmax;
			samples++;
			next_sample = mono_ns() + 20000000;
		}
	}
	if (agent)
		printf("impact_work: elapsed_ns=%llu cpu_ns=%llu agent_pid=%d rss_min_kib=%ld "
		       "rss_max_kib=%ld rss_samples=%u x=%llu\n", (unsigned long long)(mono_ns() - t0),
		       (unsigned long long)cpu_ns(), agent, rmin,
		       rmax, samples, (unsigned long long)x);
	else
		printf("impact_work: elapsed_ns=%llu cpu_ns=%llu agent_pid=none rss_min_kib=-1 "
		       "rss_max_kib=-1 rss_samples=0 x=%llu\n", (unsigned long long)(mono_ns() - t0),
		       (unsigned long long)cpu_ns(),
		       (unsigned long long)x);
	return 0;
usage:
	fprintf(stderr, "usage: impact_work [-w FILE] [-n BLOCKS] [-s MS] [-l LOCKFILE] MILLIONS\n");
	return 2;
}
