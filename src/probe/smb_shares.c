// SPDX-License-Identifier: MIT
/* SMB tree id -> share name, from /proc/fs/cifs/DebugData (smb_shares.h). */
#include "probe/smb_shares.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"

#define MAX_SHARES 256
#define DEBUGDATA_MAX (1 << 20)
#define REREAD_NS AOD_NSEC_PER_SEC

/* ---- the parser ---- */

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* "0x..." at p (after the label); false if none. */
static bool hex_after(const char *line, const char *end, const char *label, uint64_t *out)
{
	const char *p = memmem(line, (size_t)(end - line), label, strlen(label));
	char buf[24];
	size_t n = 0;
	char *stop;

	if (!p)
		return false;
	p = skip_blanks(p + strlen(label), end);
	if (end - p < 3 || p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
		return false;
	for (p += 2; p < end && n + 1 < sizeof(buf) &&
		     ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'));
	     p++)
		buf[n++] = *p;
	buf[n] = '\0';
	if (!n)
		return false;
	*out = strtoull(buf, &stop, 16);
	return true;
}

/* A share line: "N) \\server\share Mounts: ..." or "N) IPC: \\server\IPC$ ...". */
static bool share_name_of(const char *line, const char *end, char *name, size_t len)
{
	const char *p = skip_blanks(line, end), *q;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == line || p >= end || *p != ')')
		return false;
	p = skip_blanks(p + 1, end);
	if (end - p > 4 && !memcmp(p, "IPC:", 4))
		p = skip_blanks(p + 4, end);
	if (end - p < 3 || p[0] != '\\' || p[1] != '\\')
		return false;
	for (q = p; q < end && *q != ' ' && *q != '\t'; q++)
		;
	if ((size_t)(q - p) >= len)
		return false;
	memcpy(name, p, (size_t)(q - p));
	name[q - p] = '\0';
	return true;
}

size_t aod_smb_shares_parse(const char *text, size_t len, struct aod_smb_share *out, size_t max)
{
	const char *p = text, *end = text + len;
	char share[AOD_SHARE_NAME_LEN] = "";
	uint64_t sesid = 0, v;
	size_t n = 0;

	while (p < end && n < max) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		if (hex_after(p, eol, "SessionId:", &v)) {
			sesid = v;
			share[0] = '\0';
		} else if (share_name_of(p, eol, share, sizeof(share))) {
			/* the tid follows on a later line of this share */
		} else if (share[0] && hex_after(p, eol, "tid:", &v) && v <= UINT32_MAX) {
			out[n].sesid = sesid;
			out[n].tid = (uint32_t)v;
			snprintf(out[n].name, sizeof(out[n].name), "%s", share);
			n++;
			share[0] = '\0';
		}
		p = eol + 1;
	}
	return n;
}

/* ---- the cache ---- */

struct aod_smb_shares {
	pthread_mutex_t lock;
	char path[256];
	uint64_t read_at;
	size_t n;
	struct aod_smb_share v[MAX_SHARES];
};

struct aod_smb_shares *aod_smb_shares_new(const char *path)
{
	struct aod_smb_shares *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->path, sizeof(s->path), "%s", path ? path : AOD_DEBUGDATA_PATH);
	return s;
}

void aod_smb_shares_free(struct aod_smb_shares *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Under the lock. A missing file (no cifs module) leaves the table empty. */
static void reread(struct aod_smb_shares *s)
{
	char *buf = malloc(DEBUGDATA_MAX);
	size_t got = 0;
	ssize_t r;
	int fd;

	s->read_at = aod_mono_ns();
	if (!buf)
		return;
	/* O_NONBLOCK: a procfs file, but nothing here may wait on a hung mount */
	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		while (got < DEBUGDATA_MAX && (r = read(fd, buf + got, DEBUGDATA_MAX - got)) > 0)
			got += (size_t)r;
		close(fd);
		s->n = aod_smb_shares_parse(buf, got, s->v, MAX_SHARES);
	}
	free(buf);
}

static const struct aod_smb_share *find(const struct aod_smb_shares *s, uint64_t sesid,
					uint32_t tid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].tid == tid && (!sesid || s->v[i].sesid == sesid))
			return &s->v[i];
	return NULL;
}

int aod_smb_share_name(struct aod_smb_shares *s, uint64_t sesid, uint32_t tid, char *buf,
		       size_t len)
{
	const struct aod_smb_share *sh;
	int rc = -ENOENT;

	if (len)
		buf[0] = '\0';
	if (!s || !tid)
		return -ENOENT;
	pthread_mutex_lock(&s->lock);
	sh = find(s, sesid, tid);
	if (!sh && aod_mono_ns() - s->read_at >= REREAD_NS) {
		reread(s);
		sh = find(s, sesid, tid);
	}
	if (sh) {
		snprintf(buf, len, "%s", sh->name);
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}
