// SPDX-License-Identifier: MIT
#include "agent/control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/control_request.h"
#include "common/log.h"
#include "serve/metrics.h"

#define CLIENT_TIMEOUT_MS 2000

static int fill_addr(struct sockaddr_un *addr, const char *path)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path))
		return -ENAMETOOLONG;
	strcpy(addr->sun_path, path);
	return 0;
}

static int make_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Is a live agent answering on path? */
static bool someone_listens(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return live;
}

/*
 * One agent per socket: hold an exclusive lock on PATH.lock for life, and
 * never remove what is not a stale socket of ours. Returns the lock fd or
 * -errno (logged).
 */
static int claim(const char *path, const struct sockaddr_un *addr)
{
	char lock[PATH_MAX];
	struct stat st;
	int fd;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_err("control socket %s: cannot open its lock %s: %s", path, lock, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;

		log_err("control socket %s: another aod agent is running with it (it holds %s); "
			"stop that one or give this one another agent.control_socket", path, lock);
		close(fd);
		return err;
	}
	if (!lstat(path, &st) && !S_ISSOCK(st.st_mode)) {
		log_err("control socket %s: the path exists and is not a socket; not replacing it",
			path);
		close(fd);
		return -EEXIST;
	}
	if (!lstat(path, &st) && someone_listens(addr)) {
		log_err("control socket %s: something else answers on it; not replacing it", path);
		close(fd);
		return -EADDRINUSE;
	}
	unlink(path); /* a stale socket: its agent is gone (we hold the lock) */
	return fd;
}

int aod_control_listen(const char *path, struct aod_control_socket *out)
{
	struct sockaddr_un addr;
	struct stat st;
	mode_t old_umask;
	int fd, err;

	out->fd = out->lock_fd = -1;
	snprintf(out->path, sizeof(out->path), "%s", path);
	err = fill_addr(&addr, path);
	if (!err)
		err = make_parent_dir(path);
	if (err) {
		log_err("control socket %s: %s", path, strerror(-err));
		return err;
	}
	out->lock_fd = claim(path, &addr);
	if (out->lock_fd < 0)
		return out->lock_fd;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err = -errno;
		log_err("control socket: %s", strerror(errno));
		aod_control_unlisten(out);
		return err;
	}
	old_umask = umask(0077); /* the socket is born 0600 */
	err = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ? -errno : 0;
	umask(old_umask);
	if (!err && chmod(path, 0600))
		err = -errno;
	if (!err && listen(fd, 16))
		err = -errno;
	if (!err && lstat(path, &st))
		err = -errno;
	if (err) {
		log_err("control socket %s: %s", path, strerror(-err));
		close(fd);
		aod_control_unlisten(out);
		return err;
	}
	out->fd = fd;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return fd;
}

void aod_control_unlisten(struct aod_control_socket *s)
{
	struct stat st;

	if (s->fd >= 0) {
		close(s->fd);
		/* only the socket we bound: never a file someone put there since */
		if (!lstat(s->path, &st) && S_ISSOCK(st.st_mode) && st.st_dev == s->dev &&
		    st.st_ino == s->ino)
			unlink(s->path);
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->fd = s->lock_fd = -1;
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

/* Up to len bytes, stopping after a newline. Returns the count or -ETIMEDOUT. */
static ssize_t read_request(int fd, char *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		if (poll(&pfd, 1, CLIENT_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	return (ssize_t)got;
}

static void write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void serve_client(struct aod_agent *agent, int fd)
{
	char req[AOD_CONTROL_REQUEST_MAX], err[128];
	enum aod_control_req what;
	char *reply = NULL;
	ssize_t n;

	if (!peer_allowed(fd)) {
		write_all(fd, "error: permission denied\n");
		return;
	}
	n = read_request(fd, req, sizeof(req));
	if (aod_control_parse_request(req, n > 0 ? (size_t)n : 0, &what, err, sizeof(err))) {
		write_all(fd, "error: ");
		write_all(fd, err);
		write_all(fd, "\n");
		return;
	}
	if (what == AOD_CONTROL_STATUS) {
		reply = aod_agent_status_json(agent);
		write_all(fd, reply ? reply : "error: out of memory\n");
	} else if (what == AOD_CONTROL_HIST) {
		reply = aod_metrics_hist_json(agent);
		write_all(fd, reply ? reply : "error: out of memory\n");
	} else {
		int rc = aod_agent_request_snapshot(agent, "aod snapshot");

		write_all(fd, rc ? "error: snapshot not queued (anomaly queue full)\n"
				 : "ok: snapshot queued\n");
	}
	free(reply);
}

int aod_control_main(struct aod_agent *agent)
{
	struct pollfd pfd[2] = {
		{ .fd = agent->control.fd, .events = POLLIN },
		{ .fd = agent->stop_eventfd, .events = POLLIN },
	};

	while (!aod_agent_stopping(agent)) {
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[1].revents)
			break;
		fd = accept4(agent->control.fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		/* Blocking I/O with a poll timeout inside: one slow client cannot hang us long. */
		serve_client(agent, fd);
		close(fd);
	}
	return 0;
}

int aod_control_request(const char *path, const char *request, char **reply, char *errbuf,
			size_t errlen)
{
	struct sockaddr_un addr;
	size_t cap = 4096, len = 0;
	char *buf = NULL;
	int fd, err;

	*reply = NULL;
	err = fill_addr(&addr, path);
	if (err) {
		snprintf(errbuf, errlen, "socket path too long: %s", path);
		return err;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		err = -errno;
		snprintf(errbuf, errlen, "cannot connect to %s: %s (is the agent running?)", path,
			 strerror(errno));
		goto out;
	}
	write_all(fd, request);
	write_all(fd, "\n");
	buf = malloc(cap);
	for (;;) {
		ssize_t n;

		if (!buf) {
			err = -ENOMEM;
			snprintf(errbuf, errlen, "out of memory");
			goto out;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len + 1 == cap) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger)
				free(buf);
			buf = bigger;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	*reply = buf;
	buf = NULL;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return err;
}
