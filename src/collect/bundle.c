// SPDX-License-Identifier: MIT
/*
 * The bundle writer: plan what fits under the size cap, then stream the
 * staging directory and the generated texts into a tar.zst that appears
 * under its final name only once complete.
 */
#include "collect/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <jansson.h>

#include "collect/events_file.h"
#include "collect/manifest.h"
#include "collect/summary.h"
#include "collect/zstd_sink.h"
#include "common/log.h"
#include "common/timeutil.h"

#define MIB (1024ULL * 1024ULL)
#define COPY_CHUNK (64 * 1024)

/*
 * What a tar entry can cost beyond its data: a 512-byte header, up to 511
 * bytes of padding, and a pax extended header (a header plus a block) when
 * a name does not fit ustar. Plus the end-of-archive blocks.
 */
#define TAR_ENTRY_OVERHEAD 2048
#define TAR_END_OVERHEAD 1024
/* Room for the manifest and summary to differ from their worst-case drafts
 * (a count of events written can have more digits than the draft's 0). */
#define TEXT_SLACK 1024

static const char *const reserved_files[] = {
	"manifest.json", "summary.txt", "events.jsonl", "aod-status.json",
};

/* ---- names ---------------------------------------------------------- */

static const char *parse_token(const char *s, char *out, size_t outlen, char stop)
{
	size_t n = 0;

	while ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')) {
		if (n + 1 >= outlen)
			return NULL;
		out[n++] = *s++;
	}
	out[n] = '\0';
	return n && *s == stop ? s : NULL;
}

bool aod_bundle_name_parse(const char *filename, struct aod_bundle_name *out)
{
	struct aod_bundle_name name;
	const char *s = filename;
	uint64_t id = 0;
	int digits = 0;

	if (strncmp(s, "aod_", 4))
		return false;
	for (s += 4; *s >= '0' && *s <= '9'; s++, digits++) {
		unsigned d = (unsigned)(*s - '0');

		if (id > (UINT64_MAX - d) / 10)
			return false;
		id = id * 10 + d;
	}
	if (!digits || *s++ != '_')
		return false;
	s = parse_token(s, name.source, sizeof(name.source), '_');
	if (!s)
		return false;
	s = parse_token(s + 1, name.type, sizeof(name.type), '.');
	if (!s || strcmp(s, AOD_BUNDLE_SUFFIX))
		return false;
	name.id = id;
	if (out)
		*out = name;
	return true;
}

int aod_bundle_stem(const struct aod_anomaly *a, char *buf, size_t len)
{
	int n = snprintf(buf, len, "aod_%llu_%s_%s", (unsigned long long)a->id,
			 aod_source_name(a->source), aod_rule_type_name(a->type));

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

uint64_t aod_bundle_max_bytes(const struct aod_config *cfg)
{
	double mb = cfg->watcher.max_bundle_mb;

	if (mb <= 0)
		mb = cfg->cleanup.max_total_log_size_mb / 4;
	return mb > 0 ? (uint64_t)(mb * (double)MIB) : 0;
}

/* ---- directories ---------------------------------------------------- */

/* mkdir -p for the output directory; new components get 0755. */
static int make_parents(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			break;
	}
	return 0;
}

int aod_bundle_dir_open(const char *output_dir, bool create)
{
	int ofd, dfd, err;

	if (create && (err = make_parents(output_dir)) < 0)
		return err;
	ofd = open(output_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ofd < 0)
		return -errno;
	if (create && mkdirat(ofd, AOD_BUNDLE_DIR, 0700) < 0 && errno != EEXIST) {
		err = -errno;
		close(ofd);
		return err;
	}
	dfd = openat(ofd, AOD_BUNDLE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	err = -errno;
	close(ofd);
	if (dfd < 0)
		return err;
	/* Bundles hold kernel logs and process tables: only root may look. */
	if (create && fchmod(dfd, 0700) < 0) {
		err = -errno;
		close(dfd);
		return err;
	}
	return dfd;
}

int aod_bundle_staging_create(const char *output_dir, uint64_t id, char *path, size_t len)
{
	char name[64];
	int bfd, sfd, err, n;

	snprintf(name, sizeof(name), AOD_BUNDLE_STAGING_PREFIX "%llu", (unsigned long long)id);
	n = snprintf(path, len, "%s/%s/%s", output_dir, AOD_BUNDLE_DIR, name);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	bfd = aod_bundle_dir_open(output_dir, true);
	if (bfd < 0) {
		log_err("bundle: cannot create %s/%s: %s", output_dir, AOD_BUNDLE_DIR, strerror(-bfd));
		return bfd;
	}
	if (mkdirat(bfd, name, 0700) < 0) {
		err = -errno;
		log_err("bundle: cannot create staging dir %s: %s", path, strerror(-err));
		close(bfd);
		return err;
	}
	sfd = openat(bfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	err = -errno;
	close(bfd);
	if (sfd < 0 || fchmod(sfd, 0700) < 0) {
		err = sfd < 0 ? err : -errno;
		log_err("bundle: cannot open staging dir %s: %s", path, strerror(-err));
		if (sfd >= 0)
			close(sfd);
		return err;
	}
	return sfd;
}

int aod_bundle_remove_tree_at(int parent, const char *name)
{
	struct dirent *de;
	struct stat st;
	int fd, err = 0;
	DIR *dir;

	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR || errno == ELOOP ? (unlinkat(parent, name, 0) ? -errno : 0)
							  : -errno;
	dir = fdopendir(fd);
	if (!dir) {
		err = -errno;
		close(fd);
		return err;
	}
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			err = aod_bundle_remove_tree_at(fd, de->d_name);
		else if (unlinkat(fd, de->d_name, 0) < 0)
			err = -errno;
		if (err < 0)
			break;
	}
	closedir(dir);
	if (err < 0)
		return err;
	return unlinkat(parent, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

int aod_bundle_staging_remove(const char *path)
{
	return aod_bundle_remove_tree_at(AT_FDCWD, path);
}

/* ---- planning ------------------------------------------------------- */

static bool is_reserved_file(const char *file)
{
	for (size_t i = 0; i < sizeof(reserved_files) / sizeof(reserved_files[0]); i++)
		if (!strcmp(file, reserved_files[i]))
			return true;
	return false;
}

/* Find each action's file in staging; record why one cannot go in. */
static void plan_actions(const struct aod_bundle_input *in, int sfd, struct aod_bundle_plan *plan)
{
	for (size_t i = 0; i < in->nresults; i++) {
		const char *file = in->results[i].file;
		struct aod_bundle_file_plan *fp = &plan->actions[i];
		struct stat st;

		memset(fp, 0, sizeof(*fp));
		if (!file[0])
			snprintf(fp->problem, sizeof(fp->problem), "no output file");
		else if (strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, ".."))
			snprintf(fp->problem, sizeof(fp->problem), "bad file name");
		else if (is_reserved_file(file))
			snprintf(fp->problem, sizeof(fp->problem), "file name is reserved by the bundle");
		else if (fstatat(sfd, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
			snprintf(fp->problem, sizeof(fp->problem), "no output (%s)", strerror(errno));
		else if (!S_ISREG(st.st_mode))
			snprintf(fp->problem, sizeof(fp->problem), "output is not a regular file");
		else {
			for (size_t j = 0; j < i; j++)
				if (plan->actions[j].present && !strcmp(in->results[j].file, file))
					snprintf(fp->problem, sizeof(fp->problem),
						 "same file as action %s", in->results[j].name);
			fp->present = !fp->problem[0];
			fp->size = fp->present ? (uint64_t)st.st_size : 0;
		}
	}
}

/* events.jsonl, as the collector streamed it into staging (or none). */
static void plan_events(int sfd, struct aod_bundle_plan *plan)
{
	struct stat st;

	plan->events.present = !fstatat(sfd, AOD_EVENTS_FILE, &st, AT_SYMLINK_NOFOLLOW) &&
			       S_ISREG(st.st_mode);
	plan->events.size = plan->events.present ? (uint64_t)st.st_size : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Water-filling: the largest level L such that sum(min(size_i, L)) fits
 * the budget. Files under L are kept whole; the largest are cut to L, so
 * one huge log cannot push out every small one. UINT64_MAX: all fit.
 */
static uint64_t fill_level(const uint64_t *sizes, size_t n, uint64_t budget)
{
	uint64_t *sorted, level = UINT64_MAX, left = budget;

	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return 0;
	memcpy(sorted, sizes, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		uint64_t rest = n - i;

		if (sorted[i] <= left / rest) {
			left -= sorted[i];
			continue;
		}
		level = left / rest;
		break;
	}
	free(sorted);
	return level;
}

/*
 * Cut the oldest events: move the cut to the next line start and count the
 * lines before it, reading events.jsonl from staging (never all at once).
 */
static int cut_events(int sfd, struct aod_bundle_plan *plan, size_t nevents)
{
	uint64_t cut = plan->events.cut, pos = 0;
	size_t dropped = 0;
	char buf[COPY_CHUNK];
	int fd, err = 0;

	plan->events_written = nevents;
	if (!cut)
		return 0;
	fd = openat(sfd, AOD_EVENTS_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (pos < plan->events.size) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)pos);

		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			cut = plan->events.size; /* shrunk: cut everything */
			break;
		}
		for (ssize_t i = 0; i < n; i++, pos++) {
			if (buf[i] != '\n')
				continue;
			dropped++;
			if (pos + 1 >= cut) {
				cut = pos + 1;
				goto done;
			}
		}
	}
done:
	close(fd);
	plan->events.cut = cut < plan->events.size ? cut : plan->events.size;
	plan->events_written = dropped < nevents ? nevents - dropped : 0;
	return err;
}

static int apply_budget(struct aod_bundle_plan *plan, size_t nresults, int sfd, size_t nevents)
{
	size_t n = 0;
	uint64_t *sizes = malloc((nresults + 1) * sizeof(*sizes));
	uint64_t level;
	int err;

	if (!sizes)
		return -ENOMEM;
	for (size_t i = 0; i < nresults; i++)
		if (plan->actions[i].present)
			sizes[n++] = plan->actions[i].size;
	sizes[n++] = plan->events.size;
	level = fill_level(sizes, n, plan->data_budget);
	free(sizes);

	plan->ncut = plan->cut_bytes = 0;
	for (size_t i = 0; i < nresults; i++) {
		struct aod_bundle_file_plan *fp = &plan->actions[i];

		fp->cut = fp->present && fp->size > level ? fp->size - level : 0;
	}
	plan->events.cut = plan->events.size > level ? plan->events.size - level : 0;
	err = cut_events(sfd, plan, nevents);
	if (err)
		log_warn("bundle %s: reading events.jsonl to cut it: %s", plan->stem, strerror(-err));
	for (size_t i = 0; i < nresults; i++)
		if (plan->actions[i].cut) {
			plan->ncut++;
			plan->cut_bytes += plan->actions[i].cut;
		}
	if (plan->events.cut) {
		plan->ncut++;
		plan->cut_bytes += plan->events.cut;
	}
	return 0;
}

struct bundle_texts {
	char *manifest;
	char *summary;
};

static void texts_free(struct bundle_texts *t)
{
	free(t->manifest);
	free(t->summary);
	memset(t, 0, sizeof(*t));
}

static int render_texts(const struct aod_bundle_input *in, const struct aod_bundle_plan *plan,
			struct bundle_texts *t)
{
	json_t *manifest = aod_manifest_build(in, plan);

	free(t->manifest);
	free(t->summary);
	t->manifest = manifest ? json_dumps(manifest, JSON_INDENT(2)) : NULL;
	json_decref(manifest);
	t->summary = aod_summary_build(in, plan);
	return t->manifest && t->summary ? 0 : -ENOMEM;
}

/*
 * Size the data budget. The tar stream T compresses to at most
 * T + T/256 + a frame's overhead (ZSTD_compressBound), so T is held to
 * (cap - 4 KiB) * 256/257; from that, take the fixed texts (drafted with
 * every file cut, their longest form) and the per-entry overhead.
 */
static int plan_budget(const struct aod_bundle_input *in, struct aod_bundle_plan *plan,
		       struct bundle_texts *t, int sfd)
{
	uint64_t tar_max, fixed, entries;
	size_t nactions = 0;
	int err;

	for (size_t i = 0; i < in->nresults; i++) {
		nactions += plan->actions[i].present;
		plan->actions[i].cut = plan->actions[i].size;
	}
	plan->events.cut = plan->events.size;
	plan->events_written = 0;
	plan->ncut = nactions + 1;
	plan->cut_bytes = UINT64_MAX / 2;
	plan->data_budget = UINT64_MAX / 2;
	err = render_texts(in, plan, t);
	if (err)
		return err;

	entries = 1 + 4 + nactions; /* top dir, manifest, summary, events, status */
	tar_max = plan->max_bytes > 4096 ? (plan->max_bytes - 4096) / 257 * 256 : 0;
	fixed = strlen(t->manifest) + strlen(t->summary) + TEXT_SLACK +
		(in->status_json ? strlen(in->status_json) : 0) +
		entries * TAR_ENTRY_OVERHEAD + TAR_END_OVERHEAD;
	if (fixed > tar_max) {
		log_err("bundle %s: max_bundle_mb (%llu bytes) cannot hold even the manifest and summary (%llu bytes)",
			plan->stem, (unsigned long long)plan->max_bytes, (unsigned long long)fixed);
		return -EFBIG;
	}
	plan->data_budget = tar_max - fixed;
	err = apply_budget(plan, in->nresults, sfd, in->nevents);
	return err ? err : render_texts(in, plan, t);
}

/* ---- tar ------------------------------------------------------------ */

struct tar {
	struct archive *a;
	struct aod_zstd_sink *zs;
	int zs_err;
	const char *stem;
	time_t mtime;
};

static int tar_header(struct tar *t, const char *name, bool dir, uint64_t size)
{
	struct archive_entry *e = archive_entry_new();
	char path[AOD_BUNDLE_STEM_LEN + AOD_ACTION_FILE_LEN + 2];
	int r;

	if (!e)
		return -ENOMEM;
	if (name)
		snprintf(path, sizeof(path), "%s/%s", t->stem, name);
	else
		snprintf(path, sizeof(path), "%s/", t->stem);
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0700 : 0600);
	archive_entry_set_size(e, dir ? 0 : (la_int64_t)size);
	archive_entry_set_mtime(e, t->mtime, 0);
	archive_entry_set_uid(e, getuid());
	archive_entry_set_gid(e, getgid());
	r = archive_write_header(t->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK) {
		log_err("bundle %s: tar header for %s: %s", t->stem, path, archive_error_string(t->a));
		return -EIO;
	}
	return 0;
}

static int tar_write(struct tar *t, const void *buf, size_t len)
{
	if (len && archive_write_data(t->a, buf, len) != (la_ssize_t)len) {
		log_err("bundle %s: tar write: %s", t->stem, archive_error_string(t->a));
		return -EIO;
	}
	return 0;
}

static int tar_add_text(struct tar *t, const char *name, const char *buf, size_t len)
{
	int err = tar_header(t, name, false, len);

	return err ? err : tar_write(t, buf, len);
}

/* An action's file without its first fp->cut bytes (the tail is kept). */
static int tar_add_file(struct tar *t, int sfd, const char *file, const struct aod_bundle_file_plan *fp)
{
	uint64_t left = fp->size - fp->cut;
	char *buf;
	int fd, err;

	fd = openat(sfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		log_err("bundle %s: cannot open %s: %s", t->stem, file, strerror(errno));
		return -errno;
	}
	buf = malloc(COPY_CHUNK);
	err = buf ? tar_header(t, file, false, left) : -ENOMEM;
	if (!err && fp->cut && lseek(fd, (off_t)fp->cut, SEEK_SET) < 0)
		err = -errno;
	while (!err && left) {
		ssize_t n = read(fd, buf, left < COPY_CHUNK ? left : COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Shrunk since planned: the tar writer pads the entry with zeros. */
			log_warn("bundle %s: %s ended %llu bytes early", t->stem, file,
				 (unsigned long long)left);
			err = n < 0 ? -errno : 0;
			break;
		}
		err = tar_write(t, buf, (size_t)n);
		left -= (uint64_t)n;
	}
	free(buf);
	close(fd);
	return err;
}

/* libarchive's output: the tar stream, into the zstd sink. */
static la_ssize_t tar_to_zstd(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct tar *t = ctx;

	t->zs_err = aod_zstd_sink_write(t->zs, buf, len);
	if (t->zs_err) {
		archive_set_error(a, -t->zs_err, "zstd: %s", strerror(-t->zs_err));
		return -1;
	}
	return (la_ssize_t)len;
}

static int tar_zstd_end(struct archive *a, void *ctx)
{
	struct tar *t = ctx;

	t->zs_err = aod_zstd_sink_finish(t->zs);
	if (t->zs_err) {
		archive_set_error(a, -t->zs_err, "zstd: %s", strerror(-t->zs_err));
		return ARCHIVE_FATAL;
	}
	return ARCHIVE_OK;
}

/* expected: the tar stream's size as planned (an upper bound), which sizes
 * the compressor's window (zstd_sink.h). */
static int tar_open(struct tar *t, int fd, int level, uint64_t expected)
{
	t->zs = aod_zstd_sink_new(fd, level, expected);
	t->a = t->zs ? archive_write_new() : NULL;
	if (!t->a) {
		aod_zstd_sink_free(t->zs);
		t->zs = NULL;
		return -ENOMEM;
	}
	if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(t->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
	    archive_write_open(t->a, t, NULL, tar_to_zstd, tar_zstd_end) != ARCHIVE_OK) {
		log_err("bundle %s: cannot start tar.zst: %s", t->stem, archive_error_string(t->a));
		archive_write_free(t->a);
		aod_zstd_sink_free(t->zs);
		t->a = NULL;
		t->zs = NULL;
		return -EIO;
	}
	return 0;
}

/* What the tar stream will hold, as planned: every entry's data and header
 * room, and the end. Files only shrink after planning (see tar_add_file). */
static uint64_t tar_expected(const struct aod_bundle_input *in, const struct aod_bundle_plan *plan,
			     const struct bundle_texts *tx)
{
	uint64_t n = strlen(tx->manifest) + strlen(tx->summary) + TAR_END_OVERHEAD +
		     (in->status_json ? strlen(in->status_json) : 0) + 5 * TAR_ENTRY_OVERHEAD;

	if (plan->events.present)
		n += plan->events.size - plan->events.cut;
	for (size_t i = 0; i < in->nresults; i++)
		if (plan->actions[i].present)
			n += plan->actions[i].size - plan->actions[i].cut + TAR_ENTRY_OVERHEAD;
	return n;
}

static int write_entries(struct tar *t, const struct aod_bundle_input *in,
			 const struct aod_bundle_plan *plan, const struct bundle_texts *tx, int sfd)
{
	int err = tar_header(t, NULL, true, 0);

	if (!err)
		err = tar_add_text(t, "manifest.json", tx->manifest, strlen(tx->manifest));
	if (!err)
		err = tar_add_text(t, "summary.txt", tx->summary, strlen(tx->summary));
	if (!err && in->status_json)
		err = tar_add_text(t, "aod-status.json", in->status_json, strlen(in->status_json));
	if (!err && plan->events.present)
		err = tar_add_file(t, sfd, AOD_EVENTS_FILE, &plan->events);
	else if (!err)
		err = tar_add_text(t, AOD_EVENTS_FILE, "", 0);
	for (size_t i = 0; i < in->nresults && !err; i++)
		if (plan->actions[i].present)
			err = tar_add_file(t, sfd, in->results[i].file, &plan->actions[i]);
	return err;
}

/* Write the archive into the open (empty) fd; report the tar stream size. */
static int write_archive(int fd, const struct aod_bundle_input *in, const struct aod_bundle_plan *plan,
			 const struct bundle_texts *tx, int sfd, uint64_t *uncompressed)
{
	int level = in->cfg->watcher.zstd_level > 0 ? in->cfg->watcher.zstd_level : 3;
	struct tar t = { .stem = plan->stem, .mtime = (time_t)(plan->created_ns / AOD_NSEC_PER_SEC) };
	int err = tar_open(&t, fd, level, tar_expected(in, plan, tx));

	if (err)
		return err;
	err = write_entries(&t, in, plan, tx, sfd);
	if (archive_write_close(t.a) != ARCHIVE_OK && !err) {
		log_err("bundle %s: finishing tar.zst: %s", plan->stem, archive_error_string(t.a));
		err = t.zs_err ? t.zs_err : -EIO;
	}
	*uncompressed = aod_zstd_sink_bytes_in(t.zs);
	archive_write_free(t.a);
	aod_zstd_sink_free(t.zs);
	if (!err && fsync(fd) < 0) {
		err = -errno;
		log_err("bundle %s: fsync: %s", plan->stem, strerror(errno));
	}
	return err;
}

/* ---- the whole ------------------------------------------------------ */

static int plan_init(const struct aod_bundle_input *in, struct aod_bundle_plan *plan)
{
	struct utsname u;

	memset(plan, 0, sizeof(*plan));
	if (aod_bundle_stem(in->anomaly, plan->stem, sizeof(plan->stem)) < 0)
		return -ENAMETOOLONG;
	plan->created_ns = aod_wall_ns();
	if (uname(&u) == 0) {
		snprintf(plan->hostname, sizeof(plan->hostname), "%s", u.nodename);
		snprintf(plan->kernel, sizeof(plan->kernel), "%s", u.release);
	}
	plan->max_bytes = aod_bundle_max_bytes(in->cfg);
	plan->actions = calloc(in->nresults ? in->nresults : 1, sizeof(*plan->actions));
	return plan->actions ? 0 : -ENOMEM;
}

/* Create the hidden temporary archive file (0600 whatever the umask). */
static int open_tmp(int bfd, const char *tmpname)
{
	int fd;

	unlinkat(bfd, tmpname, 0); /* a leftover of ours with the same id */
	fd = openat(bfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0) {
		int err = -errno;

		close(fd);
		unlinkat(bfd, tmpname, 0);
		return err;
	}
	return fd;
}

static int publish(int bfd, const char *tmpname, const char *final)
{
	if (renameat2(bfd, tmpname, bfd, final, RENAME_NOREPLACE) < 0) {
		if (errno != EINVAL)
			return -errno;
		/* Filesystem without RENAME_NOREPLACE. */
		if (faccessat(bfd, final, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return -EEXIST;
		if (renameat(bfd, tmpname, bfd, final) < 0)
			return -errno;
	}
	if (fsync(bfd) < 0)
		return -errno;
	return 0;
}

static int write_and_publish(const struct aod_bundle_input *in, const struct aod_bundle_plan *plan,
			     const struct bundle_texts *tx, int sfd, struct aod_bundle_info *out)
{
	char tmpname[AOD_BUNDLE_STEM_LEN + 16], final[AOD_BUNDLE_STEM_LEN + 16];
	uint64_t uncompressed = 0;
	struct stat st;
	int bfd, fd, err, n;

	snprintf(tmpname, sizeof(tmpname), ".%s%s.tmp", plan->stem, AOD_BUNDLE_SUFFIX);
	snprintf(final, sizeof(final), "%s%s", plan->stem, AOD_BUNDLE_SUFFIX);
	n = snprintf(out->path, sizeof(out->path), "%s/%s/%s", in->cfg->output_dir, AOD_BUNDLE_DIR, final);
	if (n < 0 || (size_t)n >= sizeof(out->path))
		return -ENAMETOOLONG;
	bfd = aod_bundle_dir_open(in->cfg->output_dir, true);
	if (bfd < 0) {
		log_err("bundle %s: cannot open %s/%s: %s", plan->stem, in->cfg->output_dir,
			AOD_BUNDLE_DIR, strerror(-bfd));
		return bfd;
	}
	fd = open_tmp(bfd, tmpname);
	if (fd < 0) {
		err = fd;
		log_err("bundle %s: cannot create %s: %s", plan->stem, tmpname, strerror(-err));
		close(bfd);
		return err;
	}
	err = write_archive(fd, in, plan, tx, sfd, &uncompressed);
	if (!err && fstat(fd, &st) < 0)
		err = -errno;
	close(fd);
	if (!err && (err = publish(bfd, tmpname, final)) < 0)
		log_err("bundle %s: cannot rename %s to %s: %s", plan->stem, tmpname, final,
			strerror(-err));
	if (err)
		unlinkat(bfd, tmpname, 0);
	close(bfd);
	if (err) {
		out->path[0] = '\0';
		return err;
	}
	snprintf(out->stem, sizeof(out->stem), "%s", plan->stem);
	out->size = (uint64_t)st.st_size;
	out->uncompressed = uncompressed;
	out->ncut = plan->ncut;
	out->cut_bytes = plan->cut_bytes;
	if (out->size > plan->max_bytes)
		log_warn("bundle %s: %llu bytes, over max_bundle_mb (%llu bytes)", plan->stem,
			 (unsigned long long)out->size, (unsigned long long)plan->max_bytes);
	return 0;
}

int aod_bundle_write(const struct aod_bundle_input *in, struct aod_bundle_info *out)
{
	struct bundle_texts tx = { 0 };
	struct aod_bundle_plan plan;
	int sfd, err;

	memset(out, 0, sizeof(*out));
	if (!in->cfg || !in->anomaly || !in->staging_dir || (in->nresults && !in->results) ||
	    (in->nreconnects && !in->reconnects))
		return -EINVAL;
	err = plan_init(in, &plan);
	if (err) {
		free(plan.actions);
		return err;
	}
	sfd = open(in->staging_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0) {
		err = -errno;
		log_err("bundle %s: cannot open staging dir %s: %s", plan.stem, in->staging_dir,
			strerror(errno));
		free(plan.actions);
		return err;
	}
	plan_actions(in, sfd, &plan);
	plan_events(sfd, &plan);
	err = plan_budget(in, &plan, &tx, sfd);
	if (!err)
		err = write_and_publish(in, &plan, &tx, sfd, out);
	close(sfd);
	if (!err) {
		int rm = aod_bundle_staging_remove(in->staging_dir);

		if (rm < 0)
			log_warn("bundle %s: cannot remove staging dir %s: %s", plan.stem,
				 in->staging_dir, strerror(-rm));
		log_debug("bundle %s written: %s, %llu bytes%s", plan.stem, out->path,
			 (unsigned long long)out->size, plan.ncut ? " (outputs cut to fit max_bundle_mb)" : "");
	}
	texts_free(&tx);
	free(plan.actions);
	return err;
}
