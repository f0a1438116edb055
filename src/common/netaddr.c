// SPDX-License-Identifier: MIT
/* Parsing, classifying and printing listen addresses (HOST:PORT). */
#include "common/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, unsigned *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -EINVAL;
	*port = (unsigned)v;
	return 0;
}

/* Splits "HOST:PORT" / "[HOST]:PORT" into host (without brackets) and port. */
static int split(const char *text, char *host, size_t hostlen, unsigned *port, bool *v6)
{
	const char *colon;
	size_t n;

	*v6 = text[0] == '[';
	if (*v6) {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		n = (size_t)(close - text - 1);
		colon = close + 1;
		text++;
	} else {
		colon = strrchr(text, ':');
		if (!colon || memchr(text, ':', (size_t)(colon - text)))
			return -EINVAL;
		n = (size_t)(colon - text);
	}
	if (n >= hostlen)
		return -EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	return parse_port(colon + 1, port);
}

int aod_netaddr_parse(const char *text, struct aod_netaddr *out, char *why, size_t whylen)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
	char host[64];
	unsigned port;
	bool v6;

	memset(out, 0, sizeof(*out));
	if (split(text, host, sizeof(host), &port, &v6)) {
		snprintf(why, whylen, "expected HOST:PORT with a numeric address and a port "
			 "1..65535 (127.0.0.1:9435, [::1]:9435, :9435 for every address)");
		return -EINVAL;
	}
	if (!v6 && (!host[0] || !strcmp(host, "localhost"))) {
		out->wildcard = !host[0];
		snprintf(host, sizeof(host), "%s", out->wildcard ? "::" : "127.0.0.1");
		v6 = out->wildcard;
	}
	if (v6 && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*in6);
		return 0;
	}
	if (!v6 && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*in4);
		return 0;
	}
	snprintf(why, whylen, "expected a numeric %s address, got '%s'", v6 ? "IPv6" : "IPv4",
		 host);
	return -EINVAL;
}

bool aod_netaddr_is_loopback(const struct aod_netaddr *a)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;

	if (a->wildcard)
		return false;
	if (a->ss.ss_family == AF_INET)
		return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	if (a->ss.ss_family != AF_INET6)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
}

void aod_netaddr_format(const struct aod_netaddr *a, char *buf, size_t len)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
	char host[INET6_ADDRSTRLEN] = "?";

	if (a->ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in4->sin_port));
	} else {
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}
