// SPDX-License-Identifier: MIT
/*
 * Test helper for the action runner: leaves a grandchild behind.
 *   act_forker wait         the child and the grandchild both sleep 30 s
 *   act_forker exit         the child exits at once; the grandchild sleeps 30 s
 *                           holding the output pipe
 *   act_forker setsid-wait  as wait, but the grandchild calls setsid() first
 *   act_forker setsid-exit  the child exits at once; the grandchild calls
 *                           setsid(), lets go of the output and sleeps 30 s
 * Prints "grandchild PID" first, so the test can check it was killed.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void grandchild(bool own_session, bool let_go)
{
	if (own_session)
		setsid();
	if (let_go) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
	}
	sleep(30);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = {"wait", "exit", "setsid-wait", "setsid-exit"};
	int mode = -1;
	pid_t pid;

	for (int i = 0; argc == 2 && i < 4; i++)
		if (!strcmp(argv[1], modes[i]))
			mode = i;
	if (mode < 0)
		return 2;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		grandchild(mode >= 2, mode == 3);
		return 0;
	}
	printf("grandchild %d\n", (int)pid);
	fflush(stdout);
	if (mode == 0 || mode == 2)
		sleep(30);
	return 0;
}
