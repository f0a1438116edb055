/* SPDX-License-Identifier: MIT */
/*
 * Listen addresses as written in the config and on the command line:
 * "127.0.0.1:9435", "[::1]:9435", "localhost:9435" (= 127.0.0.1), or
 * ":9435" for every address (IPv4 and IPv6). Numeric only: no name
 * lookup happens when a config loads.
 */
#ifndef AOD_COMMON_NETADDR_H
#define AOD_COMMON_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct aod_netaddr {
	struct sockaddr_storage ss;
	socklen_t len;
	bool wildcard; /* ":PORT": bind every address, IPv4 and IPv6 */
};

/* Returns 0, or -EINVAL with why[] saying what is wrong. */
int aod_netaddr_parse(const char *text, struct aod_netaddr *out, char *why, size_t whylen);

/* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
bool aod_netaddr_is_loopback(const struct aod_netaddr *a);

/* "127.0.0.1:9435", "[::1]:9435". */
void aod_netaddr_format(const struct aod_netaddr *a, char *buf, size_t len);

#endif /* AOD_COMMON_NETADDR_H */
