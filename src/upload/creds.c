// SPDX-License-Identifier: MIT
/*
 * Upload credentials: an access key and secret (and an optional session
 * token) from a file only its owner can read, or from the environment.
 * Nothing here ever puts a value into a message: errors name the file, the
 * line or the variable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upload/upload_int.h"

#define CREDS_MAX_BYTES (64 * 1024)

void aod_upload_creds_wipe(struct aod_upload_creds *c)
{
	explicit_bzero(c, sizeof(*c));
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Value of "name = value" into out; -E2BIG if it does not fit. */
static int take(char *out, size_t len, const char *value)
{
	if (strlen(value) >= len)
		return -E2BIG;
	memcpy(out, value, strlen(value) + 1);
	return 0;
}

static int parse_line(char *line, unsigned lineno, struct aod_upload_creds *c, char *why,
		      size_t len)
{
	char *eq, *name, *value;
	int err;

	line = trim(line);
	if (!*line || *line == '#' || *line == ';' || *line == '[')
		return 0;
	eq = strchr(line, '=');
	if (!eq) {
		snprintf(why, len, "line %u: expected NAME = VALUE", lineno);
		return -EINVAL;
	}
	*eq = '\0';
	name = trim(line);
	value = trim(eq + 1);
	if (!strcmp(name, "aws_access_key_id"))
		err = take(c->access_key, sizeof(c->access_key), value);
	else if (!strcmp(name, "aws_secret_access_key"))
		err = take(c->secret_key, sizeof(c->secret_key), value);
	else if (!strcmp(name, "aws_session_token"))
		err = take(c->session_token, sizeof(c->session_token), value);
	else
		return 0; /* region, output, ...: the config has its own */
	if (err)
		snprintf(why, len, "line %u: %s is too long", lineno, name);
	return err;
}

/* A key or secret is sent in a header: no control characters, no ':' in the key. */
static int check_values(const struct aod_upload_creds *c, const char *where, char *why,
			size_t len)
{
	const char *vals[] = { c->access_key, c->secret_key, c->session_token };

	if (!c->access_key[0] || !c->secret_key[0]) {
		snprintf(why, len, "%s: no %s", where,
			 !c->access_key[0] ? "access key id" : "secret access key");
		return -ENOKEY;
	}
	if (strchr(c->access_key, ':')) {
		snprintf(why, len, "%s: the access key id contains ':'", where);
		return -EINVAL;
	}
	for (size_t i = 0; i < 3; i++)
		for (const char *p = vals[i]; *p; p++)
			if ((unsigned char)*p < ' ' || *p == 0x7f) {
				snprintf(why, len, "%s: a control character in a value", where);
				return -EINVAL;
			}
	return 0;
}

int aod_upload_creds_parse(const char *text, struct aod_upload_creds *c, char *why, size_t len)
{
	char *copy = strdup(text), *save = NULL, *line;
	unsigned lineno = 0;
	int err = 0;

	memset(c, 0, sizeof(*c));
	if (!copy)
		return -ENOMEM;
	/* strsep keeps empty lines, so line numbers stay right */
	for (char *rest = copy; !err && (line = strsep(&rest, "\n"));)
		err = parse_line(line, ++lineno, c, why, len);
	(void)save;
	explicit_bzero(copy, strlen(text));
	free(copy);
	if (!err)
		err = check_values(c, "the file", why, len);
	if (err)
		aod_upload_creds_wipe(c);
	return err;
}

static int load_file(const char *file, struct aod_upload_creds *c, char *why, size_t len)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf = NULL;
	struct stat st;
	ssize_t n = 0, r;
	int err;

	if (fd < 0) {
		err = -errno;
		snprintf(why, len, "credentials file %s: %s", file, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		snprintf(why, len, "credentials file %s: refused: it must be a regular file only "
			 "its owner can read (mode 0600), it has mode %04o", file,
			 (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	buf = calloc(1, CREDS_MAX_BYTES + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n < CREDS_MAX_BYTES && (r = read(fd, buf + n, CREDS_MAX_BYTES - (size_t)n)) > 0)
		n += r;
	close(fd);
	err = aod_upload_creds_parse(buf, c, why, len);
	if (err) {
		char inner[160];

		snprintf(inner, sizeof(inner), "%s", why);
		snprintf(why, len, "credentials file %s: %s", file, inner);
	}
	explicit_bzero(buf, (size_t)n);
	free(buf);
	return err;
}

static int load_env(struct aod_upload_creds *c, char *why, size_t len)
{
	const char *key = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");

	memset(c, 0, sizeof(*c));
	if (!key || !secret || !*key || !*secret) {
		snprintf(why, len, "no credentials: upload.credentials_file is not set and %s is "
			 "not in the environment",
			 !key || !*key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY");
		return -ENOKEY;
	}
	if (take(c->access_key, sizeof(c->access_key), key) ||
	    take(c->secret_key, sizeof(c->secret_key), secret) ||
	    (token && take(c->session_token, sizeof(c->session_token), token))) {
		aod_upload_creds_wipe(c);
		snprintf(why, len, "AWS_* credentials in the environment are too long");
		return -E2BIG;
	}
	return check_values(c, "the AWS_* environment", why, len);
}

int aod_upload_creds_load(const char *file, struct aod_upload_creds *c, char *why, size_t len)
{
	return file && file[0] ? load_file(file, c, why, len) : load_env(c, why, len);
}
