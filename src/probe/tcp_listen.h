/* SPDX-License-Identifier: MIT */
/*
 * TCP listeners and their accept queues, read at call time in user space
 * (no BPF): sock_diag netlink (inet_diag) for every LISTEN socket of the
 * caller's network namespace, and the kernel's ListenOverflows and
 * ListenDrops counters from /proc/net/netstat. A scrape every few seconds
 * costs one netlink dump; a BPF hook would cost something per SYN.
 */
#ifndef AOD_PROBE_TCP_LISTEN_H
#define AOD_PROBE_TCP_LISTEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "detect/tcp_event.h"

struct aod_tcp_listener {
	char name[AOD_TCP_ENDPOINT_LEN]; /* "0.0.0.0:22", "[::]:22" */
	uint16_t family;
	uint16_t port;
	uint32_t backlog;     /* idiag_rqueue: established, waiting for accept() */
	uint32_t backlog_max; /* idiag_wqueue: the listen() backlog (sk_max_ack_backlog) */
};

/* Up to max listeners (IPv4, then IPv6, in the kernel's order) into out;
 * *total gets how many there are. Returns how many were filled, or -errno. */
int aod_tcp_listeners(struct aod_tcp_listener *out, size_t max, size_t *total);

struct aod_tcp_netstat {
	uint64_t listen_overflows; /* TcpExt ListenOverflows: accept queue full */
	uint64_t listen_drops;     /* TcpExt ListenDrops: every SYN/ACK dropped at a listener */
};

/* path NULL: /proc/net/netstat. 0, or -errno (-ENOENT if the fields are missing). */
int aod_tcp_netstat_read(const char *path, struct aod_tcp_netstat *out);

/* The listeners (accept queue / backlog) and the listen counters as a
 * text table, for a bundle's sockets.txt. */
void aod_tcp_listeners_print(FILE *out);

#endif /* AOD_PROBE_TCP_LISTEN_H */
