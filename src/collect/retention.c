// SPDX-License-Identifier: MIT
#include "collect/retention.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/bundle.h"
#include "common/log.h"
#include "common/timeutil.h"

#define MIB (1024.0 * 1024.0)

const char *aod_retention_verdict_name(enum aod_retention_verdict v)
{
	switch (v) {
	case AOD_RETAIN_KEEP: return "keep";
	case AOD_RETAIN_DELETE_AGE: return "age";
	case AOD_RETAIN_DELETE_SIZE: return "size";
	case AOD_RETAIN_DELETE_EMERGENCY: return "emergency";
	case AOD_RETAIN_IGNORED: return "ignored";
	}
	return "unknown";
}

void aod_retention_policy_from_config(const struct aod_config *cfg, struct aod_retention_policy *p)
{
	double budget = cfg->cleanup.max_total_log_size_mb * MIB;
	double age = cfg->cleanup.max_log_age_days * 86400.0 * (double)AOD_NSEC_PER_SEC;

	p->budget_bytes = budget > 0 ? (uint64_t)budget : 0;
	p->max_age_ns = age > 0 ? (uint64_t)age : 0;
	p->interval_sec = cfg->cleanup.cleanup_interval_sec;
}

/* total >= pct % of budget, in integers (no rounding at the threshold). */
static bool at_least_pct(uint64_t total, uint64_t budget, unsigned pct)
{
	return (unsigned __int128)total * 100 >= (unsigned __int128)budget * pct;
}

static bool at_most_pct(uint64_t total, uint64_t budget, unsigned pct)
{
	return (unsigned __int128)total * 100 <= (unsigned __int128)budget * pct;
}

static int file_cmp(const struct aod_retention_file *fa, const struct aod_retention_file *fb)
{
	if (fa->mtime_ns != fb->mtime_ns)
		return fa->mtime_ns < fb->mtime_ns ? -1 : 1;
	return strcmp(fa->name, fb->name);
}

static int oldest_first(const void *a, const void *b, void *arg)
{
	const struct aod_retention_file *files = arg;

	return file_cmp(&files[*(const size_t *)a], &files[*(const size_t *)b]);
}

static int files_oldest_first(const void *a, const void *b)
{
	return file_cmp(a, b);
}

/* Indices of the kept (counted, not yet deleted) bundles, oldest first. */
static size_t kept_oldest_first(struct aod_retention_file *files, size_t n, size_t *order)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (files[i].verdict == AOD_RETAIN_KEEP)
			order[k++] = i;
	qsort_r(order, k, sizeof(*order), oldest_first, files);
	return k;
}

static void prune_by_size(const struct aod_retention_policy *p, struct aod_retention_file *files,
			  size_t n, uint64_t *total, bool emergency)
{
	unsigned target = emergency ? AOD_RETENTION_EMERGENCY_TARGET_PCT : AOD_RETENTION_TARGET_PCT;
	enum aod_retention_verdict why = emergency ? AOD_RETAIN_DELETE_EMERGENCY : AOD_RETAIN_DELETE_SIZE;
	size_t *order = malloc((n ? n : 1) * sizeof(*order));
	size_t k, i;

	if (!order) {
		/* Without memory to sort, fall back to one pass in input order:
		 * the budget still holds, only the order is not guaranteed. */
		for (i = 0; i < n && !at_most_pct(*total, p->budget_bytes, target); i++) {
			if (files[i].verdict != AOD_RETAIN_KEEP)
				continue;
			files[i].verdict = why;
			*total -= files[i].size;
		}
		return;
	}
	k = kept_oldest_first(files, n, order);
	for (i = 0; i < k && !at_most_pct(*total, p->budget_bytes, target); i++) {
		files[order[i]].verdict = why;
		*total -= files[order[i]].size;
	}
	free(order);
}

void aod_retention_decide(const struct aod_retention_policy *p, struct aod_retention_file *files,
			  size_t n, uint64_t now_ns, struct aod_retention_decision *d)
{
	uint64_t interval = p->interval_sec ? p->interval_sec : 1;
	uint64_t total = 0;

	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < n; i++) {
		struct aod_retention_file *f = &files[i];

		if (!aod_bundle_name_parse(f->name, NULL)) {
			f->verdict = AOD_RETAIN_IGNORED;
			continue;
		}
		d->total_before += f->size;
		if (p->max_age_ns && now_ns > f->mtime_ns && now_ns - f->mtime_ns > p->max_age_ns) {
			f->verdict = AOD_RETAIN_DELETE_AGE;
			continue;
		}
		f->verdict = AOD_RETAIN_KEEP;
		total += f->size;
	}

	if (p->budget_bytes) {
		d->emergency = at_least_pct(total, p->budget_bytes, AOD_RETENTION_EMERGENCY_PCT);
		if (at_least_pct(total, p->budget_bytes, AOD_RETENTION_TRIGGER_PCT))
			prune_by_size(p, files, n, &total, d->emergency);
	}

	for (size_t i = 0; i < n; i++) {
		if (files[i].verdict == AOD_RETAIN_KEEP || files[i].verdict == AOD_RETAIN_IGNORED)
			continue;
		d->ndelete++;
		d->delete_bytes += files[i].size;
		if (files[i].verdict == AOD_RETAIN_DELETE_AGE)
			d->age_bytes += files[i].size;
	}
	d->total_after = d->total_before - d->delete_bytes;
	d->next_check_sec = (uint32_t)(d->emergency ? interval / 4 : interval);
	if (d->next_check_sec < 1)
		d->next_check_sec = 1;
}

/* The finished bundles directly in batches/ (regular files only). */
static int scan_bundles(int dfd, struct aod_retention_file **out, size_t *count)
{
	struct aod_retention_file *files = NULL, *grown;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	int fd = dup(dfd);
	DIR *dir;

	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(dir))) {
		if (!aod_bundle_name_parse(de->d_name, NULL))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(files, cap * sizeof(*files));
			if (!grown) {
				free(files);
				closedir(dir);
				return -ENOMEM;
			}
			files = grown;
		}
		memset(&files[n], 0, sizeof(files[n]));
		snprintf(files[n].name, sizeof(files[n].name), "%s", de->d_name);
		files[n].size = (uint64_t)st.st_size;
		files[n].mtime_ns = (uint64_t)st.st_mtim.tv_sec * AOD_NSEC_PER_SEC +
				    (uint64_t)st.st_mtim.tv_nsec;
		n++;
	}
	closedir(dir);
	/* Deleted in this order: the oldest go first even if a deletion fails. */
	qsort(files, n, sizeof(*files), files_oldest_first);
	*out = files;
	*count = n;
	return 0;
}

/* Returns the bytes that left the directory (deleted, or gone meanwhile). */
static uint64_t delete_one(int dfd, const struct aod_retention_file *f, struct aod_retention_stats *st)
{
	if (unlinkat(dfd, f->name, 0) < 0) {
		if (errno == ENOENT) /* gone meanwhile (a person): not ours to count */
			return f->size;
		log_err("retention: cannot delete %s (%llu bytes, %s): %s", f->name,
			(unsigned long long)f->size, aod_retention_verdict_name(f->verdict),
			strerror(errno));
		st->errors++;
		return 0;
	}
	log_info("retention: deleted %s (%llu bytes, reason %s)", f->name,
		 (unsigned long long)f->size, aod_retention_verdict_name(f->verdict));
	st->deleted++;
	st->deleted_bytes += f->size;
	if (f->verdict == AOD_RETAIN_DELETE_AGE)
		st->deleted_age++;
	else
		st->deleted_size++;
	return f->size;
}

int aod_retention_check(const char *output_dir, const struct aod_retention_policy *p,
			uint64_t now_ns, struct aod_retention_stats *st)
{
	struct aod_retention_decision d;
	struct aod_retention_file *files = NULL;
	uint64_t gone = 0;
	size_t n = 0;
	int dfd, err;

	memset(st, 0, sizeof(*st));
	st->next_check_sec = p->interval_sec ? p->interval_sec : 1;
	dfd = aod_bundle_dir_open(output_dir, false);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0) {
		log_err("retention: cannot open %s/%s: %s", output_dir, AOD_BUNDLE_DIR, strerror(-dfd));
		return dfd;
	}
	err = scan_bundles(dfd, &files, &n);
	if (err < 0) {
		log_err("retention: cannot read %s/%s: %s", output_dir, AOD_BUNDLE_DIR, strerror(-err));
		close(dfd);
		return err;
	}
	aod_retention_decide(p, files, n, now_ns, &d);
	if (d.emergency)
		log_notice("retention: emergency: bundles use %.1f %% of %.1f MiB (>= %d %%), pruning to %d %%",
			   100.0 * (double)(d.total_before - d.age_bytes) /
				   (double)p->budget_bytes,
			   (double)p->budget_bytes / MIB, AOD_RETENTION_EMERGENCY_PCT,
			   AOD_RETENTION_EMERGENCY_TARGET_PCT);
	for (size_t i = 0; i < n; i++)
		if (files[i].verdict != AOD_RETAIN_KEEP && files[i].verdict != AOD_RETAIN_IGNORED)
			gone += delete_one(dfd, &files[i], st);
	st->bundles = (uint32_t)n;
	st->total_before = d.total_before;
	st->total_after = d.total_before - gone;
	st->emergency = d.emergency;
	st->next_check_sec = d.next_check_sec;
	free(files);
	close(dfd);
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool is_staging_dir_name(const char *name)
{
	size_t plen = strlen(AOD_BUNDLE_STAGING_PREFIX);

	return !strncmp(name, AOD_BUNDLE_STAGING_PREFIX, plen) && all_digits(name + plen);
}

/* ".aod_<id>_<src>_<type>.tar.zst.tmp": a bundle name, hidden, with .tmp. */
static bool is_partial_archive_name(const char *name)
{
	size_t len = strlen(name);
	char inner[AOD_RETENTION_NAME_LEN];

	if (name[0] != '.' || len < 5 || len - 5 >= sizeof(inner) || strcmp(name + len - 4, ".tmp"))
		return false;
	memcpy(inner, name + 1, len - 5);
	inner[len - 5] = '\0';
	return aod_bundle_name_parse(inner, NULL);
}

int aod_retention_clean_staging(const char *output_dir)
{
	int dfd = aod_bundle_dir_open(output_dir, false);
	int removed = 0, err, fd;
	struct dirent *de;
	struct stat st;
	DIR *dir;

	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0) {
		log_err("retention: cannot open %s/%s: %s", output_dir, AOD_BUNDLE_DIR, strerror(-dfd));
		return dfd;
	}
	fd = dup(dfd);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		close(dfd);
		return err;
	}
	while ((de = readdir(dir))) {
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && is_staging_dir_name(de->d_name))
			err = aod_bundle_remove_tree_at(dfd, de->d_name);
		else if (S_ISREG(st.st_mode) && is_partial_archive_name(de->d_name))
			err = unlinkat(dfd, de->d_name, 0) < 0 ? -errno : 0;
		else
			continue;
		if (err < 0) {
			log_err("retention: cannot remove crash leftover %s/%s/%s: %s", output_dir,
				AOD_BUNDLE_DIR, de->d_name, strerror(-err));
			continue;
		}
		log_notice("retention: removed crash leftover %s/%s/%s", output_dir, AOD_BUNDLE_DIR,
			   de->d_name);
		removed++;
	}
	closedir(dir);
	close(dfd);
	return removed;
}
