// SPDX-License-Identifier: MIT
/*
 * Bundle writer: build a staging dir like the collector does, write the
 * bundle, then read it back with libarchive and with `tar --zstd -tf`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

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
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "collect/bundle.h"
#include "common/timeutil.h"

#define ID 1795459679123456789ULL
#define STEM "aod_1795459679123456789_smb_latency"
#define MS AOD_NSEC_PER_MSEC

struct entry {
	char path[256];
	unsigned perm;
	bool dir;
	char *data;
	size_t size;
};

struct archive_read_back {
	struct entry e[64];
	size_t n;
};

struct fixture {
	char top[64];
	struct aod_config *cfg;
	struct aod_anomaly anomaly, coalesced, suppressed;
	struct aod_action_result results[8];
	size_t nresults;
	struct aod_event events[5];
	char staging[PATH_MAX];
	struct archive_read_back rb;
};

/* ---- helpers ---------------------------------------------------------- */

static void write_at(int dfd, const char *name, const void *buf, size_t len)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void smb_event(struct aod_event *ev, uint64_t wall, uint32_t pid, const char *comm,
		      unsigned cmd, uint64_t latency)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = AOD_EVENT_SMB_SLOW;
	ev->wall_ns = wall;
	ev->mono_ns = wall - ID + 1000 * AOD_NSEC_PER_SEC;
	ev->pid = ev->tgid = pid;
	snprintf(ev->comm, sizeof(ev->comm), "%s", comm);
	ev->smb.cmd = (uint16_t)cmd;
	ev->smb.sesid = 0x1234;
	ev->smb.mid = pid;
	ev->smb.latency_ns = latency;
}

static void result(struct aod_action_result *r, const char *name, const char *file, const char *desc)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->file, sizeof(r->file), "%s", file);
	snprintf(r->desc, sizeof(r->desc), "%s", desc);
	r->start_wall_ns = ID + 5 * MS;
	r->duration_ns = 42 * MS;
}

static void read_back(const char *path, struct archive_read_back *rb)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;

	for (size_t i = 0; i < rb->n; i++)
		free(rb->e[i].data);
	memset(rb, 0, sizeof(*rb));
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		struct entry *x = &rb->e[rb->n++];
		size_t size = (size_t)archive_entry_size(e);

		assert_true(rb->n < 64);
		snprintf(x->path, sizeof(x->path), "%s", archive_entry_pathname(e));
		x->perm = archive_entry_perm(e);
		x->dir = archive_entry_filetype(e) == AE_IFDIR;
		x->data = calloc(1, size + 1);
		x->size = size;
		assert_int_equal(archive_read_data(a, x->data, size), (la_ssize_t)size);
	}
	assert_int_equal(archive_read_free(a), ARCHIVE_OK);
}

static const struct entry *find(const struct archive_read_back *rb, const char *file)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", STEM, file);
	for (size_t i = 0; i < rb->n; i++)
		if (!strcmp(rb->e[i].path, path))
			return &rb->e[i];
	return NULL;
}

static json_t *action_by_name(json_t *manifest, const char *name)
{
	json_t *actions = json_object_get(manifest, "actions"), *a;
	size_t i;

	json_array_foreach(actions, i, a)
		if (!strcmp(json_string_value(json_object_get(a, "name")), name))
			return a;
	fail_msg("no action %s in the manifest", name);
	return NULL;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

/* ---- fixture ---------------------------------------------------------- */

static void make_anomalies(struct fixture *f)
{
	struct aod_anomaly *a = &f->anomaly;

	a->id = ID;
	snprintf(a->rule, sizeof(a->rule), "latency");
	a->source = AOD_SOURCE_SMB;
	a->type = AOD_RULE_LATENCY;
	a->window_start_ns = ID - 5000 * MS;
	a->window_end_ns = ID;
	a->acceptable_count = 3;
	a->emergency_threshold_ns = 1000 * MS;
	a->total = 7;
	a->nkeys = 2;
	snprintf(a->keys[0].key, AOD_KEY_LEN, "SMB2_WRITE");
	a->keys[0].count = 5;
	a->keys[0].threshold_ns = 100 * MS;
	a->keys[0].max_latency_ns = 1520 * MS;
	snprintf(a->keys[1].key, AOD_KEY_LEN, "SMB2_READ");
	a->keys[1].count = 2;
	a->keys[1].threshold_ns = 100 * MS;
	a->keys[1].max_latency_ns = 300 * MS;
	a->nworst = 2;
	smb_event(&a->worst[0], ID - 100 * MS, 4242, "dd", 9, 1520 * MS);
	smb_event(&a->worst[1], ID - 200 * MS, 4243, "cp", 8, 300 * MS);

	f->coalesced = *a;
	f->coalesced.id = ID + 1;
	snprintf(f->coalesced.rule, sizeof(f->coalesced.rule), "errors");
	f->coalesced.type = AOD_RULE_ERROR;
	f->coalesced.nworst = 0;
	f->coalesced.nkeys = 1;
	f->coalesced.total = 4;
	snprintf(f->coalesced.keys[0].key, AOD_KEY_LEN, "STATUS_ACCESS_DENIED");
	f->coalesced.keys[0].count = 4;

	f->suppressed = *a;
	f->suppressed.id = ID - 30 * AOD_NSEC_PER_SEC;
	f->suppressed.window_end_ns = f->suppressed.id;
}

static void make_actions(struct fixture *f, int sfd)
{
	struct aod_action_result *r = f->results;

	write_at(sfd, "dmesg.log", "[ 1.0] CIFS: VFS: reconnect\n", 28);
	result(&r[0], "dmesg", "dmesg.log", "journalctl -k --since -300s");
	r[0].bytes = 28;

	write_at(sfd, "cifsstats.log", "Resources in use\nCIFS Session: 1\n", 34);
	result(&r[1], "stats", "cifsstats.log", "/proc/fs/cifs/Stats");
	r[1].bytes = 34;

	write_at(sfd, "slowcmd.log", "started\n", 8);
	result(&r[2], "slowcmd", "slowcmd.log", "/bin/sleep 30");
	r[2].exit_code = -1;
	r[2].term_signal = 15;
	r[2].timed_out = true;
	r[2].duration_ns = 2001 * MS;
	r[2].bytes = 8;
	snprintf(r[2].error, sizeof(r[2].error), "timed out after 2 s");

	/* A missing binary: the action records it and leaves no file. */
	result(&r[3], "nosuch", "nosuch.log", "/no/such/binary --flag");
	r[3].exit_code = 127;
	snprintf(r[3].error, sizeof(r[3].error), "/no/such/binary: No such file or directory");
	f->nresults = 4;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sfd;

	umask(022);
	snprintf(f->top, sizeof(f->top), "/tmp/aod-test-bundle-XXXXXX");
	if (!mkdtemp(f->top))
		return -1;
	f->cfg = calloc(1, sizeof(*f->cfg));
	snprintf(f->cfg->output_dir, sizeof(f->cfg->output_dir), "%s/out", f->top);
	if (mkdir(f->cfg->output_dir, 0755) < 0)
		return -1;
	/* The modes of what aod creates must not depend on the umask: with
	 * this one, mkdir(0700) gives 0400 and open(0600) gives 0400. */
	umask(0377);
	snprintf(f->cfg->source_path, sizeof(f->cfg->source_path), "/etc/aod/aod.yaml");
	f->cfg->hash = 0x0123456789abcdefULL;
	f->cfg->cleanup.max_total_log_size_mb = 200;
	f->cfg->watcher.zstd_level = 3;
	make_anomalies(f);
	for (size_t i = 0; i < 5; i++)
		smb_event(&f->events[i], ID - (5 - i) * 1000 * MS, 4242, "dd", 9, (100 + i) * MS);

	sfd = aod_bundle_staging_create(f->cfg->output_dir, ID, f->staging, sizeof(f->staging));
	if (sfd < 0)
		return -1;
	make_actions(f, sfd);
	close(sfd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < f->rb.n; i++)
		free(f->rb.e[i].data);
	aod_bundle_staging_remove(f->top);
	free(f->cfg);
	free(f);
	umask(022);
	return 0;
}

static struct aod_bundle_input input(struct fixture *f)
{
	struct aod_bundle_input in = {
		.cfg = f->cfg, .staging_dir = f->staging, .anomaly = &f->anomaly,
		.coalesced = &f->coalesced, .ncoalesced = 1,
		.suppressed = &f->suppressed, .nsuppressed = 1, .suppressed_count = 3,
		.results = f->results, .nresults = f->nresults,
		.events = f->events, .nevents = 5,
		.status_json = "{\"probes\":{\"smb\":\"attached\"}}",
	};
	return in;
}

/* ---- tests ------------------------------------------------------------ */

static void test_staging_dir(void **state)
{
	struct fixture *f = *state;
	char batches[PATH_MAX + 16];
	struct stat st;

	assert_int_equal(stat(f->staging, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(batches, sizeof(batches), "%s/batches", f->cfg->output_dir);
	assert_int_equal(stat(batches, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_non_null(strstr(f->staging, "/batches/.staging-1795459679123456789"));
	/* batches/ made 0755 by someone else is put back to 0700. */
	assert_int_equal(chmod(batches, 0755), 0);
	close(aod_bundle_staging_create(f->cfg->output_dir, ID + 1, f->staging, sizeof(f->staging)));
	assert_int_equal(stat(batches, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(f->staging, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* Same id twice: refused, not shared. */
	assert_int_equal(aod_bundle_staging_create(f->cfg->output_dir, ID, batches, sizeof(batches)),
			 -EEXIST);
}

static void test_write_and_read_back(void **state)
{
	struct fixture *f = *state;
	struct aod_bundle_input in = input(f);
	struct aod_bundle_info info;
	char batches[PATH_MAX + 16], expect[PATH_MAX + 80];
	const char *files[] = { "manifest.json", "summary.txt", "events.jsonl", "aod-status.json",
				"dmesg.log", "cifsstats.log", "slowcmd.log" };
	struct stat st;

	assert_int_equal(aod_bundle_write(&in, &info), 0);
	snprintf(batches, sizeof(batches), "%s/batches", f->cfg->output_dir);
	snprintf(expect, sizeof(expect), "%s/" STEM ".tar.zst", batches);
	assert_string_equal(info.path, expect);
	assert_string_equal(info.stem, STEM);
	assert_int_equal(stat(info.path, &st), 0);
	assert_int_equal(info.size, (uint64_t)st.st_size);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(info.ncut, 0);
	assert_true(info.uncompressed > info.size);

	/* No temp file, staging removed: the bundle is all that is left. */
	assert_int_equal(count_entries(batches), 1);
	assert_int_equal(access(f->staging, F_OK), -1);

	read_back(info.path, &f->rb);
	assert_string_equal(f->rb.e[0].path, STEM "/");
	assert_true(f->rb.e[0].dir);
	assert_int_equal(f->rb.e[0].perm, 0700);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const struct entry *e = find(&f->rb, files[i]);

		if (!e)
			fail_msg("%s missing from the bundle", files[i]);
		assert_false(e->dir);
		assert_int_equal(e->perm, 0600);
	}
	assert_null(find(&f->rb, "nosuch.log"));
	assert_int_equal(f->rb.n, 1 + sizeof(files) / sizeof(files[0]));
	assert_string_equal(find(&f->rb, "slowcmd.log")->data, "started\n");
	assert_string_equal(find(&f->rb, "aod-status.json")->data, in.status_json);
}

static void test_manifest_fields(void **state)
{
	struct fixture *f = *state;
	struct aod_bundle_input in = input(f);
	struct aod_bundle_info info;
	json_error_t jerr;
	json_t *m, *a, *x;
	struct utsname u;

	struct aod_action_spec specs[4];

	/* With the specs, the manifest also gives argv as a list, or the path. */
	memset(specs, 0, sizeof(specs));
	specs[0].kind = AOD_ACTION_EXEC;
	specs[0].argc = 3;
	snprintf(specs[0].argv[0], AOD_ARG_LEN, "journalctl");
	snprintf(specs[0].argv[1], AOD_ARG_LEN, "-k");
	snprintf(specs[0].argv[2], AOD_ARG_LEN, "--since=-300s");
	specs[1].kind = AOD_ACTION_COPY;
	snprintf(specs[1].path, AOD_ARG_LEN, "/proc/fs/cifs/Stats");
	specs[2].kind = AOD_ACTION_EXEC;
	specs[3].kind = AOD_ACTION_FUNC;
	in.specs = specs;

	assert_int_equal(aod_bundle_write(&in, &info), 0);
	read_back(info.path, &f->rb);
	m = json_loads(find(&f->rb, "manifest.json")->data, 0, &jerr);
	if (!m)
		fail_msg("manifest.json: %s", jerr.text);
	uname(&u);
	assert_int_equal(json_integer_value(json_object_get(m, "format")), 1);
	assert_string_equal(json_string_value(json_object_get(m, "bundle")), STEM);
	assert_string_equal(json_string_value(json_object_get(m, "id")), "1795459679123456789");
	assert_string_equal(json_string_value(json_object_get(m, "aod_version")), AOD_VERSION);
	assert_string_equal(json_string_value(json_object_get(m, "hostname")), u.nodename);
	assert_string_equal(json_string_value(json_object_get(m, "kernel")), u.release);
	assert_true(json_is_false(json_object_get(m, "partial")));
	assert_non_null(json_string_value(json_object_get(m, "created")));
	x = json_object_get(m, "config");
	assert_string_equal(json_string_value(json_object_get(x, "hash")), "0123456789abcdef");
	assert_string_equal(json_string_value(json_object_get(x, "path")), "/etc/aod/aod.yaml");

	x = json_object_get(m, "anomaly");
	assert_string_equal(json_string_value(json_object_get(x, "rule")), "latency");
	assert_string_equal(json_string_value(json_object_get(x, "source")), "smb");
	assert_int_equal(json_array_size(json_object_get(m, "coalesced")), 1);
	x = json_object_get(m, "suppressed");
	assert_int_equal(json_integer_value(json_object_get(x, "count")), 3);
	assert_int_equal(json_array_size(json_object_get(x, "listed")), 1);
	x = json_object_get(m, "events");
	assert_int_equal(json_integer_value(json_object_get(x, "recorded")), 5);
	assert_int_equal(json_integer_value(json_object_get(x, "written")), 5);
	assert_string_equal(json_string_value(json_object_get(m, "status_file")), "aod-status.json");

	assert_int_equal(json_array_size(json_object_get(m, "actions")), 4);
	a = action_by_name(m, "slowcmd");
	assert_true(json_is_true(json_object_get(a, "timed_out")));
	assert_int_equal(json_integer_value(json_object_get(a, "signal")), 15);
	assert_int_equal(json_integer_value(json_object_get(a, "exit_code")), -1);
	assert_int_equal(json_integer_value(json_object_get(a, "duration_ms")), 2001);
	assert_int_equal(json_integer_value(json_object_get(a, "bytes")), 8);
	assert_int_equal(json_integer_value(json_object_get(a, "bytes_in_bundle")), 8);
	assert_string_equal(json_string_value(json_object_get(a, "command")), "/bin/sleep 30");
	assert_int_equal(json_integer_value(json_object_get(a, "start_ns")), ID + 5 * MS);
	assert_string_equal(json_string_value(json_object_get(a, "start")), "2026-11-23T18:47:59.128Z");
	a = action_by_name(m, "nosuch");
	assert_true(json_is_false(json_object_get(a, "in_bundle")));
	assert_int_equal(json_integer_value(json_object_get(a, "exit_code")), 127);
	assert_non_null(strstr(json_string_value(json_object_get(a, "error")), "No such file"));
	assert_non_null(json_string_value(json_object_get(a, "problem")));
	assert_string_equal(json_string_value(json_object_get(a, "kind")), "function");
	a = action_by_name(m, "stats");
	assert_string_equal(json_string_value(json_object_get(a, "kind")), "copy");
	assert_string_equal(json_string_value(json_object_get(a, "path")), "/proc/fs/cifs/Stats");
	a = action_by_name(m, "dmesg");
	assert_string_equal(json_string_value(json_object_get(a, "kind")), "exec");
	assert_int_equal(json_array_size(json_object_get(a, "argv")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "argv"), 2)), "--since=-300s");
	assert_true(json_is_true(json_object_get(a, "in_bundle")));
	assert_true(json_is_null(json_object_get(a, "error")));
	assert_true(json_is_false(json_object_get(a, "truncated")));
	assert_true(json_is_false(json_object_get(a, "skipped")));
	x = json_object_get(m, "budget");
	assert_int_equal(json_integer_value(json_object_get(x, "files_cut")), 0);
	assert_int_equal(json_integer_value(json_object_get(x, "max_bundle_bytes")), 50 * 1024 * 1024);
	assert_int_equal(json_array_size(json_object_get(x, "cut")), 0);
	json_decref(m);
}

static void test_events_jsonl(void **state)
{
	struct fixture *f = *state;
	struct aod_bundle_input in = input(f);
	struct aod_bundle_info info;
	char *line, *save = NULL;
	int n = 0;

	assert_int_equal(aod_bundle_write(&in, &info), 0);
	read_back(info.path, &f->rb);
	for (line = strtok_r(find(&f->rb, "events.jsonl")->data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		json_t *ev = json_loads(line, 0, NULL);

		assert_non_null(ev);
		assert_string_equal(json_string_value(json_object_get(ev, "kind")), "smb_slow");
		assert_int_equal(json_integer_value(json_object_get(ev, "latency_ns")), (100 + n) * MS);
		json_decref(ev);
	}
	assert_int_equal(n, 5);
}

static void test_summary_text(void **state)
{
	struct fixture *f = *state;
	struct aod_bundle_input in = input(f);
	struct aod_bundle_info info;
	const char *s;
	const char *want[] = {
		"Rule \"latency\"", "source smb", "type latency", "7 SMB commands", "its acceptable_count is 3",
		"SMB2_WRITE", "SMB2_READ", "100.0 ms", "1.52 s",      /* key, threshold, max */
		"4242", "dd", "2026-11-23T18:47:59.023Z",                /* worst event */
		"COALESCED", "STATUS_ACCESS_DENIED", "SUPPRESSED by holdoff since the previous bundle: 3",
		"slowcmd: timed out after 2.00 s, ended by signal 15",
		"nosuch: failed (exit code 127): /no/such/binary: No such file or directory",
		"events.jsonl holds 5 events",
		"SMB reconnect at 2026-11-23T18:47:", "server srv1, connection 3, next message id 45.",
	};

	/* one of the recorded events is a reconnect: the summary names it */
	memset(&f->events[2].conn, 0, sizeof(f->events[2].conn));
	f->events[2].kind = AOD_EVENT_SMB_RECONNECT;
	f->events[2].conn.conn_id = 3;
	f->events[2].conn.currmid = 45;
	snprintf(f->events[2].conn.server, sizeof(f->events[2].conn.server), "srv1");
	assert_int_equal(aod_bundle_write(&in, &info), 0);
	read_back(info.path, &f->rb);
	s = find(&f->rb, "summary.txt")->data;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(s, want[i]))
			fail_msg("summary lacks \"%s\":\n%s", want[i], s);
	assert_null(strstr(s, "PARTIAL"));
	assert_null(strstr(s, "dmesg:")); /* actions that went well are not listed */
}

static void test_partial_flag(void **state)
{
	struct fixture *f = *state;
	struct aod_bundle_input in = input(f);
	struct aod_bundle_info info;
	json_t *m;

	in.partial = true;
	in.status_json = NULL;
	assert_int_equal(aod_bundle_write(&in, &info), 0);
	read_back(info.path, &f->rb);
	m = json_loads(find(&f->rb, "manifest.json")->data, 0, NULL);
	assert_true(json_is_true(json_object_get(m, "partial")));
	assert_true(json_is_null(json_object_get(m, "status_file")));
	assert_null(find(&f->rb, "aod-status.json"));
	assert_non_null(strstr(find(&f->rb, "summary.txt")->data, "PARTIAL"));
	json_decref(m);
}

/* Run tar --zstd -tf on the bundle; its listing into out. Returns tar's exit status or -1. */
static int tar_list(const char *path, char *out, size_t len)
{
	int pipefd[2], status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { "tar", "--zstd", "-tf", (char *)path, NULL };

		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execv("/usr/bin/tar", argv);
		_exit(127);
	}
	close(pipefd[1]);
	while (used + 1 < len && (n = read(pipefd[0], out + used, len - used - 1)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_tar_lists_it(void **state)
{
	struct fixture *f = *state;
	struct aod_bundle_input in = input(f);
	struct aod_bundle_info info;
	char listing[4096];
	const char *want[] = { STEM "/\n", STEM "/manifest.json\n", STEM "/summary.txt\n",
			       STEM "/events.jsonl\n", STEM "/aod-status.json\n",
			       STEM "/dmesg.log\n", STEM "/cifsstats.log\n", STEM "/slowcmd.log\n" };

	if (access("/usr/bin/tar", X_OK) || (access("/usr/bin/zstd", X_OK) && access("/bin/zstd", X_OK))) {
		printf("SKIP: tar --zstd: /usr/bin/tar or zstd missing (apt-get install tar zstd)\n");
		skip();
	}
	assert_int_equal(aod_bundle_write(&in, &info), 0);
	assert_int_equal(tar_list(info.path, listing, sizeof(listing)), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(listing, want[i]))
			fail_msg("tar -tf lacks %s:\n%s", want[i], listing);
}

/* Incompressible bytes, so the cap is tested against the worst case. */
static void fill_random(char *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (char)(seed >> 16);
	}
}

static void test_size_cap_cuts_and_says_so(void **state)
{
	struct fixture *f = *state;
	struct aod_bundle_input in = input(f);
	struct aod_bundle_info info;
	size_t big_len = 1024 * 1024, mid_len = 150 * 1024;
	char *big = malloc(big_len), *mid = malloc(mid_len);
	const struct entry *e;
	json_t *m, *a, *cut;
	int sfd = open(f->staging, O_RDONLY | O_DIRECTORY);
	struct aod_event *events = calloc(3000, sizeof(*events));
	const char *s;

	fill_random(big, big_len, 1);
	fill_random(mid, mid_len, 2);
	write_at(sfd, "big.log", big, big_len);
	write_at(sfd, "mid.log", mid, mid_len);
	close(sfd);
	result(&f->results[4], "big", "big.log", "/proc/big");
	f->results[4].bytes = big_len;
	result(&f->results[5], "mid", "mid.log", "/proc/mid");
	f->results[5].bytes = mid_len;
	in.nresults = 6;
	for (size_t i = 0; i < 3000; i++)
		smb_event(&events[i], ID - (3000 - i) * MS, 4242, "dd", 9, (1000 + i) * MS);
	in.events = events;
	in.nevents = 3000;
	f->cfg->watcher.max_bundle_mb = 0;
	f->cfg->cleanup.max_total_log_size_mb = 1; /* cap = a quarter: 256 KiB */

	assert_int_equal(aod_bundle_write(&in, &info), 0);
	assert_true(info.size <= 256 * 1024);
	assert_true(info.ncut >= 2);
	read_back(info.path, &f->rb);
	m = json_loads(find(&f->rb, "manifest.json")->data, 0, NULL);
	assert_non_null(m);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "budget"), "max_bundle_bytes")),
			 256 * 1024);
	cut = json_object_get(json_object_get(m, "budget"), "cut");
	assert_true(json_array_size(cut) >= 2);

	/* The largest output is cut, its tail kept byte for byte. */
	a = action_by_name(m, "big");
	e = find(&f->rb, "big.log");
	assert_non_null(e);
	assert_true(json_integer_value(json_object_get(a, "bundle_cut_bytes")) > 0);
	assert_int_equal(e->size + (size_t)json_integer_value(json_object_get(a, "bundle_cut_bytes")), big_len);
	assert_int_equal(json_integer_value(json_object_get(a, "bytes_in_bundle")), e->size);
	assert_memory_equal(e->data, big + (big_len - e->size), e->size);
	/* Small outputs are untouched. */
	a = action_by_name(m, "dmesg");
	assert_int_equal(json_integer_value(json_object_get(a, "bundle_cut_bytes")), 0);
	assert_int_equal(find(&f->rb, "dmesg.log")->size, 28);
	/* The oldest events went, whole lines, and the manifest counts them. */
	{
		json_t *ev = json_object_get(m, "events");
		const struct entry *je = find(&f->rb, "events.jsonl");
		json_int_t written = json_integer_value(json_object_get(ev, "written"));
		size_t lines = 0;

		for (size_t i = 0; i < je->size; i++)
			lines += je->data[i] == '\n';
		assert_true(written > 0 && written < 3000);
		assert_int_equal(lines, (size_t)written);
		assert_int_equal(json_integer_value(json_object_get(ev, "cut_by_size_cap")), 3000 - written);
		assert_non_null(strstr(je->data + je->size - 200, "\"latency_ns\":3999000000"));
	}
	s = find(&f->rb, "summary.txt")->data;
	assert_non_null(strstr(s, "big: cut by"));
	assert_non_null(strstr(s, "to fit max_bundle_mb"));
	assert_non_null(strstr(s, "SIZE CAP"));
	json_decref(m);
	free(events);
	free(big);
	free(mid);
}

/* Nothing compresses: the bound must hold on its own, at several caps. */
static void test_size_cap_incompressible(void **state)
{
	struct fixture *f = *state;
	struct aod_bundle_input in = input(f);
	struct aod_bundle_info info;
	const double caps_mb[] = { 0.1, 0.5, 2 };
	size_t len = 3 * 1024 * 1024;
	char *buf = malloc(len);

	in.nevents = 0;
	in.nresults = 6;
	result(&f->results[4], "r1", "r1.log", "/proc/r1");
	result(&f->results[5], "r2", "r2.log", "/proc/r2");
	for (size_t c = 0; c < sizeof(caps_mb) / sizeof(caps_mb[0]); c++) {
		char staging[PATH_MAX];
		int sfd = aod_bundle_staging_create(f->cfg->output_dir, ID + 100 + c, staging,
						    sizeof(staging));

		assert_true(sfd >= 0);
		/* Different bytes in each file: zstd's window must find no repeat. */
		fill_random(buf, len, (uint32_t)c + 7);
		write_at(sfd, "r1.log", buf, len);
		fill_random(buf, len / 2, (uint32_t)c + 1007);
		write_at(sfd, "r2.log", buf, len / 2);
		fill_random(buf, 1000, (uint32_t)c + 2007);
		write_at(sfd, "dmesg.log", buf, 1000);
		close(sfd);
		f->anomaly.id = ID + 100 + c;
		in.staging_dir = staging;
		f->cfg->watcher.max_bundle_mb = caps_mb[c];
		assert_int_equal(aod_bundle_write(&in, &info), 0);
		if (info.size > aod_bundle_max_bytes(f->cfg))
			fail_msg("cap %.1f MiB: bundle is %llu bytes", caps_mb[c],
				 (unsigned long long)info.size);
		/* ... and not far below it either: the budget is used (at small caps
		 * the fixed texts and tar headers are a larger share). */
		assert_true(info.size > aod_bundle_max_bytes(f->cfg) * (caps_mb[c] < 0.5 ? 5 : 8) / 10);
		assert_true(info.ncut >= 2);
	}
	free(buf);
}

static void test_cap_too_small_fails_cleanly(void **state)
{
	struct fixture *f = *state;
	struct aod_bundle_input in = input(f);
	struct aod_bundle_info info;
	char batches[PATH_MAX + 16];

	f->cfg->watcher.max_bundle_mb = 0.002; /* 2 KiB: not even the manifest */
	assert_int_equal(aod_bundle_write(&in, &info), -EFBIG);
	snprintf(batches, sizeof(batches), "%s/batches", f->cfg->output_dir);
	assert_int_equal(count_entries(batches), 1); /* the staging dir, kept */
	assert_int_equal(access(f->staging, F_OK), 0);
	assert_int_equal(aod_bundle_staging_remove(f->staging), 0);
	assert_int_equal(count_entries(batches), 0);
}

static void test_bad_action_file_names(void **state)
{
	struct fixture *f = *state;
	struct aod_bundle_input in = input(f);
	struct aod_bundle_info info;
	json_t *m;

	result(&f->results[4], "evil", "../escape.log", "x");
	result(&f->results[5], "clash", "manifest.json", "y");
	in.nresults = 6;
	assert_int_equal(aod_bundle_write(&in, &info), 0);
	read_back(info.path, &f->rb);
	m = json_loads(find(&f->rb, "manifest.json")->data, 0, NULL);
	assert_true(json_is_false(json_object_get(action_by_name(m, "evil"), "in_bundle")));
	assert_true(json_is_false(json_object_get(action_by_name(m, "clash"), "in_bundle")));
	assert_int_equal(f->rb.n, 8);
	json_decref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_staging_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manifest_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_jsonl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_summary_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tar_lists_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_cap_cuts_and_says_so, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_cap_incompressible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_too_small_fails_cleanly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_action_file_names, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
