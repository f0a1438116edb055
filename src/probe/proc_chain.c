// SPDX-License-Identifier: MIT
/* Command lines and parent chains from /proc (proc_chain.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/text.h"
#include "probe/proc_chain.h"

#define CMD_MAX 160

struct pinfo {
	uint32_t ppid;
	uint64_t start_wall_ns;
	char cmd[CMD_MAX];
};

/* Boot time (CLOCK_REALTIME s) from /proc/stat's btime; 0 if unknown. */
static uint64_t boot_wall_s(void)
{
	unsigned long long b = 0;
	char line[256];
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &b) == 1)
			break;
	fclose(f);
	return b;
}

static bool read_pinfo(uint32_t pid, uint64_t btime_s, struct pinfo *pi)
{
	char path[64], buf[1024], *rp;
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	unsigned ppid;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if (!(f = fopen(path, "re")))
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	if (!rp || hz <= 0 ||
	    sscanf(rp + 2, "%*c %u %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
		   "%*d %*d %llu", &ppid, &ticks) != 2)
		return false;
	pi->ppid = ppid;
	pi->start_wall_ns = btime_s ? btime_s * 1000000000ULL + ticks * (1000000000ULL / (unsigned long long)hz) : 0;
	/* the command line (arguments joined), else the comm in parentheses */
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	n = 0;
	if ((f = fopen(path, "re"))) {
		n = fread(pi->cmd, 1, sizeof(pi->cmd) - 1, f);
		fclose(f);
	}
	while (n && pi->cmd[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (!pi->cmd[i])
			pi->cmd[i] = ' ';
	pi->cmd[n] = '\0';
	if (!n) {
		char *lp = strchr(buf, '(');
		size_t l = lp ? (size_t)(rp - lp - 1) : 0;

		snprintf(pi->cmd, sizeof(pi->cmd), "[%.*s]", (int)(l < 64 ? l : 64), lp ? lp + 1 : "");
	}
	return true;
}

static void put_line(FILE *f, const char *lead, uint32_t pid, const char *cmd)
{
	char esc[CMD_MAX * 4 + 1];

	aod_text_escape(cmd, strlen(cmd), esc, sizeof(esc), false);
	fprintf(f, "%s%u  %s\n", lead, pid, esc);
}

void aod_proc_chain_fput(FILE *f, uint32_t tgid, uint64_t event_wall_ns)
{
	uint64_t btime = boot_wall_s();
	struct pinfo pi;
	uint32_t pid = tgid;

	if (!read_pinfo(pid, btime, &pi)) {
		fprintf(f, "  %u  (exited before the bundle was written)\n", tgid);
		return;
	}
	/* /proc's start time has tick and btime's second resolution: 2 s of slack */
	if (pi.start_wall_ns && event_wall_ns && pi.start_wall_ns > event_wall_ns + 2000000000ULL) {
		fprintf(f, "  %u  (exited; the PID now names a later process)\n", tgid);
		return;
	}
	put_line(f, "  ", pid, pi.cmd);
	for (int d = 0; d < AOD_PROC_CHAIN_DEPTH && pi.ppid && pid != 1; d++) {
		pid = pi.ppid;
		if (!read_pinfo(pid, btime, &pi))
			break;
		put_line(f, "    <- ", pid, pi.cmd);
	}
}
