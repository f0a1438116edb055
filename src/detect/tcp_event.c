// SPDX-License-Identifier: MIT
/* Names of TCP events: endpoints, states, anomaly keys (see tcp_event.h). */
#include "detect/tcp_event.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>


/* include/net/tcp_states.h: stable since the beginning. */
static const char *const state_names[] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT",   [3] = "SYN_RECV",  [4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2",   [6] = "TIME_WAIT",  [7] = "CLOSE",     [8] = "CLOSE_WAIT",
	[9] = "LAST_ACK",    [10] = "LISTEN",    [11] = "CLOSING",  [12] = "NEW_SYN_RECV",
};
#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

const char *aod_tcp_state_name(unsigned state)
{
	return state < NSTATES ? state_names[state] : NULL;
}

int aod_tcp_state_from_name(const char *name)
{
	for (unsigned i = 1; i < NSTATES; i++)
		if (!strcmp(name, state_names[i]))
			return (int)i;
	return -1;
}

void aod_tcp_addr_str(uint16_t family, const uint8_t addr[16], char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	int af = family == AF_INET6 ? AF_INET6 : family == AF_INET ? AF_INET : -1;

	if (af < 0 || !inet_ntop(af, addr, tmp, sizeof(tmp)))
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s", tmp);
}

void aod_tcp_endpoint_str(uint16_t family, const uint8_t addr[16], uint16_t port, char *buf,
			  size_t len)
{
	char a[AOD_TCP_ADDR_LEN];

	aod_tcp_addr_str(family, addr, a, sizeof(a));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

int aod_tcp_addr_parse(const char *s, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return AF_INET6;
	return -1;
}

/* FNV-1a over the key's bytes: equal endpoints, equal ids. */
static uint64_t key_id(uint16_t family, const uint8_t *addr, uint16_t port, uint8_t side)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint8_t b[20];

	memcpy(b, addr, 16);
	b[16] = (uint8_t)(port >> 8);
	b[17] = (uint8_t)port;
	b[18] = (uint8_t)family;
	b[19] = side;
	for (size_t i = 0; i < sizeof(b); i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t aod_tcp_event_key(const struct aod_event *ev, char *buf, size_t len)
{
	const struct aod_tcp_fields *t = &ev->tcp;
	bool local = ev->kind == AOD_EVENT_TCP_RESET && t->dir == AOD_TCP_DIR_SENT;
	const uint8_t *addr = local ? t->laddr : t->raddr;
	uint16_t port = local ? t->lport : t->rport;

	aod_tcp_endpoint_str(t->family, addr, port, buf, len);
	return key_id(t->family, addr, port, local);
}
