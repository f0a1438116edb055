// SPDX-License-Identifier: MIT
/*
 * The API's bearer token: a file of mode 0600 (http.token_file, by default
 * <aod_output_dir>/http.token). At the first start it does not exist and
 * is created with 32 random bytes as hex; afterwards it is read as it is
 * (an operator may write a token of their own: 16..128 printable ASCII
 * characters). A file that group or others can read, that is not a
 * regular file, or that another user owns is refused: the API that needs
 * the token then answers 503 until it is fixed (and the agent reloaded).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve/api_int.h"

#define TOKEN_MIN 16

bool api_same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ (lb ? b[i % lb] : 0));
	return !diff;
}

static int create_token(const char *path, char out[API_TOKEN_MAX + 1], char *why, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[API_TOKEN_HEX / 2];
	int fd, err = 0;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		err = -errno;
		snprintf(why, len, "getrandom: %s", strerror(errno));
		return err;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[API_TOKEN_HEX] = '\0';
	explicit_bzero(raw, sizeof(raw));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		snprintf(why, len, "cannot create %s: %s", path, strerror(errno));
		return err;
	}
	/* 0600 whatever the umask was (it can only have taken bits away) */
	if (fchmod(fd, 0600) || write(fd, out, API_TOKEN_HEX) != API_TOKEN_HEX ||
	    write(fd, "\n", 1) != 1 || fsync(fd)) {
		err = errno ? -errno : -EIO;
		snprintf(why, len, "cannot write %s: %s", path, strerror(-err));
		unlink(path);
	}
	close(fd);
	return err;
}

static int read_token(int fd, const char *path, char out[API_TOKEN_MAX + 1], char *why,
		      size_t len)
{
	char buf[API_TOKEN_MAX + 8];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s is not a regular file", path);
		return -EINVAL;
	}
	if (st.st_mode & 077 || st.st_uid != geteuid()) {
		snprintf(why, len, "%s has mode %04o and owner uid %u: expected 0600 (or stricter) "
			 "and uid %u, since it holds the API's password", path,
			 (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		snprintf(why, len, "cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	while (n > 0 && strchr(" \t\r\n", buf[n - 1]))
		n--;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] <= ' ' || buf[i] > '~') {
			n = -1;
			break;
		}
	}
	if (n < TOKEN_MIN || n > API_TOKEN_MAX) {
		snprintf(why, len, "%s: expected one line of %d..%d printable ASCII characters "
			 "without spaces (delete the file and restart to get a new token)",
			 path, TOKEN_MIN, API_TOKEN_MAX);
		explicit_bzero(buf, sizeof(buf));
		return -EINVAL;
	}
	memcpy(out, buf, (size_t)n + 1);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int api_token_load(const char *path, char out[API_TOKEN_MAX + 1], char *why, size_t len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), err;

	if (fd < 0 && errno == ENOENT)
		return create_token(path, out, why, len);
	if (fd < 0) {
		err = -errno;
		snprintf(why, len, "cannot open %s: %s", path, strerror(errno));
		return err;
	}
	err = read_token(fd, path, out, why, len);
	close(fd);
	return err;
}

/* "Authorization: Bearer <token>" with this API's token. */
bool api_bearer_ok(const struct aod_api *a, struct MHD_Connection *conn)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);

	if (!a->token_ok || !v || strncasecmp(v, "Bearer ", 7))
		return false;
	v += 7;
	v += strspn(v, " ");
	return api_same(v, a->token);
}
