// SPDX-License-Identifier: MIT
/* anomalies.jsonl with size-bounded rotation (anomaly_log.h). */
#include "agent/anomaly_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

void aod_anomaly_log_init(struct aod_anomaly_log *l)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
}

void aod_anomaly_log_close(struct aod_anomaly_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

void aod_anomaly_log_configure(struct aod_anomaly_log *l, const char *dir, uint64_t max_bytes)
{
	if (strcmp(l->dir, dir)) {
		aod_anomaly_log_close(l);
		snprintf(l->dir, sizeof(l->dir), "%s", dir);
	}
	l->max_bytes = max_bytes;
}

static void log_path(const struct aod_anomaly_log *l, int gen, char *buf, size_t len)
{
	if (gen)
		snprintf(buf, len, "%s/%s.%d", l->dir, AOD_ANOMALY_LOG, gen);
	else
		snprintf(buf, len, "%s/%s", l->dir, AOD_ANOMALY_LOG);
}

static int open_live(struct aod_anomaly_log *l)
{
	char path[4200];
	struct stat st;

	log_path(l, 0, path, sizeof(path));
	l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l->fd < 0)
		return -errno;
	l->size = fstat(l->fd, &st) ? 0 : (uint64_t)st.st_size;
	return 0;
}

/* .2 -> .3, .1 -> .2, live -> .1 (the old .3 is replaced). */
static int rotate(struct aod_anomaly_log *l)
{
	char from[4200], to[4200];

	aod_anomaly_log_close(l);
	for (int gen = AOD_ANOMALY_LOG_KEEP; gen > 0; gen--) {
		log_path(l, gen - 1, from, sizeof(from));
		log_path(l, gen, to, sizeof(to));
		if (rename(from, to) && errno != ENOENT)
			return -errno;
	}
	l->rotations++;
	return open_live(l);
}

int aod_anomaly_log_append(struct aod_anomaly_log *l, const char *line, size_t len)
{
	uint64_t rotate_at = l->max_bytes / (AOD_ANOMALY_LOG_KEEP + 1);
	struct iovec iov[2] = { { (void *)line, len }, { "\n", 1 } };
	ssize_t n;
	int err;

	if (l->fd < 0 && (err = open_live(l)))
		return err;
	if (rotate_at && l->size && l->size + len + 1 > rotate_at && (err = rotate(l)))
		return err;
	n = writev(l->fd, iov, 2);
	if (n < 0)
		return -errno;
	l->size += (uint64_t)n;
	return n == (ssize_t)(len + 1) ? 0 : -EIO;
}

uint64_t aod_anomaly_log_bytes(const char *dir)
{
	struct aod_anomaly_log l;
	uint64_t total = 0;
	char path[4200];
	struct stat st;

	aod_anomaly_log_init(&l);
	snprintf(l.dir, sizeof(l.dir), "%s", dir);
	for (int gen = 0; gen <= AOD_ANOMALY_LOG_KEEP; gen++) {
		log_path(&l, gen, path, sizeof(path));
		if (!lstat(path, &st) && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	}
	return total;
}
