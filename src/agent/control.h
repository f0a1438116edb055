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
#include <sys/types.h>

#define AOD_DEFAULT_SOCKET "/run/aod/aod.sock"

/* The agent's end: the listening socket and the lock that makes it its own. */
struct aod_control_socket {
	int fd;
	int lock_fd;       /* flock(LOCK_EX) on PATH.lock, held for the agent's life */
	char path[108];
	dev_t dev;         /* the socket file we bound: the only one we unlink */
	ino_t ino;
};

/*
 * Server side: claim PATH (refused if another agent holds PATH.lock, if PATH
 * is not a socket, or if something answers on it; a stale socket is
 * replaced), bind and listen. Returns the fd or -errno (logged).
 */
int aod_control_listen(const char *path, struct aod_control_socket *out);
/* Close, unlink the socket only if it is still the one we bound, release the lock. */
void aod_control_unlisten(struct aod_control_socket *s);

/*
 * Client side: send request, read the whole reply into a malloc'd string.
 * Returns 0 or -errno; on error *reply is NULL and errbuf says why.
 */
int aod_control_request(const char *path, const char *request, char **reply, char *errbuf,
			size_t errlen);

#endif /* AOD_AGENT_CONTROL_H */
