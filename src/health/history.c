// SPDX-License-Identifier: MIT
/*
 * The health history on disk: zstd-compressed JSON reports in one 0700
 * directory, listed by name (time order), saved atomically, loaded back,
 * and kept to max_files (0 = all).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "common/fsutil.h"
#include "config/config.h"
#include "health/history.h"

#define PREFIX "report-"
#define SUFFIX ".json.zst"
#define ID_CHARS "0123456789TZ.-"

bool aod_history_name_parse(const char *file, char *id, size_t len)
{
	size_t n = strlen(file), pl = strlen(PREFIX), sl = strlen(SUFFIX), idl;

	if (n <= pl + sl || strncmp(file, PREFIX, pl) || strcmp(file + n - sl, SUFFIX))
		return false;
	idl = n - pl - sl;
	if (idl >= AOD_HEALTH_ID_LEN || strspn(file + pl, ID_CHARS) < idl || file[pl] < '0' ||
	    file[pl] > '9')
		return false;
	if (id) {
		if (idl >= len)
			return false;
		memcpy(id, file + pl, idl);
		id[idl] = '\0';
	}
	return true;
}

size_t aod_history_to_delete(size_t nfiles, uint32_t max_files)
{
	return max_files && nfiles > max_files ? nfiles - max_files : 0;
}

static int newest_first(const void *a, const void *b)
{
	return -strcmp(((const struct aod_hist_entry *)a)->id, ((const struct aod_hist_entry *)b)->id);
}

static int append(struct aod_hist_entry **list, size_t *n, size_t *cap, const struct aod_hist_entry *e)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 32;
		struct aod_hist_entry *grown = realloc(*list, c * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		*list = grown;
		*cap = c;
	}
	(*list)[(*n)++] = *e;
	return 0;
}

int aod_history_list(const char *dir, struct aod_hist_entry **out, size_t *n)
{
	struct aod_hist_entry *list = NULL, e;
	size_t cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	int err = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		memset(&e, 0, sizeof(e));
		if (!aod_history_name_parse(de->d_name, e.id, sizeof(e.id)) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		snprintf(e.file, sizeof(e.file), "%s", de->d_name);
		e.size = (uint64_t)st.st_size;
		e.mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
		err = append(&list, n, &cap, &e);
	}
	closedir(d);
	if (err) {
		free(list);
		*n = 0;
		return err;
	}
	qsort(list, *n, sizeof(*list), newest_first);
	*out = list;
	return 0;
}

int aod_history_retain(const char *dir, uint32_t max_files, size_t *deleted)
{
	struct aod_hist_entry *list;
	size_t n, del;
	int err = aod_history_list(dir, &list, &n), dfd;

	*deleted = 0;
	if (err)
		return err;
	del = aod_history_to_delete(n, max_files);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		err = -errno;
	for (size_t i = n - del; !err && i < n; i++) {   /* newest first: the tail is oldest */
		if (unlinkat(dfd, list[i].file, 0) < 0 && errno != ENOENT)
			err = -errno;
		else
			(*deleted)++;
	}
	if (dfd >= 0)
		close(dfd);
	free(list);
	return err;
}

static int write_all(int fd, const void *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, (const char *)buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return 0;
}

static int compress_report(const json_t *report, int level, void **out, size_t *len)
{
	char *text = json_dumps(report, JSON_COMPACT);
	size_t tl, bound, n;
	void *buf;

	if (!text)
		return -ENOMEM;
	tl = strlen(text);
	bound = ZSTD_compressBound(tl);
	buf = malloc(bound);
	if (!buf) {
		free(text);
		return -ENOMEM;
	}
	n = ZSTD_compress(buf, bound, text, tl, level);
	free(text);
	if (ZSTD_isError(n)) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Write buf to dir/.name.tmp, fsync, rename to dir/name (over an existing one only if replace). */
static int write_atomic(const char *dir, const char *name, const void *buf, size_t len, bool replace)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	int fd, err;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(final, sizeof(final), "%s/%s", dir, name);
	if (!replace && access(final, F_OK) == 0)
		return -EEXIST;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, buf, len);
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, final) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int aod_history_save(const char *dir, const json_t *report, uint32_t max_files, int zstd_level,
		     size_t *deleted)
{
	const char *id = json_string_value(json_object_get(report, "id"));
	char name[AOD_HEALTH_FILE_LEN];
	void *buf;
	size_t len;
	int err;

	*deleted = 0;
	if (!id || snprintf(name, sizeof(name), PREFIX "%s" SUFFIX, id) >= (int)sizeof(name) ||
	    !aod_history_name_parse(name, NULL, 0))
		return -EINVAL;
	err = aod_mkdir_p(dir, 0700);
	if (err)
		return err;
	err = compress_report(report, zstd_level, &buf, &len);
	if (err)
		return err;
	err = write_atomic(dir, name, buf, len, false);
	free(buf);
	return err ? err : aod_history_retain(dir, max_files, deleted);
}

int aod_history_write_latest(const char *dir, const json_t *report)
{
	char *text;
	int err = aod_mkdir_p(dir, 0700);

	if (err)
		return err;
	text = json_dumps(report, JSON_INDENT(1));
	if (!text)
		return -ENOMEM;
	err = write_atomic(dir, AOD_HEALTH_LATEST_FILE, text, strlen(text), true);
	free(text);
	return err;
}

static bool small_index(const char *arg, size_t *k)
{
	char *end;
	unsigned long v;

	if (!arg[0] || strlen(arg) > 6 || strspn(arg, "0123456789") != strlen(arg))
		return false;
	v = strtoul(arg, &end, 10);
	*k = v;
	return v >= 1;
}

int aod_history_resolve(const char *dir, const char *arg, char *id, size_t len)
{
	struct aod_hist_entry *list;
	size_t n, k;
	int err;

	if (aod_history_name_parse(arg, id, len))
		return 0;
	err = aod_history_list(dir, &list, &n);
	if (err)
		return err;
	err = -ENOENT;
	if (!strcmp(arg, "latest") && n) {
		snprintf(id, len, "%s", list[0].id);
		err = 0;
	} else if (small_index(arg, &k)) {
		if (k <= n) {
			snprintf(id, len, "%s", list[k - 1].id);
			err = 0;
		}
	} else {
		for (size_t i = 0; i < n && err; i++)
			if (!strcmp(list[i].id, arg)) {
				snprintf(id, len, "%s", arg);
				err = 0;
			}
	}
	free(list);
	return err;
}

static int decompress(const char *buf, size_t len, char **out, size_t *outlen)
{
	unsigned long long size = ZSTD_getFrameContentSize(buf, len);
	char *text;
	size_t n;

	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
	    size > AOD_HEALTH_MAX_REPORT)
		return -EINVAL;
	text = malloc(size + 1);
	if (!text)
		return -ENOMEM;
	n = ZSTD_decompress(text, size, buf, len);
	if (ZSTD_isError(n) || n != size) {
		free(text);
		return -EINVAL;
	}
	text[n] = '\0';
	*out = text;
	*outlen = n;
	return 0;
}

int aod_history_load(const char *dir, const char *id, json_t **out)
{
	char path[PATH_MAX], *raw, *text;
	size_t rl, tl;
	json_error_t jerr;
	int err;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/" PREFIX "%s" SUFFIX, dir, id);
	err = aod_read_text(path, AOD_HEALTH_MAX_REPORT, &raw, &rl);
	if (err)
		return err;
	err = decompress(raw, rl, &text, &tl);
	free(raw);
	if (err)
		return err;
	*out = json_loadb(text, tl, 0, &jerr);
	free(text);
	return *out && json_is_object(*out) ? 0 : (json_decref(*out), *out = NULL, -EINVAL);
}

int aod_history_load_recent(const char *dir, size_t max, json_t ***out, size_t *n,
			    size_t *unreadable)
{
	struct aod_hist_entry *list;
	size_t count, take;
	json_t **reports;
	int err = aod_history_list(dir, &list, &count);

	*out = NULL;
	*n = *unreadable = 0;
	if (err)
		return err;
	take = count < max ? count : max;
	reports = calloc(take ? take : 1, sizeof(*reports));
	if (!reports) {
		free(list);
		return -ENOMEM;
	}
	for (size_t i = take; i-- > 0;) {      /* list is newest first; out is oldest first */
		json_t *r;

		if (aod_history_load(dir, list[i].id, &r) == 0)
			reports[(*n)++] = r;
		else
			(*unreadable)++;
	}
	free(list);
	*out = reports;
	return 0;
}

void aod_history_free_reports(json_t **reports, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(reports[i]);
	free(reports);
}
