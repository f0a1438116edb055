// SPDX-License-Identifier: MIT
/*
 * TCP workloads for the TCP probe's tests and bench (IPv4 or IPv6 literal
 * addresses only; every count it prints is its own, the ground truth the
 * tests compare the probe with):
 *
 *   tcp_load connect ADDR PORT N [TIMEOUT_MS]
 *       N sequential connects, each closed once established (or failed);
 *       prints "ok=A refused=B timeout=C other=D"
 *   tcp_load serve ADDR PORT SECONDS
 *       accepts and closes every connection, reads nothing; prints "accepted=N"
 *   tcp_load listen ADDR PORT BACKLOG SECONDS
 *       listens and never accepts; prints "listening" at once
 *   tcp_load sink ADDR PORT SECONDS [RCVBUF]
 *       accepts one connection at a time and reads it to EOF (RCVBUF: set
 *       SO_RCVBUF on the listener first); prints "received=BYTES"
 *   tcp_load send ADDR PORT BYTES
 *       one connection, BYTES written, closed; prints "sent=BYTES"
 *   tcp_load storm SECONDS
 *       a loopback listener (a thread accepting and closing) and a client
 *       connecting in a loop; prints "connects=N per_sec=R cpu_us_per_connect=C"
 *       (C: the process's CPU time, loopback softirq work included, per connect)
 * Exit status 0, 2 on a usage error, 1 on a setup failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	fprintf(stderr, "tcp_load: %s: not an IPv4 or IPv6 address\n", host);
	return -1;
}

static int listen_on(const char *host, int port, int backlog, int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (make_addr(host, port, &ss, &len))
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, backlog)) {
		fprintf(stderr, "tcp_load: listen %s:%d: %s\n", host, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* One connect: 0 established, else the errno (ETIMEDOUT after timeout_ms). */
static int connect_once(const struct sockaddr_storage *ss, socklen_t len, int timeout_ms)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t elen = sizeof(err);

	if (fd < 0)
		return errno;
	if (connect(fd, (const struct sockaddr *)ss, len) && errno != EINPROGRESS)
		err = errno;
	else if (poll(&pfd, 1, timeout_ms) == 0)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
		err = errno;
	close(fd);
	return err;
}

static int do_connect(const char *host, int port, long n, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	long ok = 0, refused = 0, timeout = 0, other = 0;

	if (make_addr(host, port, &ss, &len))
		return 1;
	for (long i = 0; i < n; i++) {
		int err = connect_once(&ss, len, timeout_ms);

		if (!err)
			ok++;
		else if (err == ECONNREFUSED)
			refused++;
		else if (err == ETIMEDOUT)
			timeout++;
		else
			other++;
	}
	printf("ok=%ld refused=%ld timeout=%ld other=%ld\n", ok, refused, timeout, other);
	return 0;
}

/* Accept until the deadline; fn handles each connection. */
static long accept_loop(int lfd, double seconds, long (*fn)(int fd))
{
	double end = now_s() + seconds;
	long total = 0;

	while (now_s() < end) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		int fd;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		total += fn(fd);
		close(fd);
	}
	return total;
}

static long count_one(int fd)
{
	(void)fd;
	return 1;
}

static long read_all(int fd)
{
	char buf[65536];
	long total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	return total;
}

/* serve and sink: listen, say so, handle connections until the deadline,
 * print what fn summed. */
static int accept_for(const char *host, int port, int backlog, int rcvbuf, double seconds,
		      long (*fn)(int fd), const char *what)
{
	int lfd = listen_on(host, port, backlog, rcvbuf);

	if (lfd < 0)
		return 1;
	printf("listening\n");
	fflush(stdout);
	printf("%s=%ld\n", what, accept_loop(lfd, seconds, fn));
	close(lfd);
	return 0;
}

static int do_listen(const char *host, int port, int backlog, double seconds)
{
	int lfd = listen_on(host, port, backlog, 0);

	if (lfd < 0)
		return 1;
	printf("listening\n");
	fflush(stdout);
	usleep((useconds_t)(seconds * 1e6));
	close(lfd);
	return 0;
}

static int do_send(const char *host, int port, long bytes)
{
	static char buf[65536];
	struct sockaddr_storage ss;
	socklen_t len;
	long sent = 0;
	int fd;

	if (make_addr(host, port, &ss, &len))
		return 1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len)) {
		fprintf(stderr, "tcp_load: connect %s:%d: %s\n", host, port, strerror(errno));
		return 1;
	}
	while (sent < bytes) {
		size_t want = bytes - sent < (long)sizeof(buf) ? (size_t)(bytes - sent) : sizeof(buf);
		ssize_t n = write(fd, buf, want);

		if (n <= 0)
			break;
		sent += n;
	}
	shutdown(fd, SHUT_WR);
	read_all(fd); /* until the peer closed: every byte was delivered */
	close(fd);
	printf("sent=%ld\n", sent);
	return sent == bytes ? 0 : 1;
}

/* ---- storm: many short connects to a loopback listener ---- */

struct storm {
	int lfd;
	volatile int stop;
};

static void *storm_server(void *arg)
{
	struct storm *s = arg;

	while (!s->stop) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			close(fd); /* the server closes first: TIME_WAIT stays here */
	}
	return NULL;
}

static int do_storm(double seconds)
{
	struct storm s = { .lfd = listen_on("127.0.0.1", 0, 4096, 0) };
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	pthread_t th;
	long n = 0;
	double t0, end, t1, cpu;
	struct rusage ru;
	char c;

	if (s.lfd < 0 || getsockname(s.lfd, (struct sockaddr *)&addr, &len))
		return 1;
	pthread_create(&th, NULL, storm_server, &s);
	t0 = now_s();
	end = t0 + seconds;
	while (now_s() < end) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			break;
		if (!connect(fd, (struct sockaddr *)&addr, len)) {
			while (read(fd, &c, 1) > 0) /* wait for the server's FIN */
				;
			n++;
		}
		close(fd);
	}
	t1 = now_s();
	s.stop = 1;
	shutdown(s.lfd, SHUT_RDWR); /* wakes accept() */
	pthread_join(th, NULL);
	close(s.lfd);
	getrusage(RUSAGE_SELF, &ru); /* softirq work on loopback lands here too */
	cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("connects=%ld per_sec=%.0f cpu_us_per_connect=%.2f\n", n, (double)n / (t1 - t0),
	       n ? cpu * 1e6 / (double)n : 0.0);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tcp_load connect ADDR PORT N [TIMEOUT_MS] | serve ADDR PORT SECONDS |\n"
			"       listen ADDR PORT BACKLOG SECONDS | sink ADDR PORT SECONDS [RCVBUF] |\n"
			"       send ADDR PORT BYTES | storm SECONDS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "connect") && (argc == 5 || argc == 6))
		return do_connect(argv[2], atoi(argv[3]), atol(argv[4]),
				  argc == 6 ? atoi(argv[5]) : 3000);
	if (!strcmp(cmd, "serve") && argc == 5)
		return accept_for(argv[2], atoi(argv[3]), 4096, 0, atof(argv[4]), count_one, "accepted");
	if (!strcmp(cmd, "listen") && argc == 6)
		return do_listen(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
	if (!strcmp(cmd, "sink") && (argc == 5 || argc == 6))
		return accept_for(argv[2], atoi(argv[3]), 16, argc == 6 ? atoi(argv[5]) : 0,
				  atof(argv[4]), read_all, "received");
	if (!strcmp(cmd, "send") && argc == 5)
		return do_send(argv[2], atoi(argv[3]), atol(argv[4]));
	if (!strcmp(cmd, "storm") && argc == 3)
		return do_storm(atof(argv[2]));
	usage();
	return 2;
}
