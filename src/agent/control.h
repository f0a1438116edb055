/* SPDX-License-Identifier: MIT */
/*
 * The control socket: a unix stream socket (mode 0600, in a 0700 directory)
 * on which the agent answers one request per connection. Requests are one
 * line: "status" (reply: the status JSON) or "snapshot" (reply: "ok ...").
 * Only root or the agent's own uid may ask (SO_PEERCRED).
 */
#ifndef AOD_AGENT_CONTROL_H
#define AOD_AGENT_CONTROL_H

#include <stddef.h>

#define AOD_DEFAULT_SOCKET "/run/aod/aod.sock"

/* Server side: bind and listen. Returns the fd or -errno (logged). */
int aod_control_listen(const char *path);

/*
 * Client side: send request, read the whole reply into a malloc'd string.
 * Returns 0 or -errno; on error *reply is NULL and errbuf says why.
 */
int aod_control_request(const char *path, const char *request, char **reply, char *errbuf,
			size_t errlen);

#endif /* AOD_AGENT_CONTROL_H */
