/* SPDX-License-Identifier: MIT */
/*
 * How a TCP event is named: its endpoints as "10.0.0.2:443" or
 * "[2001:db8::1]:443", its state, and the key an anomaly groups it under.
 * Shared by the detector (anomaly keys), the event codec and the bundle
 * summary, so a key reads the same everywhere.
 */
#ifndef AOD_DETECT_TCP_EVENT_H
#define AOD_DETECT_TCP_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h> /* AF_INET, AF_INET6: the family values used here */

#include "bpf/events_user.h" /* enum aod_tcp_dir */
#include "detect/event.h"

#define AOD_TCP_ADDR_LEN 48     /* an IPv6 address, text */
#define AOD_TCP_ENDPOINT_LEN 56 /* "[addr]:port" */

/* "10.0.0.2", "2001:db8::1"; "?" for an unknown family. */
void aod_tcp_addr_str(uint16_t family, const uint8_t addr[16], char *buf, size_t len);
void aod_tcp_endpoint_str(uint16_t family, const uint8_t addr[16], uint16_t port, char *buf,
			  size_t len);
/* Parse what aod_tcp_addr_str wrote; returns the family (AF_INET, AF_INET6) or -1. */
int aod_tcp_addr_parse(const char *s, uint8_t addr[16]);

/* "ESTABLISHED", "SYN_SENT", ...; NULL for an unknown state. */
const char *aod_tcp_state_name(unsigned state);
int aod_tcp_state_from_name(const char *name); /* -1 if unknown */

/*
 * The anomaly key of a TCP event: the remote endpoint for connects,
 * retransmits and received resets (the peer); the local endpoint for a
 * reset sent (the port that refused or aborted). Returns an id that is
 * equal for equal keys.
 */
uint64_t aod_tcp_event_key(const struct aod_event *ev, char *buf, size_t len);

#endif /* AOD_DETECT_TCP_EVENT_H */
