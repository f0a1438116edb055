// SPDX-License-Identifier: MIT
/* TCP listeners from sock_diag, listen counters from /proc/net/netstat
 * (see tcp_listen.h). */
#include "probe/tcp_listen.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_LISTEN_STATE 10 /* include/net/tcp_states.h */
#define RECV_BUF 32768

struct walk {
	struct aod_tcp_listener *out;
	size_t max, n, total;
};

static int send_dump(int fd, int family)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = (__u8)family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = 1u << TCP_LISTEN_STATE },
	};
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0)
		return -errno;
	return 0;
}

static void add_listener(struct walk *w, const struct inet_diag_msg *m)
{
	struct aod_tcp_listener *l;
	uint8_t addr[16] = { 0 };

	w->total++;
	if (w->n == w->max)
		return;
	l = &w->out[w->n++];
	memcpy(addr, m->id.idiag_src, m->idiag_family == AF_INET6 ? 16 : 4);
	l->family = m->idiag_family;
	l->port = ntohs(m->id.idiag_sport);
	l->backlog = m->idiag_rqueue;
	l->backlog_max = m->idiag_wqueue;
	aod_tcp_endpoint_str(l->family, addr, l->port, l->name, sizeof(l->name));
}

/* Messages of one dump until NLMSG_DONE. */
static int read_dump(int fd, struct walk *w, char *buf)
{
	for (;;) {
		ssize_t len = recv(fd, buf, RECV_BUF, 0);

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return len < 0 ? -errno : -EIO;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : -EIO;
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				add_listener(w, NLMSG_DATA(h));
		}
	}
}

int aod_tcp_listeners(struct aod_tcp_listener *out, size_t max, size_t *total)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct walk w = { .out = out, .max = max };
	char *buf = malloc(RECV_BUF);
	int fd, err = 0;

	if (!buf)
		return -ENOMEM;
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		err = -errno;
	for (size_t i = 0; !err && i < sizeof(families) / sizeof(families[0]); i++) {
		err = send_dump(fd, families[i]);
		if (!err)
			err = read_dump(fd, &w, buf);
		if (err == -EAFNOSUPPORT || err == -ENOENT) /* no IPv6 in this kernel */
			err = 0;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	if (total)
		*total = w.total;
	return err ? err : (int)w.n;
}

/* The value of one TcpExt field, from the header/value line pair. */
static int netstat_field(const char *hdr, const char *vals, const char *name, uint64_t *out)
{
	char *h = strdup(hdr), *v = strdup(vals), *hs = NULL, *vs = NULL;
	int err = -ENOENT;

	if (!h || !v) {
		free(h);
		free(v);
		return -ENOMEM;
	}
	for (char *a = strtok_r(h, " \n", &hs), *b = strtok_r(v, " \n", &vs); a && b;
	     a = strtok_r(NULL, " \n", &hs), b = strtok_r(NULL, " \n", &vs))
		if (!strcmp(a, name)) {
			*out = strtoull(b, NULL, 10);
			err = 0;
			break;
		}
	free(h);
	free(v);
	return err;
}

int aod_tcp_netstat_read(const char *path, struct aod_tcp_netstat *out)
{
	FILE *f = fopen(path ? path : "/proc/net/netstat", "re");
	char *hdr = NULL, *vals = NULL;
	size_t hlen = 0, vlen = 0;
	int err = -ENOENT;

	memset(out, 0, sizeof(*out));
	if (!f)
		return -errno;
	/* lines come in pairs: "TcpExt: Name ..." then "TcpExt: value ..." */
	while (getline(&hdr, &hlen, f) > 0 && getline(&vals, &vlen, f) > 0) {
		if (strncmp(hdr, "TcpExt:", 7) || strncmp(vals, "TcpExt:", 7))
			continue;
		err = netstat_field(hdr, vals, "ListenOverflows", &out->listen_overflows);
		if (!err)
			err = netstat_field(hdr, vals, "ListenDrops", &out->listen_drops);
		break;
	}
	free(hdr);
	free(vals);
	fclose(f);
	return err;
}

#define PRINT_LISTENERS 256

void aod_tcp_listeners_print(FILE *out)
{
	struct aod_tcp_listener *l = calloc(PRINT_LISTENERS, sizeof(*l));
	struct aod_tcp_netstat ns;
	size_t total = 0;
	int n = l ? aod_tcp_listeners(l, PRINT_LISTENERS, &total) : -ENOMEM;

	fprintf(out, "== TCP listeners (sock_diag: accept queue / listen backlog)\n");
	if (n < 0)
		fprintf(out, "(sock_diag: %s)\n", strerror(-n));
	else
		fprintf(out, "%-47s %8s %8s\n", "LISTENER", "QUEUED", "BACKLOG");
	for (int i = 0; i < n; i++)
		fprintf(out, "%-47s %8u %8u\n", l[i].name, l[i].backlog, l[i].backlog_max);
	if (n >= 0 && total > (size_t)n)
		fprintf(out, "... and %zu more\n", total - (size_t)n);
	if (!aod_tcp_netstat_read(NULL, &ns))
		fprintf(out, "TcpExt ListenOverflows %llu, ListenDrops %llu\n",
			(unsigned long long)ns.listen_overflows, (unsigned long long)ns.listen_drops);
	fprintf(out, "\n");
	free(l);
}
