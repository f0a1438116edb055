// SPDX-License-Identifier: MIT
/*
 * aod bundles [--dir OUTPUT_DIR | --config FILE]      list, newest first
 * aod bundles show ID [--dir OUTPUT_DIR | --config FILE]  print summary.txt
 *
 * The list comes from file names and stat, and, when upload is configured,
 * the upload state of each bundle from the store's uploads table (bundles
 * deleted locally after their upload are listed from there); `show` reads
 * summary.txt out of the tar.zst with libarchive.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/text.h"
#include "collect/bundle.h"
#include "common/timeutil.h"
#include "config/config.h"
#include "store/store.h"

struct bundle_entry {
	struct aod_bundle_name name;
	char file[256];
	uint64_t size;
	char upload[40];           /* upload state, "" if none */
	bool local;                /* the file is in batches/ */
};

struct bundle_list {
	struct bundle_entry *v;
	size_t n, cap;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: aod bundles [--dir OUTPUT_DIR | --config FILE]\n"
		"       aod bundles show ID [--dir OUTPUT_DIR | --config FILE]\n"
		"\n"
		"List the diagnostics bundles in OUTPUT_DIR/batches (id, time, source, type,\n"
		"size, upload state), newest first; or print the summary.txt of bundle ID\n"
		"(its number or its file name). OUTPUT_DIR is aod_output_dir of --config\n"
		"FILE, else of the built-in default config. The upload state comes from the\n"
		"store (store.path of the config; OUTPUT_DIR/aod.db with --dir): queued,\n"
		"uploading, uploaded, failed or dropped; bundles deleted after their upload\n"
		"(upload.delete_after_upload) are listed as \"uploaded, deleted\".\n"
		"\n"
		"  -d, --dir OUTPUT_DIR   the agent's aod_output_dir\n"
		"  -c, --config FILE      take aod_output_dir from this config\n"
		"  -h, --help             this text\n");
}

/* The output dir and store path from --config FILE or the embedded default config. */
static int output_dir_from_config(const char *path, char *dir, size_t len, char *db,
				  size_t dblen)
{
	struct aod_config *cfg = calloc(1, sizeof(*cfg));
	struct aod_config_error err = { { 0 } };
	int r;

	if (!cfg) {
		fprintf(stderr, "aod bundles: out of memory\n");
		return -ENOMEM;
	}
	r = aod_config_load(cfg, path, &err);
	if (r < 0)
		fprintf(stderr, "aod bundles: %s\n", err.msg[0] ? err.msg : strerror(-r));
	else {
		snprintf(dir, len, "%s", cfg->output_dir);
		snprintf(db, dblen, "%s", cfg->store.path);
	}
	free(cfg);
	return r;
}

static int newest_first(const void *a, const void *b)
{
	const struct bundle_entry *x = a, *y = b;

	if (x->name.id != y->name.id)
		return x->name.id > y->name.id ? -1 : 1;
	return strcmp(x->file, y->file);
}

/* The finished bundles in batches/, newest first. */
static int read_bundles(const char *output_dir, struct bundle_entry **out, size_t *count)
{
	struct bundle_entry *list = NULL, *grown;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	int dfd = aod_bundle_dir_open(output_dir, false);
	DIR *dir;

	if (dfd < 0)
		return dfd;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(dir))) {
		struct aod_bundle_name name;

		if (!aod_bundle_name_parse(de->d_name, &name) ||
		    fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				free(list);
				closedir(dir);
				return -ENOMEM;
			}
			list = grown;
		}
		list[n].name = name;
		snprintf(list[n].file, sizeof(list[n].file), "%s", de->d_name);
		list[n].size = (uint64_t)st.st_size;
		n++;
	}
	closedir(dir);
	qsort(list, n, sizeof(*list), newest_first);
	*out = list;
	*count = n;
	return 0;
}

static void fmt_size(uint64_t n, char *buf, size_t len)
{
	if (n >= 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	else if (n >= 1024)
		snprintf(buf, len, "%.1f KiB", (double)n / 1024.0);
	else
		snprintf(buf, len, "%llu B", (unsigned long long)n);
}

static struct bundle_entry *find_entry(struct bundle_list *l, const char *file)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].file, file))
			return &l->v[i];
	return NULL;
}

/* One uploads row: its state on the local bundle, or a row of its own for a
 * bundle deleted after its upload. */
static int add_upload(void *ctx, const struct aod_store_upload *u)
{
	struct bundle_list *l = ctx;
	struct bundle_entry *e = find_entry(l, u->bundle), *grown;
	struct aod_bundle_name name;

	if (!e) {
		if (!u->deleted || !aod_bundle_name_parse(u->bundle, &name))
			return 0; /* removed by retention: nothing to show */
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 64;
			grown = realloc(l->v, l->cap * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			l->v = grown;
		}
		e = &l->v[l->n++];
		memset(e, 0, sizeof(*e));
		e->name = name;
		snprintf(e->file, sizeof(e->file), "%s", u->bundle);
		e->size = u->size;
	}
	snprintf(e->upload, sizeof(e->upload), "%s%s", u->state, u->deleted ? ", deleted" : "");
	/* the agent writes a few fixed words; anything else came from a hand edit */
	for (char *p = e->upload; *p; p++)
		if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f)
			*p = '?';
	return 0;
}

static void read_uploads(const char *db, struct bundle_list *l)
{
	char err[AOD_STORE_ERR_LEN] = "";
	int r;

	if (!db[0])
		return;
	r = aod_store_uploads_read(db, add_upload, l, err, sizeof(err));
	if (r < 0 && r != -ENOENT)
		fprintf(stderr, "aod bundles: upload state not shown: %s\n",
			err[0] ? err : strerror(-r));
	qsort(l->v, l->n, sizeof(*l->v), newest_first);
}

static int list_bundles(const char *output_dir, const char *db)
{
	struct bundle_entry *list = NULL;
	struct bundle_list l;
	char when[40], size[32];
	size_t n = 0;
	int err = read_bundles(output_dir, &list, &n);

	if (err < 0 && err != -ENOENT) {
		fprintf(stderr, "aod bundles: cannot read %s/%s: %s\n", output_dir, AOD_BUNDLE_DIR,
			strerror(-err));
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		list[i].local = true;
	l = (struct bundle_list){ .v = list, .n = n, .cap = n };
	read_uploads(db, &l);
	if (!l.n) {
		fprintf(stderr, "aod bundles: no bundles in %s/%s%s\n", output_dir, AOD_BUNDLE_DIR,
			err == -ENOENT ? " (it does not exist)" : "");
		free(l.v);
		return 0;
	}
	printf("%-20s  %-24s  %-8s  %-8s  %10s  %s\n", "ID", "TIME", "SOURCE", "TYPE", "SIZE",
	       "UPLOAD");
	for (size_t i = 0; i < l.n; i++) {
		const struct bundle_entry *e = &l.v[i];

		aod_format_wall(e->name.id, when, sizeof(when));
		fmt_size(e->size, size, sizeof(size));
		printf("%-20llu  %-24s  %-8s  %-8s  %10s  %s\n", (unsigned long long)e->name.id, when,
		       e->name.source, e->name.type, size, e->upload[0] ? e->upload : "-");
	}
	free(l.v);
	return 0;
}

/* ID: the number, or the file name with or without .tar.zst. */
static bool parse_id(const char *arg, uint64_t *id)
{
	struct aod_bundle_name name;
	char file[AOD_BUNDLE_STEM_LEN + 16];
	char *end;

	if (arg[0] >= '0' && arg[0] <= '9') {
		errno = 0;
		*id = strtoull(arg, &end, 10);
		return !errno && !*end;
	}
	snprintf(file, sizeof(file), "%s", arg);
	if (!strstr(file, AOD_BUNDLE_SUFFIX))
		snprintf(file, sizeof(file), "%s%s", arg, AOD_BUNDLE_SUFFIX);
	if (!aod_bundle_name_parse(file, &name))
		return false;
	*id = name.id;
	return true;
}

/* Copy <stem>/summary.txt from the archive to stdout. */
static int print_summary(const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r, found = 0;

	if (!a)
		return -ENOMEM;
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
		fprintf(stderr, "aod bundles: cannot open %s: %s\n", path, archive_error_string(a));
		archive_read_free(a);
		return -EIO;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		const char *slash = name ? strchr(name, '/') : NULL;
		char buf[16384];
		la_ssize_t n;

		char *text = NULL;
		size_t len = 0;
		FILE *mem;

		if (!slash || strcmp(slash + 1, "summary.txt"))
			continue;
		mem = open_memstream(&text, &len);
		if (!mem)
			break;
		while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
			fwrite(buf, 1, (size_t)n, mem);
		fclose(mem);
		/* whole, so that no UTF-8 sequence is split; a bundle is text from
		 * other people's names: escape what a terminal would act on */
		aod_text_fput(stdout, text, len, true);
		free(text);
		found = n < 0 ? -1 : 1;
		break;
	}
	if (found <= 0)
		fprintf(stderr, "aod bundles: %s: %s\n", path,
			found < 0 || r < ARCHIVE_WARN ? archive_error_string(a) : "no summary.txt in the bundle");
	archive_read_free(a);
	return found > 0 ? 0 : -EIO;
}

static int show_bundle(const char *output_dir, const char *arg)
{
	struct bundle_entry *list = NULL;
	char path[PATH_MAX];
	size_t n = 0, i;
	uint64_t id;
	int err, len;

	if (!parse_id(arg, &id)) {
		fprintf(stderr, "aod bundles: '%s' is not a bundle id (a number, or aod_<id>_<source>_<type>)\n", arg);
		return 2;
	}
	err = read_bundles(output_dir, &list, &n);
	if (err < 0 && err != -ENOENT) {
		fprintf(stderr, "aod bundles: cannot read %s/%s: %s\n", output_dir, AOD_BUNDLE_DIR,
			strerror(-err));
		return 1;
	}
	for (i = 0; i < n && list[i].name.id != id; i++)
		;
	if (i == n) {
		fprintf(stderr, "aod bundles: no bundle with id %llu in %s/%s (see `aod bundles`)\n",
			(unsigned long long)id, output_dir, AOD_BUNDLE_DIR);
		free(list);
		return 1;
	}
	len = snprintf(path, sizeof(path), "%s/%s/%s", output_dir, AOD_BUNDLE_DIR, list[i].file);
	free(list);
	if (len < 0 || (size_t)len >= sizeof(path)) {
		fprintf(stderr, "aod bundles: path too long in %s\n", output_dir);
		return 1;
	}
	fflush(stdout);
	return print_summary(path) < 0 ? 1 : 0;
}

int aod_cmd_bundles(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *config = NULL;
	char output_dir[PATH_MAX], db[PATH_MAX + 8] = "";
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "d:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'c': config = optarg; break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "aod bundles: bad option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (dir && config) {
		fprintf(stderr, "aod bundles: give --dir or --config, not both\n");
		usage(stderr);
		return 2;
	}
	if (optind < argc && strcmp(argv[optind], "show")) {
		fprintf(stderr, "aod bundles: unknown argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (optind < argc && argc - optind != 2) {
		fprintf(stderr, "aod bundles: show takes exactly one ID\n");
		usage(stderr);
		return 2;
	}
	if (dir) {
		snprintf(output_dir, sizeof(output_dir), "%s", dir);
		snprintf(db, sizeof(db), "%s/aod.db", dir);
	} else if (output_dir_from_config(config, output_dir, sizeof(output_dir), db,
					  sizeof(db)) < 0) {
		return config ? 2 : 1;
	}
	if (optind < argc)
		return show_bundle(output_dir, argv[optind + 1]);
	return list_bundles(output_dir, db);
}
