// SPDX-License-Identifier: MIT
/*
 * Test helper for the action runner: leaves a grandchild behind.
 *   act_forker wait   the child and the grandchild both sleep 30 s
 *   act_forker exit   the child exits at once; the grandchild sleeps 30 s
 *                     holding the output pipe
 * Prints "grandchild PID" first, so the test can check it was killed.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t pid;

	if (argc != 2 || (strcmp(argv[1], "wait") && strcmp(argv[1], "exit")))
		return 2;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		sleep(30);
		return 0;
	}
	printf("grandchild %d\n", (int)pid);
	fflush(stdout);
	if (!strcmp(argv[1], "wait"))
		sleep(30);
	return 0;
}
