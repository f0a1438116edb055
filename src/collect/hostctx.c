// SPDX-License-Identifier: MIT
/*
 * Host context read straight from /proc: what an engineer would otherwise
 * ask for with ps, ss and cat /proc/pressure/... right after the anomaly.
 * No external tool, so it works in minimal images and cannot hang on a
 * stuck mount (nothing here touches /proc/PID/cmdline, which takes the
 * target's mmap lock).
 */
#include "collect/hostctx.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/exec.h"
#include "probe/tcp_listen.h"

#define SMB_PORT 445

/* Line-buffered: when the child is killed at its deadline, the file holds
 * every whole line written so far. */
static FILE *open_out(int fd)
{
	int dupfd = dup(fd);
	FILE *out = dupfd >= 0 ? fdopen(dupfd, "w") : NULL;

	if (!out && dupfd >= 0)
		close(dupfd);
	if (out)
		setvbuf(out, NULL, _IOLBF, 0);
	return out;
}

/* Whole small file into buf (NUL-terminated); bytes read or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got + 1 < cap) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	return (ssize_t)got;
}

/* ---- pressure ---- */

int aod_hostctx_pressure(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	static const char *const kinds[] = {"cpu", "memory", "io", "irq"};
	char path[64], buf[1024], missing[128] = "";
	int found = 0, rc = 0;
	FILE *out = open_out(fd);

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/pressure/%s", kinds[i]);
		n = read_small(path, buf, sizeof(buf));
		if (n == -ENOENT && !strcmp(kinds[i], "irq"))
			continue; /* only with CONFIG_IRQ_TIME_ACCOUNTING */
		fprintf(out, "== %s\n", path);
		if (n < 0) {
			/* EOPNOTSUPP: the files exist but PSI was disabled at boot. */
			fprintf(out, "(%s)\n\n", strerror((int)-n));
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 "%s%s", missing[0] ? ", " : "", kinds[i]);
			rc = (int)n;
			continue;
		}
		fprintf(out, "%s\n", buf);
		found++;
	}
	fclose(out);
	if (!found) {
		aod_func_error(ctx, "no PSI: /proc/pressure unreadable (%s); kernel without CONFIG_PSI "
			       "or booted with psi=0",
			       strerror(-rc));
		return rc;
	}
	if (missing[0])
		aod_func_error(ctx, "PSI unreadable for: %s", missing);
	return 0;
}

/* ---- processes ---- */

struct proc_row {
	int pid, ppid;
	char state;
	long threads;
	unsigned long utime, stime;
	long rss_pages;
	char comm[64];
	char wchan[64];
};

/* /proc/PID/stat: the comm is in parentheses and may hold spaces and ')'. */
static int read_proc_row(int pid, struct proc_row *row)
{
	char path[64], buf[1024];
	char *open_p, *close_p;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return -ENOENT; /* exited meanwhile */
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p)
		return -EINVAL;
	row->pid = atoi(buf);
	len = (size_t)(close_p - open_p - 1);
	if (len >= sizeof(row->comm))
		len = sizeof(row->comm) - 1;
	memcpy(row->comm, open_p + 1, len);
	row->comm[len] = '\0';
	/* fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime prio nice threads
	 * itrealvalue starttime vsize rss */
	if (sscanf(close_p + 2,
		   "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld %*d %*u "
		   "%*u %ld",
		   &row->state, &row->ppid, &row->utime, &row->stime, &row->threads,
		   &row->rss_pages) != 6)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	if (read_small(path, row->wchan, sizeof(row->wchan)) <= 0 || !strcmp(row->wchan, "0"))
		snprintf(row->wchan, sizeof(row->wchan), "-");
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int aod_hostctx_processes(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	long tck = sysconf(_SC_CLK_TCK), page_kib = sysconf(_SC_PAGESIZE) / 1024;
	DIR *d = opendir("/proc");
	struct dirent *e;
	unsigned count = 0;
	FILE *out;

	if (!d) {
		aod_func_error(ctx, "cannot open /proc: %s", strerror(errno));
		return -errno;
	}
	out = open_out(fd);
	if (!out) {
		closedir(d);
		return -ENOMEM;
	}
	if (tck <= 0)
		tck = 100;
	fprintf(out, "%7s %7s %s %5s %10s %10s %-28s %s\n", "PID", "PPID", "S", "THR", "CPU_S",
		"RSS_KIB", "WCHAN", "COMM");
	while ((e = readdir(d))) {
		struct proc_row row;

		if (!all_digits(e->d_name) || read_proc_row(atoi(e->d_name), &row))
			continue;
		fprintf(out, "%7d %7d %c %5ld %10.2f %10ld %-28s %s\n", row.pid, row.ppid,
			row.state, row.threads, (double)(row.utime + row.stime) / (double)tck,
			row.rss_pages * page_kib, row.wchan, row.comm);
		count++;
	}
	fprintf(out, "# %u processes; CPU_S = user+system seconds since start\n", count);
	fclose(out);
	closedir(d);
	return 0;
}

/* ---- sockets ---- */

static const char *const tcp_states[] = {
    "?",     "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",	 "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",	 "NEW_SYN_RECV",
};
#define NSTATES (sizeof(tcp_states) / sizeof(tcp_states[0]))

struct inet_table {
	const char *path;
	bool v6;
	bool present;
	int err;
	unsigned count[NSTATES];
};

static const char *state_name(unsigned st)
{
	return st < NSTATES ? tcp_states[st] : "?";
}

/* /proc/net/tcp prints each 32-bit word of the address as the host-order
 * integer of its network-order bytes; storing it back restores the bytes. */
static void format_addr(const char *hex, unsigned port, bool v6, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (!v6) {
		struct in_addr a = {.s_addr = (uint32_t)strtoul(hex, NULL, 16)};

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		snprintf(out, len, "%s:%u", ip, port);
		return;
	}
	struct in6_addr a6;
	for (int w = 0; w < 4; w++) {
		char word[9];
		uint32_t v;

		memcpy(word, hex + w * 8, 8);
		word[8] = '\0';
		v = (uint32_t)strtoul(word, NULL, 16);
		memcpy(&a6.s6_addr[w * 4], &v, 4);
	}
	inet_ntop(AF_INET6, &a6, ip, sizeof(ip));
	snprintf(out, len, "[%s]:%u", ip, port);
}

/* Count states; TCP sockets on port 445 go to smb (a memstream). */
static void read_inet(struct inet_table *t, FILE *smb, const char *proto)
{
	FILE *f = fopen(t->path, "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f) {
		t->err = errno;
		return;
	}
	t->present = true;
	if (getline(&line, &cap, f) < 0) /* header */
		goto out;
	while (getline(&line, &cap, f) > 0) {
		char lhex[33], rhex[33], laddr[64], raddr[64];
		unsigned lport, rport, st, txq, rxq, retr, uid;
		unsigned long inode;

		if (sscanf(
			line,
			" %*u: %32[0-9A-Fa-f]:%x %32[0-9A-Fa-f]:%x %x %x:%x %*x:%*x %x %u %*d %lu",
			lhex, &lport, rhex, &rport, &st, &txq, &rxq, &retr, &uid, &inode) != 10)
			continue;
		if (strlen(lhex) != (t->v6 ? 32 : 8) || strlen(rhex) != strlen(lhex))
			continue;
		t->count[st < NSTATES ? st : 0]++;
		if (!smb || (lport != SMB_PORT && rport != SMB_PORT))
			continue;
		format_addr(lhex, lport, t->v6, laddr, sizeof(laddr));
		format_addr(rhex, rport, t->v6, raddr, sizeof(raddr));
		fprintf(smb, "%-5s %-47s %-47s %-12s %8u %8u %5u %6u %10lu\n", proto, laddr, raddr,
			state_name(st), txq, rxq, retr, uid, inode);
	}
out:
	free(line);
	fclose(f);
}

static void print_inet(FILE *out, const char *title, struct inet_table *v4, struct inet_table *v6)
{
	unsigned tot4 = 0, tot6 = 0;

	fprintf(out, "== %s (%s, %s)\n%-13s %7s %7s\n", title, v4->path, v6->path, "STATE", "IPV4",
		"IPV6");
	for (unsigned s = 0; s < NSTATES; s++) {
		tot4 += v4->count[s];
		tot6 += v6->count[s];
		if (v4->count[s] || v6->count[s])
			fprintf(out, "%-13s %7u %7u\n", tcp_states[s], v4->count[s], v6->count[s]);
	}
	fprintf(out, "%-13s %7u %7u\n", "total", tot4, tot6);
	if (!v4->present)
		fprintf(out, "(%s: %s)\n", v4->path, strerror(v4->err));
	if (!v6->present)
		fprintf(out, "(%s: %s)\n", v6->path, strerror(v6->err));
	fprintf(out, "\n");
}

static const char *unix_type(unsigned type)
{
	switch (type) {
	case 1: return "STREAM";
	case 2: return "DGRAM";
	case 5: return "SEQPACKET";
	default: return "OTHER";
	}
}

static void print_unix(FILE *out)
{
	static const char *const states[] = {"LISTEN",	  "UNCONNECTED",   "CONNECTING",
					     "CONNECTED", "DISCONNECTING", "?"};
	static const unsigned types[] = {1, 2, 5, 0};
	unsigned count[4][6] = {{0}};
	FILE *f = fopen("/proc/net/unix", "re");
	char *line = NULL;
	size_t cap = 0;

	fprintf(out, "== UNIX (/proc/net/unix)\n");
	if (!f) {
		fprintf(out, "(%s)\n\n", strerror(errno));
		return;
	}
	if (getline(&line, &cap, f) > 0) {
		while (getline(&line, &cap, f) > 0) {
			unsigned flags, type, st, ti, si;

			if (sscanf(line, "%*s %*x %*x %x %x %x", &flags, &type, &st) != 3)
				continue;
			ti = type == 1 ? 0 : type == 2 ? 1 : type == 5 ? 2 : 3;
			si = (flags & 0x10000)	    ? 0
			     : (st >= 1 && st <= 4) ? st
						    : 5; /* __SO_ACCEPTCON */
			count[ti][si]++;
		}
	}
	free(line);
	fclose(f);
	fprintf(out, "%-10s %-14s %7s\n", "TYPE", "STATE", "COUNT");
	for (unsigned t = 0; t < 4; t++)
		for (unsigned s = 0; s < 6; s++)
			if (count[t][s])
				fprintf(out, "%-10s %-14s %7u\n", unix_type(types[t]), states[s],
					count[t][s]);
	fprintf(out, "\n");
}

int aod_hostctx_sockets(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd)
{
	struct inet_table tcp4 = {.path = "/proc/net/tcp"},
			  tcp6 = {.path = "/proc/net/tcp6", .v6 = true};
	struct inet_table udp4 = {.path = "/proc/net/udp"},
			  udp6 = {.path = "/proc/net/udp6", .v6 = true};
	char *smb_text = NULL;
	size_t smb_len = 0;
	FILE *smb = open_memstream(&smb_text, &smb_len);
	FILE *out = open_out(fd);

	if (!out || !smb) {
		if (out)
			fclose(out);
		if (smb)
			fclose(smb);
		free(smb_text);
		return -ENOMEM;
	}
	read_inet(&tcp4, smb, "tcp");
	read_inet(&tcp6, smb, "tcp6");
	read_inet(&udp4, NULL, "udp");
	read_inet(&udp6, NULL, "udp6");
	fclose(smb);
	print_inet(out, "TCP", &tcp4, &tcp6);
	print_inet(out, "UDP (CLOSE = not connected)", &udp4, &udp6);
	print_unix(out);
	fprintf(out, "== TCP sockets on port %d (SMB)\n", SMB_PORT);
	fprintf(out, "%-5s %-47s %-47s %-12s %8s %8s %5s %6s %10s\n", "PROTO", "LOCAL", "REMOTE",
		"STATE", "TX_QUEUE", "RX_QUEUE", "RETR", "UID", "INODE");
	fputs(smb_len ? smb_text : "(none)\n", out);
	fputc('\n', out);
	aod_tcp_listeners_print(out);
	fclose(out);
	free(smb_text);
	if (!tcp4.present) {
		aod_func_error(ctx, "cannot read /proc/net/tcp: %s", strerror(tcp4.err));
		return -tcp4.err;
	}
	return 0;
}
