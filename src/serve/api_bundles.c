// SPDX-License-Identifier: MIT
/*
 * /api/v1/bundles: the finished bundles in <aod_output_dir>/batches (file
 * names and stat, as `aod bundles`), one bundle's manifest.json and
 * summary.txt (read out of the tar.zst with libarchive, at most 1 MiB
 * each), and its bytes. A bundle is named by its id, the number in its
 * file name: nothing of the request ever becomes part of a path; the file
 * is found by listing the directory and opened relative to it without
 * following links.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/bundle.h"
#include "serve/api_int.h"

struct bundle_file {
	struct aod_bundle_name name;
	char file[AOD_BUNDLE_STEM_LEN + 16];
	uint64_t size;
};

/* Calls fn for each finished bundle; fn returning non-zero stops. 0, or -errno. */
static int each_bundle(const char *output_dir, int (*fn)(void *ctx, int dfd,
							 const struct bundle_file *b),
		       void *ctx)
{
	int dfd = aod_bundle_dir_open(output_dir, false), stop = 0;
	struct dirent *de;
	DIR *dir;

	if (dfd < 0)
		return dfd;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	while (!stop && (de = readdir(dir))) {
		struct bundle_file b;
		struct stat st;

		if (strlen(de->d_name) >= sizeof(b.file) || !aod_bundle_name_parse(de->d_name, &b.name) ||
		    fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		memcpy(b.file, de->d_name, strlen(de->d_name) + 1); /* length checked above */
		b.size = (uint64_t)st.st_size;
		stop = fn(ctx, dirfd(dir), &b);
	}
	closedir(dir);
	return stop < 0 ? stop : 0;
}

/* ids are up to 2^64-1: strings, so that JavaScript keeps every digit */
static json_t *bundle_obj(const struct bundle_file *b)
{
	char id[24];

	snprintf(id, sizeof(id), "%llu", (unsigned long long)b->name.id);
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:I}", "id", id, "file", b->file, "time_ns",
			 (json_int_t)b->name.id, "source", b->name.source, "type", b->name.type,
			 "size", (json_int_t)b->size);
}

static int add_one(void *ctx, int dfd, const struct bundle_file *b)
{
	(void)dfd;
	return json_array_append_new(ctx, bundle_obj(b)) ? -ENOMEM : 0;
}

static int newest_first(const void *x, const void *y)
{
	json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	json_int_t ta = json_integer_value(json_object_get(a, "time_ns"));
	json_int_t tb = json_integer_value(json_object_get(b, "time_ns"));

	return ta == tb ? 0 : (uint64_t)ta > (uint64_t)tb ? -1 : 1;
}

static enum MHD_Result dir_error(struct api_req *r, int err)
{
	if (err == -ENOENT)
		return api_send_json(r->conn, MHD_HTTP_OK, json_pack("{s:[]}", "items"));
	return api_send_error(r->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read %s/%s: %s",
			      r->cfg->output_dir, AOD_BUNDLE_DIR, strerror(-err));
}

enum MHD_Result api_bundles_list(struct api_req *r)
{
	json_t *list = json_array(), *sorted = json_array(), **v;
	size_t n;
	int err = list ? each_bundle(r->cfg->output_dir, add_one, list) : -ENOMEM;

	if (err) {
		json_decref(list);
		json_decref(sorted);
		return dir_error(r, err);
	}
	n = json_array_size(list);
	v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++)
		v[i] = json_array_get(list, i);
	if (v)
		qsort(v, n, sizeof(*v), newest_first);
	for (size_t i = 0; v && i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(list);
	return api_send_json(r->conn, MHD_HTTP_OK, json_pack("{s:o}", "items", sorted));
}

/* ---- one bundle ---------------------------------------------------------- */

struct find {
	uint64_t id;
	bool found;
	struct bundle_file b;
	int fd; /* open bundle, when asked */
	bool open;
};

static int find_one(void *ctx, int dfd, const struct bundle_file *b)
{
	struct find *f = ctx;

	if (b->name.id != f->id)
		return 0;
	f->found = true;
	f->b = *b;
	if (f->open && (f->fd = openat(dfd, b->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	return 1;
}

/* "ID" or "ID/download": id, the suffix after it. false: not an id. */
static bool parse_id(const char *rest, uint64_t *id, const char **tail)
{
	unsigned long long v = 0;
	const char *p = rest;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (unsigned)(*p - '0')) / 10 || p - rest >= 20)
			return false;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (p == rest || (*p && *p != '/'))
		return false;
	*id = v;
	*tail = p;
	return true;
}

/* manifest.json and summary.txt of the archive at fd (read and closed). */
static int read_members(int fd, char **manifest, size_t *mlen, char **summary, size_t *slen,
			char *why, size_t len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r, err = 0;

	if (!a) {
		close(fd);
		return -ENOMEM;
	}
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK) {
		snprintf(why, len, "%s", archive_error_string(a));
		archive_read_free(a);
		close(fd);
		return -EIO;
	}
	while ((!*manifest || !*summary) && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		const char *slash = name ? strchr(name, '/') : NULL;
		char **out = NULL;
		size_t *olen = NULL;
		la_ssize_t n = 0;

		if (slash && !strcmp(slash + 1, "manifest.json"))
			out = manifest, olen = mlen;
		else if (slash && !strcmp(slash + 1, "summary.txt"))
			out = summary, olen = slen;
		if (!out || *out)
			continue;
		*out = malloc(API_TEXT_MAX);
		if (!*out) {
			err = -ENOMEM;
			break;
		}
		*olen = 0;
		while (*olen < API_TEXT_MAX &&
		       (n = archive_read_data(a, *out + *olen, API_TEXT_MAX - *olen)) > 0)
			*olen += (size_t)n;
		if (n < 0) {
			snprintf(why, len, "%s", archive_error_string(a));
			err = -EIO;
			break;
		}
	}
	archive_read_free(a);
	close(fd);
	return err;
}

static enum MHD_Result send_detail(struct api_req *r, struct find *f)
{
	char *manifest = NULL, *summary = NULL, why[256] = "";
	size_t mlen = 0, slen = 0;
	json_t *o, *m = NULL;
	int err = read_members(f->fd, &manifest, &mlen, &summary, &slen, why, sizeof(why));

	if (err) {
		free(manifest);
		free(summary);
		return api_send_error(r->conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				      "bundle %s: cannot read it: %s", f->b.file,
				      why[0] ? why : strerror(-err));
	}
	o = bundle_obj(&f->b);
	if (manifest)
		m = json_loadb(manifest, mlen, 0, NULL);
	json_object_set_new(o, "manifest", m ? m : json_null());
	json_object_set_new(o, "summary", summary ? api_json_text(summary, slen) : json_null());
	json_object_set_new(o, "summary_truncated", json_boolean(slen == API_TEXT_MAX));
	free(manifest);
	free(summary);
	return api_send_json(r->conn, MHD_HTTP_OK, o);
}

static enum MHD_Result send_file(struct api_req *r, struct find *f)
{
	struct MHD_Response *resp = MHD_create_response_from_fd(f->b.size, f->fd);
	char disp[AOD_BUNDLE_STEM_LEN + 64];
	enum MHD_Result ret;

	if (!resp) {
		close(f->fd);
		return MHD_NO;
	}
	/* the name passed aod_bundle_name_parse: [a-z0-9_.] only */
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", f->b.file);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/zstd");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp); /* closes the fd once sent */
	return ret;
}

enum MHD_Result api_bundle(struct api_req *r)
{
	struct find f = { .fd = -1, .open = true };
	const char *tail;
	struct stat st;
	int err;

	if (!parse_id(r->rest, &f.id, &tail) || (*tail && strcmp(tail, "/download")))
		return api_send_error(r->conn, MHD_HTTP_NOT_FOUND,
				      "no such bundle: expected /api/v1/bundles/ID[/download] with "
				      "ID the number from /api/v1/bundles");
	err = each_bundle(r->cfg->output_dir, find_one, &f);
	if (err && err != -ENOENT)
		return api_send_error(r->conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				      "cannot read the bundle directory: %s", strerror(-err));
	if (!f.found || f.fd < 0)
		return api_send_error(r->conn, MHD_HTTP_NOT_FOUND,
				      "no bundle with id %llu (see /api/v1/bundles)",
				      (unsigned long long)f.id);
	/* the size the response promises is the size of what was opened */
	if (fstat(f.fd, &st) || !S_ISREG(st.st_mode)) {
		close(f.fd);
		return api_send_error(r->conn, MHD_HTTP_NOT_FOUND, "bundle %s vanished", f.b.file);
	}
	f.b.size = (uint64_t)st.st_size;
	if (*tail)
		return send_file(r, &f);
	return send_detail(r, &f);
}
