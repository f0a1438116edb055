// SPDX-License-Identifier: MIT
/*
 * Test helper for the action runner (tests/unit/test_actions.c): a program
 * whose output, duration and end are chosen by flags.
 *   -n LINES   print LINES numbered lines of exactly 64 bytes on stdout
 *   -E         first print one line on stderr
 *   -c DIR     count live instances: create DIR/<pid>, print
 *              "concurrent N" (entries in DIR), remove it at the end
 *   -s MSEC    then sleep MSEC milliseconds
 *   -e CODE    then exit with CODE
 *   -k SIG     then kill itself with SIG
 *   -f         first describe its start: open fds, stdin, environment
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* "fds: 0 1 2", "stdin: /dev/null", "env: PATH=... LC_ALL=C" */
static void describe_start(void)
{
	extern char **environ;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char target[256];
	ssize_t n;

	printf("fds:");
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			printf(" %s", e->d_name);
	printf("\n");
	if (d)
		closedir(d);
	n = readlink("/proc/self/fd/0", target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	printf("stdin: %s\nenv:", target);
	for (char **v = environ; *v; v++)
		printf(" %s", *v);
	printf("\n");
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	long lines = 0, msec = 0;
	int code = 0, sig = 0, opt;
	const char *dir = NULL;
	char mine[4096] = "";

	while ((opt = getopt(argc, argv, "n:Ec:s:e:k:f")) != -1) {
		switch (opt) {
		case 'n': lines = atol(optarg); break;
		case 'E':
			fprintf(stderr, "stderr line from act_chatty\n");
			fflush(stderr);
			break;
		case 'c': dir = optarg; break;
		case 's': msec = atol(optarg); break;
		case 'e': code = atoi(optarg); break;
		case 'k': sig = atoi(optarg); break;
		case 'f': describe_start(); break;
		default: return 2;
		}
	}
	if (dir) {
		int fd;

		snprintf(mine, sizeof(mine), "%s/%d", dir, (int)getpid());
		fd = open(mine, O_CREAT | O_WRONLY, 0600);
		if (fd >= 0)
			close(fd);
		printf("concurrent %d\n", count_entries(dir));
	}
	for (long i = 1; i <= lines; i++) {
		char line[96];

		/* "line 00000001 " + 49 x's + "\n" = 64 bytes */
		snprintf(line, sizeof(line), "line %08ld %s\n", i,
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		fputs(line, stdout);
	}
	fflush(stdout);
	if (msec) {
		struct timespec ts = {msec / 1000, (msec % 1000) * 1000000L};

		while (nanosleep(&ts, &ts))
			;
	}
	if (dir)
		unlink(mine);
	if (sig)
		kill(getpid(), sig);
	return code;
}
