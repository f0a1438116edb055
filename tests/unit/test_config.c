// SPDX-License-Identifier: MIT
/*
 * Config: lookup tables, the seed example and config/aod.yaml, every
 * validation rule, the effective tables (mode normalisation, thresholds,
 * error tracking), the print/load round trip, warnings, `aod check-config`
 * and the corpora under tests/configs: every valid/ file loads and round
 * trips; every invalid/ file fails with a message that contains its
 * "# expect:" line and starts with FILE:LINE:COL from its "# at:" line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/commands.h"
#include "config/config.h"

#define MS 1000000ULL

static const char *const builtin7[] = {
	"dmesg", "journalctl", "debugdata", "stats", "mounts", "smbinfo", "syslogs",
};

static const char *top_dir(void)
{
	const char *top = getenv("AOD_TOP");

	return top && *top ? top : ".";
}

static void top_path(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", top_dir(), rel);
}

/* Two configs per test, on the heap: each is a few hundred KiB. */
struct state {
	struct aod_config a, b;
	struct aod_config_error err;
};

static int setup(void **st)
{
	*st = calloc(1, sizeof(struct state));
	return *st ? 0 : -1;
}

static int teardown(void **st)
{
	free(*st);
	return 0;
}

#define HEAD "watch_interval_sec: 1\naod_output_dir: /tmp/aod-test\n"

static int load(struct state *s, struct aod_config *cfg, const char *yaml)
{
	return aod_config_load_buffer(cfg, "test.yaml", yaml, strlen(yaml), &s->err);
}

static void load_ok(struct state *s, struct aod_config *cfg, const char *yaml)
{
	int rc = load(s, cfg, yaml);

	if (rc)
		fail_msg("load failed: %s", s->err.msg);
}

static void load_fails(struct state *s, const char *yaml, const char *expect)
{
	struct aod_config *cfg = malloc(sizeof(*cfg));

	assert_non_null(cfg);
	assert_int_equal(load(s, cfg, yaml), -EINVAL);
	if (!strstr(s->err.msg, expect))
		fail_msg("message '%s' lacks '%s'", s->err.msg, expect);
	assert_non_null(strstr(s->err.msg, "test.yaml:"));
	assert_null(strchr(s->err.msg, '\n'));
	free(cfg);
}

static const struct aod_rule *rule(const struct aod_config *cfg, const char *name)
{
	for (uint32_t i = 0; i < cfg->nrules; i++)
		if (!strcmp(cfg->rules[i].name, name))
			return &cfg->rules[i];
	fail_msg("no rule %s", name);
	return NULL;
}

/*
 * Everything fn writes to stderr (warnings go through log_warn), and to
 * stdout too if with_stdout, as one string.
 */
static char *capture_output(void (*fn)(void *), void *arg, bool with_stdout)
{
	char path[] = "/tmp/aod-test-config-XXXXXX";
	int fd = mkstemp(path), saved_err = dup(2), saved_out = dup(1);
	char *buf = calloc(1, 65536);

	assert_true(fd >= 0 && saved_err >= 0 && saved_out >= 0 && buf);
	fflush(stdout);
	fflush(stderr);
	dup2(fd, 2);
	if (with_stdout)
		dup2(fd, 1);
	fn(arg);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_err, 2);
	dup2(saved_out, 1);
	close(saved_err);
	close(saved_out);
	assert_true(pread(fd, buf, 65535, 0) >= 0);
	close(fd);
	unlink(path);
	return buf;
}

/* ---- tables ---- */

static void test_smb_command_table(void **st)
{
	(void)st;
	assert_string_equal(aod_smb_cmd_name(0), "SMB2_NEGOTIATE");
	assert_string_equal(aod_smb_cmd_name(5), "SMB2_CREATE");
	assert_string_equal(aod_smb_cmd_name(8), "SMB2_READ");
	assert_string_equal(aod_smb_cmd_name(9), "SMB2_WRITE");
	assert_string_equal(aod_smb_cmd_name(13), "SMB2_ECHO");
	assert_string_equal(aod_smb_cmd_name(19), "SMB2_SERVER_TO_CLIENT_NOTIFICATION");
	assert_null(aod_smb_cmd_name(20));
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(aod_smb_cmd_from_name(aod_smb_cmd_name(i)), (int)i);
	assert_int_equal(aod_smb_cmd_from_name("smb2_read"), 8);
	assert_int_equal(aod_smb_cmd_from_name("READ"), 8);
	assert_int_equal(aod_smb_cmd_from_name("query_info"), 16);
	assert_int_equal(aod_smb_cmd_from_name("SMB2_RAED"), -1);
	assert_int_equal(aod_smb_cmd_from_name("SMB2_"), -1);
	assert_int_equal(aod_smb_cmd_from_name(""), -1);
	assert_int_equal(aod_smb_cmd_from_name(NULL), -1);
}

static void test_ntstatus_table(void **st)
{
	static const struct { uint32_t v; const char *name; int err; } want[] = {
		{ 0xC0000022, "STATUS_ACCESS_DENIED", EACCES },
		{ 0xC0000034, "STATUS_OBJECT_NAME_NOT_FOUND", ENOENT },
		{ 0xC0000016, "STATUS_MORE_PROCESSING_REQUIRED", EIO },
		{ 0x80000006, "STATUS_NO_MORE_FILES", ENODATA },
		{ 0xC0000011, "STATUS_END_OF_FILE", ENODATA },
		{ 0xC000006D, "STATUS_LOGON_FAILURE", EACCES },
		{ 0xC00000C9, "STATUS_NETWORK_NAME_DELETED", EREMCHG },
		{ 0xC00000B5, "STATUS_IO_TIMEOUT", EAGAIN },
		{ 0xC0000203, "STATUS_USER_SESSION_DELETED", EIO },
		{ 0xC0000043, "STATUS_SHARING_VIOLATION", EBUSY },
		{ 0xC000007F, "STATUS_DISK_FULL", ENOSPC },
		{ 0xC0000035, "STATUS_OBJECT_NAME_COLLISION", EEXIST },
		{ 0xC000000D, "STATUS_INVALID_PARAMETER", EINVAL },
		{ 0xC000003A, "STATUS_OBJECT_PATH_NOT_FOUND", ENOENT },
		{ 0xC0000101, "STATUS_DIRECTORY_NOT_EMPTY", ENOTEMPTY },
		{ 0xC000035C, "STATUS_NETWORK_SESSION_EXPIRED", EIO },
	};
	uint32_t v;

	(void)st;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(aod_ntstatus_name(want[i].v), want[i].name);
		assert_int_equal(aod_ntstatus_to_errno(want[i].v), want[i].err);
		v = 0;
		assert_int_equal(aod_ntstatus_from_name(want[i].name, &v), 0);
		assert_int_equal(v, want[i].v);
	}
	assert_int_equal(aod_ntstatus_from_name("status_access_denied", &v), 0);
	assert_int_equal(v, 0xC0000022);
	assert_int_equal(aod_ntstatus_from_name("0xc0000022", &v), 0);
	assert_int_equal(v, 0xC0000022);
	assert_int_equal(aod_ntstatus_from_name("0xC0001234", &v), 0);
	assert_int_equal(v, 0xC0001234);
	assert_int_equal(aod_ntstatus_from_name("0x", &v), -1);
	assert_int_equal(aod_ntstatus_from_name("0x1FFFFFFFF", &v), -1);
	assert_int_equal(aod_ntstatus_from_name("0xC000002G", &v), -1);
	assert_int_equal(aod_ntstatus_from_name("STATUS_NOPE", &v), -1);
	assert_null(aod_ntstatus_name(0xC0001234));
	assert_int_equal(aod_ntstatus_to_errno(0xC0001234), 0);
}

static void test_errno_table(void **st)
{
	static const struct { int v; const char *name; } want[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EIO, "EIO" },
		{ EAGAIN, "EAGAIN" }, { EACCES, "EACCES" }, { EBUSY, "EBUSY" },
		{ EEXIST, "EEXIST" }, { EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" },
		{ EROFS, "EROFS" }, { EPIPE, "EPIPE" }, { EDEADLK, "EDEADLK" },
		{ ENAMETOOLONG, "ENAMETOOLONG" }, { ENOTEMPTY, "ENOTEMPTY" },
		{ ENODATA, "ENODATA" }, { EREMOTE, "EREMOTE" }, { EREMCHG, "EREMCHG" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { ECONNABORTED, "ECONNABORTED" },
		{ ECONNRESET, "ECONNRESET" }, { ETIMEDOUT, "ETIMEDOUT" },
		{ EHOSTDOWN, "EHOSTDOWN" }, { ESTALE, "ESTALE" },
		{ EREMOTEIO, "EREMOTEIO" }, { EDQUOT, "EDQUOT" },
		{ EKEYEXPIRED, "EKEYEXPIRED" }, { EKEYREVOKED, "EKEYREVOKED" },
		{ ECANCELED, "ECANCELED" }, { EHWPOISON, "EHWPOISON" },
	};

	(void)st;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(aod_errno_name(want[i].v), want[i].name);
		assert_int_equal(aod_errno_from_name(want[i].name), want[i].v);
	}
	/* every value glibc knows a name for has one here too */
	for (int e = 1; e <= 133; e++)
		if (e != 41 && e != 58)
			assert_non_null(aod_errno_name(e));
	assert_int_equal(aod_errno_from_name("EWOULDBLOCK"), EAGAIN);
	assert_int_equal(aod_errno_from_name("ENOTSUP"), EOPNOTSUPP);
	assert_int_equal(aod_errno_from_name("EDEADLOCK"), EDEADLK);
	assert_int_equal(aod_errno_from_name("eacces"), EACCES);
	assert_int_equal(aod_errno_from_name("ERESTARTSYS"), 512);
	assert_string_equal(aod_errno_name(524), "ENOTSUPP");
	assert_int_equal(aod_errno_from_name("EACCESS"), -1);
	assert_null(aod_errno_name(0));
	assert_null(aod_errno_name(-13));
	assert_null(aod_errno_name(41));
	assert_null(aod_errno_name(4000));
}

static void test_benign_and_names(void **st)
{
	(void)st;
	assert_true(aod_ntstatus_is_benign(0xC0000016));
	assert_true(aod_ntstatus_is_benign(0x80000006));
	assert_true(aod_ntstatus_is_benign(0xC0000011));
	assert_true(aod_ntstatus_is_benign(0xC0000034));
	assert_false(aod_ntstatus_is_benign(0xC0000022));
	assert_false(aod_ntstatus_is_benign(0xC000003A));
	assert_false(aod_ntstatus_is_benign(0));
	assert_string_equal(aod_tool_name(AOD_TOOL_SMBSLOWER), "smbslower");
	assert_string_equal(aod_tool_name(AOD_TOOL_SMBIOSNOOP), "smbiosnoop");
	assert_string_equal(aod_tool_name(AOD_TOOL_BIOLATENCY), "biolatency");
	assert_string_equal(aod_tool_name(AOD_TOOL_BIOERROR), "bioerror");
	assert_string_equal(aod_mode_name(AOD_MODE_ALL), "all");
	assert_string_equal(aod_mode_name(AOD_MODE_TRACKONLY), "trackonly");
	assert_string_equal(aod_mode_name(AOD_MODE_EXCLUDEONLY), "excludeonly");
}

/* ---- whole files ---- */

static void assert_builtin_actions(uint32_t n, const char names[][AOD_ACTION_NAME_LEN])
{
	assert_int_equal(n, 7);
	for (int i = 0; i < 7; i++)
		assert_string_equal(names[i], builtin7[i]);
}

static void test_defaults(void **st)
{
	struct state *s = *st;
	struct aod_config *c = &s->a;

	aod_config_defaults(c);
	assert_int_equal(c->watch_interval_sec, 1);
	assert_string_equal(c->output_dir, "/var/log/aod");
	assert_int_equal(c->nrules, 0);
	assert_int_equal(c->cleanup.cleanup_interval_sec, 60);
	assert_true(c->cleanup.max_log_age_days == 2);
	assert_true(c->cleanup.max_total_log_size_mb == 200);
	assert_builtin_actions(c->watcher.nactions, c->watcher.actions);
	assert_int_equal(c->watcher.ncustom, 0);
	assert_int_equal(c->watcher.max_concurrent_tasks, 4);
	assert_int_equal(c->watcher.action_timeout_sec, 10);
	assert_int_equal(c->watcher.action_max_bytes, 16 << 20);
	assert_int_equal(c->watcher.lookback_sec, 300);
	assert_int_equal(c->watcher.flight_recorder_sec, 60);
	assert_int_equal(c->watcher.flight_recorder_max_events, 65536);
	assert_true(c->watcher.max_bundle_mb == 0);
	assert_int_equal(c->watcher.zstd_level, 3);
	assert_string_equal(c->agent.control_socket, "/run/aod/aod.sock");
	assert_int_equal(c->agent.ringbuf_mb, 1);
	assert_int_equal(c->agent.smb_inflight_timeout_sec, 30);
	assert_int_equal(c->agent.stuck_sweep_ms, 250);
	assert_true(c->cleanup.max_anomaly_log_mb == 20);
	assert_false(c->audit_enabled);
}

static void test_seed_example(void **st)
{
	struct state *s = *st;
	struct aod_config *c = &s->a;
	const struct aod_rule *lat, *err;
	char path[PATH_MAX];

	top_path(path, sizeof(path), "tests/configs/valid/seed-example.yaml");
	if (aod_config_load_file(c, path, &s->err))
		fail_msg("%s", s->err.msg);
	assert_int_equal(c->watch_interval_sec, 1);
	assert_string_equal(c->output_dir, "/var/log/aod");
	assert_int_equal(c->nrules, 2);

	lat = rule(c, "latency");
	assert_int_equal(lat->type, AOD_RULE_LATENCY);
	assert_int_equal(lat->tool, AOD_TOOL_SMBSLOWER);
	assert_int_equal(lat->source, AOD_SOURCE_SMB);
	assert_int_equal(lat->mode, AOD_MODE_ALL);
	assert_int_equal(lat->acceptable_count, 10);
	assert_int_equal(lat->default_threshold_ns, 10 * MS);
	assert_int_equal(lat->emergency_threshold_ns, 1000 * MS);
	assert_int_equal(lat->holdoff_sec, 60);
	/* mode all: every command at the default, READ and WRITE overridden */
	for (unsigned i = 0; i < 20; i++) {
		uint64_t want = i == 8 ? 8 * MS : i == 9 ? 12 * MS : 10 * MS;

		assert_true(lat->cmd_tracked[i]);
		assert_int_equal(lat->cmd_threshold_ns[i], want);
	}
	assert_builtin_actions(lat->nactions, lat->actions);

	err = rule(c, "error");
	assert_int_equal(err->type, AOD_RULE_ERROR);
	assert_int_equal(err->tool, AOD_TOOL_SMBIOSNOOP);
	assert_int_equal(err->mode, AOD_MODE_ALL);
	assert_int_equal(err->acceptable_count, 10);
	assert_int_equal(err->ntrack_codes, 2);
	assert_int_equal(err->track_codes[0].kind, AOD_CODE_ERRNO);
	assert_int_equal(err->track_codes[0].value, EACCES);
	assert_string_equal(err->track_codes[0].name, "EACCES");
	assert_int_equal(err->track_codes[1].value, EIO);
	assert_int_equal(err->nexclude_codes, 0);
	/* mode all, as AODv2 had it: every non-benign error counts */
	assert_true(aod_rule_error_tracked(err, 0xC0000022, -EACCES));
	assert_true(aod_rule_error_tracked(err, 0xC0000043, -EBUSY));
	assert_false(aod_rule_error_tracked(err, 0xC0000034, -ENOENT));

	assert_int_equal(c->cleanup.cleanup_interval_sec, 60);
	assert_true(c->cleanup.max_log_age_days == 2);
	assert_true(c->cleanup.max_total_log_size_mb == 200);
	assert_builtin_actions(c->watcher.nactions, c->watcher.actions);
	assert_non_null(strstr(c->source_path, "seed-example.yaml"));
	assert_int_equal(c->source_path[0], '/');
	assert_int_not_equal(c->hash, 0);
}

static void check_repo_default(struct aod_config *c)
{
	char cwd[PATH_MAX], want[PATH_MAX + 16];
	const struct aod_rule *r;
	uint64_t t;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/var/aod", cwd);
	assert_string_equal(c->output_dir, want);
	snprintf(want, sizeof(want), "%s/var/aod.sock", cwd);
	assert_string_equal(c->agent.control_socket, want);
	assert_int_equal(c->nrules, 4);
	assert_int_equal(rule(c, "latency")->tool, AOD_TOOL_SMBSLOWER);
	r = rule(c, "error");
	assert_int_equal(r->tool, AOD_TOOL_SMBIOSNOOP);
	assert_true(aod_rule_error_tracked(r, 0xC0000022, -EACCES));
	assert_false(aod_rule_error_tracked(r, 0xC0000043, -EBUSY));
	r = rule(c, "block_latency");
	assert_int_equal(r->tool, AOD_TOOL_BIOLATENCY);
	assert_int_equal(r->type, AOD_RULE_LATENCY);
	assert_int_equal(r->source, AOD_SOURCE_BLOCK);
	assert_true(aod_rule_blk_threshold(r, "vda", &t));
	r = rule(c, "block_error");
	assert_int_equal(r->tool, AOD_TOOL_BIOERROR);
	assert_int_equal(r->type, AOD_RULE_ERROR);
	assert_true(aod_rule_error_tracked(r, 0, -EIO));
}

static void test_repo_default_config(void **st)
{
	struct state *s = *st;
	char path[PATH_MAX];

	top_path(path, sizeof(path), "config/aod.yaml");
	if (aod_config_load_file(&s->a, path, &s->err))
		fail_msg("%s", s->err.msg);
	check_repo_default(&s->a);
	/* the binary embeds the same file */
	if (aod_config_load_buffer(&s->b, "<embedded>", aod_default_config_yaml,
				   aod_default_config_yaml_len, &s->err))
		fail_msg("%s", s->err.msg);
	check_repo_default(&s->b);
	assert_int_equal(s->a.hash, s->b.hash);
	assert_string_equal(s->b.source_path, "<embedded>");
}

/* ---- round trip ---- */

static void assert_rules_equal(const struct aod_rule *x, const struct aod_rule *y)
{
	assert_string_equal(x->name, y->name);
	assert_int_equal(x->type, y->type);
	assert_int_equal(x->tool, y->tool);
	assert_int_equal(x->source, y->source);
	assert_int_equal(x->mode, y->mode);
	assert_int_equal(x->acceptable_count, y->acceptable_count);
	assert_int_equal(x->default_threshold_ns, y->default_threshold_ns);
	assert_int_equal(x->emergency_threshold_ns, y->emergency_threshold_ns);
	assert_int_equal(x->holdoff_sec, y->holdoff_sec);
	assert_memory_equal(x->cmd_tracked, y->cmd_tracked, sizeof(x->cmd_tracked));
	assert_memory_equal(x->cmd_threshold_ns, y->cmd_threshold_ns,
			    sizeof(x->cmd_threshold_ns));
	assert_int_equal(x->ndevices, y->ndevices);
	for (uint32_t i = 0; i < x->ndevices; i++) {
		assert_string_equal(x->devices[i].name, y->devices[i].name);
		assert_int_equal(x->devices[i].threshold_ns, y->devices[i].threshold_ns);
	}
	assert_int_equal(x->nexclude_devices, y->nexclude_devices);
	for (uint32_t i = 0; i < x->nexclude_devices; i++)
		assert_string_equal(x->exclude_devices[i], y->exclude_devices[i]);
	assert_int_equal(x->ntrack_codes, y->ntrack_codes);
	assert_memory_equal(x->track_codes, y->track_codes,
			    x->ntrack_codes * sizeof(x->track_codes[0]));
	assert_int_equal(x->nexclude_codes, y->nexclude_codes);
	assert_memory_equal(x->exclude_codes, y->exclude_codes,
			    x->nexclude_codes * sizeof(x->exclude_codes[0]));
	assert_int_equal(x->nactions, y->nactions);
	for (uint32_t i = 0; i < x->nactions; i++)
		assert_string_equal(x->actions[i], y->actions[i]);
}

static void assert_configs_equal(const struct aod_config *x, const struct aod_config *y)
{
	assert_int_equal(x->watch_interval_sec, y->watch_interval_sec);
	assert_string_equal(x->output_dir, y->output_dir);
	assert_int_equal(x->nrules, y->nrules);
	for (uint32_t i = 0; i < x->nrules; i++)
		assert_rules_equal(&x->rules[i], &y->rules[i]);
	assert_int_equal(x->cleanup.cleanup_interval_sec, y->cleanup.cleanup_interval_sec);
	assert_true(x->cleanup.max_log_age_days == y->cleanup.max_log_age_days);
	assert_true(x->cleanup.max_total_log_size_mb == y->cleanup.max_total_log_size_mb);
	assert_int_equal(x->watcher.nactions, y->watcher.nactions);
	for (uint32_t i = 0; i < x->watcher.nactions; i++)
		assert_string_equal(x->watcher.actions[i], y->watcher.actions[i]);
	assert_int_equal(x->watcher.ncustom, y->watcher.ncustom);
	for (uint32_t i = 0; i < x->watcher.ncustom; i++) {
		const struct aod_custom_action *a = &x->watcher.custom[i], *b = &y->watcher.custom[i];

		assert_string_equal(a->name, b->name);
		assert_int_equal(a->argc, b->argc);
		for (uint32_t j = 0; j < a->argc; j++)
			assert_string_equal(a->argv[j], b->argv[j]);
		assert_int_equal(a->timeout_sec, b->timeout_sec);
		assert_int_equal(a->max_bytes, b->max_bytes);
	}
	assert_int_equal(x->watcher.max_concurrent_tasks, y->watcher.max_concurrent_tasks);
	assert_int_equal(x->watcher.action_timeout_sec, y->watcher.action_timeout_sec);
	assert_int_equal(x->watcher.action_timeout_set, y->watcher.action_timeout_set);
	for (int i = 0; i < AOD_BUILTIN_COUNT; i++)
		assert_int_equal(x->watcher.action_timeouts[i], y->watcher.action_timeouts[i]);
	assert_int_equal(x->watcher.action_max_bytes, y->watcher.action_max_bytes);
	assert_int_equal(x->watcher.lookback_sec, y->watcher.lookback_sec);
	assert_int_equal(x->watcher.flight_recorder_sec, y->watcher.flight_recorder_sec);
	assert_int_equal(x->watcher.flight_recorder_max_events,
			 y->watcher.flight_recorder_max_events);
	assert_true(x->watcher.max_bundle_mb == y->watcher.max_bundle_mb);
	assert_int_equal(x->watcher.zstd_level, y->watcher.zstd_level);
	assert_string_equal(x->agent.control_socket, y->agent.control_socket);
	assert_int_equal(x->agent.ringbuf_mb, y->agent.ringbuf_mb);
	assert_int_equal(x->agent.smb_inflight_timeout_sec, y->agent.smb_inflight_timeout_sec);
	assert_int_equal(x->audit_enabled, y->audit_enabled);
	assert_string_equal(x->http.listen, y->http.listen);
	assert_string_equal(x->http.tls_cert_file, y->http.tls_cert_file);
	assert_string_equal(x->http.tls_key_file, y->http.tls_key_file);
	assert_int_equal(x->http.nusers, y->http.nusers);
	for (uint32_t i = 0; i < x->http.nusers; i++) {
		assert_string_equal(x->http.users[i].name, y->http.users[i].name);
		assert_string_equal(x->http.users[i].hash, y->http.users[i].hash);
	}
	assert_int_equal(x->http.insecure_remote, y->http.insecure_remote);
	assert_string_equal(x->http.token_file, y->http.token_file);
	assert_int_equal(x->metrics.bpf_stats, y->metrics.bpf_stats);
}

/* print a, load the text into b, compare; the printed text must be stable */
static void round_trip(struct state *s)
{
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(aod_config_print(&s->a, f), 0);
	fclose(f);
	if (aod_config_load_buffer(&s->b, "printed.yaml", text, len, &s->err))
		fail_msg("printed config does not load: %s\n%s", s->err.msg, text);
	assert_configs_equal(&s->a, &s->b);
	f = open_memstream(&text2, &len2);
	assert_non_null(f);
	assert_int_equal(aod_config_print(&s->b, f), 0);
	fclose(f);
	/* identical after the three comment lines (source and hash differ) */
	for (int i = 0; i < 3; i++) {
		assert_non_null(strchr(text, '\n'));
		assert_non_null(strchr(text2, '\n'));
		memmove(text, strchr(text, '\n') + 1, strlen(strchr(text, '\n') + 1) + 1);
		memmove(text2, strchr(text2, '\n') + 1, strlen(strchr(text2, '\n') + 1) + 1);
	}
	assert_string_equal(text, text2);
	free(text);
	free(text2);
}

static const char rich_config[] = HEAD
	"guardian:\n"
	"  anomalies:\n"
	"    smb_slow:\n"
	"      type: latency\n"
	"      tool: SMBSLOWER\n"
	"      mode: TrackOnly\n"
	"      acceptable_count: 3\n"
	"      default_threshold_ms: 2.5\n"
	"      emergency_threshold_ms: 250.125\n"
	"      holdoff_sec: 0\n"
	"      track_commands:\n"
	"        - command: smb2_read\n"
	"          threshold: 0.001\n"
	"        - WRITE\n"
	"        - {command: SMB2_CREATE, threshold: 0}\n"
	"      actions: [stats, slowcmd]\n"
	"    smb_slow_all:\n"
	"      type: Latency\n"
	"      tool: smbsloweraod\n"
	"      acceptable_count: 1\n"
	"      track_commands: [{command: SMB2_IOCTL, threshold: 100}]\n"
	"      exclude_commands: [SMB2_ECHO, SMB2_OPLOCK_BREAK]\n"
	"    disks:\n"
	"      type: Latency\n"
	"      tool: biolatency\n"
	"      acceptable_count: 5\n"
	"      default_threshold_ms: 30\n"
	"      track_devices: [{device: vda, threshold: 20}, nvme0n1]\n"
	"      exclude_devices: [sr0, loop0]\n"
	"    smb_err:\n"
	"      type: Error\n"
	"      tool: smbiosnoop\n"
	"      mode: trackonly\n"
	"      acceptable_count: 2\n"
	"      track_codes: [EACCES, STATUS_LOGON_FAILURE, 0xC0000034, 0xC0001234]\n"
	"    smb_err_all:\n"
	"      type: Error\n"
	"      tool: smbiosnoop\n"
	"      acceptable_count: 2\n"
	"      exclude_codes: [ENOENT, STATUS_SHARING_VIOLATION]\n"
	"    disk_err:\n"
	"      type: Error\n"
	"      tool: bioerror\n"
	"      mode: excludeonly\n"
	"      acceptable_count: 1\n"
	"      exclude_codes: [EOPNOTSUPP]\n"
	"      actions: []\n"
	"cleanup:\n"
	"  cleanup_interval_sec: 5\n"
	"  max_log_age_days: 0.25\n"
	"  max_total_log_size_mb: 0.5\n"
	"watcher:\n"
	"  actions: [dmesg, slowcmd]\n"
	"  custom_actions:\n"
	"    - name: slowcmd\n"
	"      argv: [\"/bin/sleep\", \"30\"]\n"
	"      timeout_sec: 2\n"
	"      max_bytes: 1048576\n"
	"    - name: odd-args\n"
	"      argv: [\"/bin/echo\", \"a \\\"quoted\\\" \\\\ arg\", \"tab\\there\", \"#not a comment\", \"\"]\n"
	"  max_concurrent_tasks: 2\n"
	"  action_timeout_sec: 7\n"
	"  action_max_bytes: 4096\n"
	"  lookback_sec: 60\n"
	"  flight_recorder_sec: 0\n"
	"  flight_recorder_max_events: 100\n"
	"  max_bundle_mb: 0.1\n"
	"  zstd_level: 19\n"
	"audit:\n"
	"  enabled: yes\n"
	"agent:\n"
	"  control_socket: /tmp/aod test.sock\n"
	"  ringbuf_mb: 16\n"
	"  smb_inflight_timeout_sec: 5\n";

static void test_rich_config(void **st)
{
	struct state *s = *st;
	struct aod_config *c = &s->a;
	const struct aod_rule *r;
	const struct aod_custom_action *a;
	uint64_t t;

	load_ok(s, c, rich_config);
	assert_int_equal(c->nrules, 6);
	r = rule(c, "smb_slow");
	assert_int_equal(r->mode, AOD_MODE_TRACKONLY);
	assert_int_equal(r->default_threshold_ns, 2500000);
	assert_int_equal(r->emergency_threshold_ns, 250125000);
	assert_int_equal(r->holdoff_sec, 0);
	assert_int_equal(r->nactions, 2);
	assert_string_equal(r->actions[1], "slowcmd");
	assert_true(aod_rule_smb_threshold(r, 8, &t));
	assert_int_equal(t, 1000);
	assert_true(aod_rule_smb_threshold(r, 9, &t));
	assert_int_equal(t, 2500000);
	assert_true(aod_rule_smb_threshold(r, 5, &t));
	assert_int_equal(t, 0);
	assert_false(aod_rule_smb_threshold(r, 6, &t));

	r = rule(c, "smb_slow_all");
	assert_int_equal(r->tool, AOD_TOOL_SMBSLOWER);
	assert_false(aod_rule_smb_threshold(r, 13, &t));
	assert_false(aod_rule_smb_threshold(r, 18, &t));
	assert_true(aod_rule_smb_threshold(r, 11, &t));
	assert_int_equal(t, 100 * MS);
	assert_true(aod_rule_smb_threshold(r, 0, &t));
	assert_int_equal(t, 10 * MS);

	r = rule(c, "disk_err");
	assert_int_equal(r->nactions, 2); /* empty list: the watcher's default */
	assert_string_equal(r->actions[0], "dmesg");
	assert_string_equal(r->actions[1], "slowcmd");

	assert_int_equal(c->watcher.ncustom, 2);
	a = &c->watcher.custom[0];
	assert_string_equal(a->name, "slowcmd");
	assert_int_equal(a->argc, 2);
	assert_string_equal(a->argv[0], "/bin/sleep");
	assert_string_equal(a->argv[1], "30");
	assert_int_equal(a->timeout_sec, 2);
	assert_int_equal(a->max_bytes, 1048576);
	a = &c->watcher.custom[1];
	assert_int_equal(a->argc, 5);
	assert_string_equal(a->argv[1], "a \"quoted\" \\ arg");
	assert_string_equal(a->argv[2], "tab\there");
	assert_string_equal(a->argv[4], "");
	/* unset limits are inherited from the watcher */
	assert_int_equal(a->timeout_sec, 7);
	assert_int_equal(a->max_bytes, 4096);
	assert_true(c->watcher.max_bundle_mb == 0.1);
	assert_int_equal(c->watcher.zstd_level, 19);
	assert_true(c->audit_enabled);
	assert_string_equal(c->agent.control_socket, "/tmp/aod test.sock");
	assert_int_equal(c->agent.ringbuf_mb, 16);
	assert_true(c->cleanup.max_log_age_days == 0.25);
	round_trip(s);
}

/*
 * Milliseconds round to the nearest ns. Where 0 is not allowed a value that
 * rounds to 0 is rejected (it used to load as 0 ns, silently disabling
 * emergencies, and print a config that did not load); the printed ms
 * reproduce the ns exactly.
 */
static void test_ms_rounding(void **st)
{
	struct state *s = *st;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	const struct aod_rule *r;

#define LAT HEAD "guardian:\n  anomalies:\n    l:\n      type: Latency\n      tool: smbslower\n" \
	    "      acceptable_count: 1\n"
	load_fails(s, LAT "      emergency_threshold_ms: 0.0000001\n",
		   "test.yaml:9:31: guardian.anomalies.l.emergency_threshold_ms: expected a number of "
		   "milliseconds >= 0.000001 (1 ns) and <= 3600000, got '0.0000001', which rounds to 0 ns");
	load_fails(s, LAT "      emergency_threshold_ms: 0.00000049\n", "which rounds to 0 ns");
	load_ok(s, &s->a, LAT "      default_threshold_ms: 0.0000001\n"
		"      emergency_threshold_ms: 0.0000005001\n"
		"      track_commands: [{command: SMB2_READ, threshold: 1234.5678915}]\n");
#undef LAT
	r = rule(&s->a, "l");
	assert_int_equal(r->default_threshold_ns, 0);
	assert_int_equal(r->emergency_threshold_ns, 1);
	assert_int_equal(r->cmd_threshold_ns[8], 1234567892);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(aod_config_print(&s->a, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "      default_threshold_ms: 0\n"));
	assert_non_null(strstr(text, "      emergency_threshold_ms: 0.000001\n"));
	assert_non_null(strstr(text, "          threshold: 1234.567892\n"));
	free(text);
	round_trip(s);
}

/*
 * Strings the printer must escape to load back the same: C1 controls, NEL,
 * LS/PS (folded as line breaks), BOM, non-characters (rejected raw).
 */
static void test_print_unicode(void **st)
{
	struct state *s = *st;
	const struct aod_custom_action *a;

	load_ok(s, &s->a, HEAD "watcher:\n  custom_actions:\n    - name: u\n"
		"      argv: [\"/bin/echo\", \"\\x80\\x85\\u2028\\u2029\\uFEFF\\uFFFE\\uFFFF\", "
		"\"caf\\xe9 \\U0001F600 \\t\\\\\"]\n");
	a = &s->a.watcher.custom[0];
	assert_string_equal(a->argv[1], "\xc2\x80\xc2\x85\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf"
			    "\xef\xbf\xbe\xef\xbf\xbf");
	assert_string_equal(a->argv[2], "caf\xc3\xa9 \xf0\x9f\x98\x80 \t\\");
	round_trip(s);
}

/* Names may start with '-', which YAML reads as a list entry unless quoted. */
static void test_print_dash_names(void **st)
{
	struct state *s = *st;

	load_ok(s, &s->a, HEAD "guardian:\n  anomalies:\n    \"-\":\n      type: Error\n"
		"      tool: bioerror\n      acceptable_count: 1\n      actions: [\"-\", -x]\n"
		"watcher:\n  custom_actions:\n    - {name: \"-\", argv: [/bin/true]}\n"
		"    - {name: -x, argv: [/bin/true]}\n");
	assert_string_equal(s->a.rules[0].name, "-");
	assert_string_equal(s->a.watcher.custom[0].name, "-");
	round_trip(s);
}

static void test_round_trip_repo_default(void **st)
{
	struct state *s = *st;
	char path[PATH_MAX];

	top_path(path, sizeof(path), "config/aod.yaml");
	if (aod_config_load_file(&s->a, path, &s->err))
		fail_msg("%s", s->err.msg);
	round_trip(s);
}

static void test_valid_corpus(void **st)
{
	struct state *s = *st;
	char dir[PATH_MAX], path[PATH_MAX * 2];
	struct dirent *e;
	DIR *d;
	int n = 0;

	top_path(dir, sizeof(dir), "tests/configs/valid");
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l < 6 || strcmp(e->d_name + l - 5, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (aod_config_load_file(&s->a, path, &s->err))
			fail_msg("%s: %s", e->d_name, s->err.msg);
		round_trip(s);
		n++;
	}
	closedir(d);
	assert_true(n >= 3);
}

/* ---- the invalid corpus ---- */

static void check_invalid_file(struct state *s, const char *dir, const char *name)
{
	char path[PATH_MAX * 2], line1[512], line2[64], prefix[PATH_MAX * 2 + 80];
	char *nl;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line1, sizeof(line1), f));
	assert_non_null(fgets(line2, sizeof(line2), f));
	fclose(f);
	if (strncmp(line1, "# expect: ", 10) || strncmp(line2, "# at: ", 6))
		fail_msg("%s: lines 1-2 must be '# expect: ...' and '# at: LINE:COL'", name);
	if ((nl = strchr(line1, '\n')))
		*nl = '\0';
	if ((nl = strchr(line2, '\n')))
		*nl = '\0';
	rc = aod_config_load_file(&s->a, path, &s->err);
	if (rc != -EINVAL)
		fail_msg("%s: expected -EINVAL, got %d (%s)", name, rc, s->err.msg);
	if (!strstr(s->err.msg, line1 + 10))
		fail_msg("%s: message\n  %s\nlacks\n  %s", name, s->err.msg, line1 + 10);
	snprintf(prefix, sizeof(prefix), "%s:%s: ", path, line2 + 6);
	if (strncmp(s->err.msg, prefix, strlen(prefix)))
		fail_msg("%s: message\n  %s\ndoes not start with\n  %s", name, s->err.msg, prefix);
	assert_null(strchr(s->err.msg, '\n'));
}

static void test_invalid_corpus(void **st)
{
	struct state *s = *st;
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	top_path(dir, sizeof(dir), "tests/configs/invalid");
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l < 6 || strcmp(e->d_name + l - 5, ".yaml"))
			continue;
		check_invalid_file(s, dir, e->d_name);
		n++;
	}
	closedir(d);
	assert_true(n >= 25);
}

/* ---- action timeouts: built-in defaults, action_timeout_sec, action_timeouts ---- */

static void test_action_timeouts(void **st)
{
	struct state *s = *st;
	struct aod_config *c = &s->a;

	load_ok(s, c, HEAD "watcher:\n  custom_actions: [{name: x, argv: [/bin/true]}]\n");
	assert_false(c->watcher.action_timeout_set);
	assert_int_equal(c->watcher.custom[0].timeout_sec, 10);
	assert_int_equal(aod_config_builtin_timeout(c, "journalctl"), 20);
	assert_int_equal(aod_config_builtin_timeout(c, "meminfo"), 3);
	assert_int_equal(aod_config_builtin_timeout(c, "nosuch"), 0);
	for (int i = 0; i < AOD_BUILTIN_COUNT; i++)
		assert_int_equal(c->watcher.action_timeouts[i], aod_builtin_timeouts[i].sec);
	round_trip(s);

	/* an explicit action_timeout_sec: every built-in and the custom default */
	load_ok(s, c, HEAD "watcher:\n  action_timeout_sec: 7\n"
		"  custom_actions: [{name: x, argv: [/bin/true]}]\n");
	assert_true(c->watcher.action_timeout_set);
	assert_int_equal(c->watcher.custom[0].timeout_sec, 7);
	for (int i = 0; i < AOD_BUILTIN_COUNT; i++)
		assert_int_equal(c->watcher.action_timeouts[i], 7);
	round_trip(s);

	/* action_timeouts wins for the built-ins it names, in any key order */
	load_ok(s, c, HEAD "watcher:\n  action_timeouts: {smbinfo: 45, processes: 1}\n"
		"  action_timeout_sec: 7\n");
	assert_int_equal(aod_config_builtin_timeout(c, "smbinfo"), 45);
	assert_int_equal(aod_config_builtin_timeout(c, "processes"), 1);
	assert_int_equal(aod_config_builtin_timeout(c, "dmesg"), 7);
	round_trip(s);
	load_ok(s, c, HEAD "watcher:\n  action_timeouts: {syslogs: 2}\n");
	assert_int_equal(aod_config_builtin_timeout(c, "syslogs"), 2);
	assert_int_equal(aod_config_builtin_timeout(c, "journalctl"), 20);
	round_trip(s);

	load_fails(s, HEAD "watcher:\n  action_timeouts: {syslog: 2}\n",
		   "watcher.action_timeouts.syslog: unknown key; did you mean 'syslogs'?");
	load_fails(s, HEAD "watcher:\n  action_timeouts: {dmesg: 0}\n",
		   "watcher.action_timeouts.dmesg: expected an integer >= 1 and <= 3600");
	load_fails(s, HEAD "watcher:\n  action_timeouts: [dmesg]\n",
		   "watcher.action_timeouts: expected a mapping of built-in action names to seconds");
}

/* ---- validation rules, inline ---- */

static void test_required_and_types(void **st)
{
	struct state *s = *st;

	load_fails(s, "aod_output_dir: /x\n", "test.yaml:1:1: watch_interval_sec: required key missing");
	load_fails(s, "watch_interval_sec: 1\n", "aod_output_dir: required key missing");
	load_fails(s, "watch_interval_sec: 0\naod_output_dir: /x\n",
		   "test.yaml:1:21: watch_interval_sec: expected an integer >= 1");
	load_fails(s, "watch_interval_sec: 1.5\naod_output_dir: /x\n", "got '1.5'");
	load_fails(s, "watch_interval_sec: [1]\naod_output_dir: /x\n", "got a list");
	load_fails(s, "watch_interval_sec: {a: 1}\naod_output_dir: /x\n", "got a mapping");
	load_fails(s, "watch_interval_sec:\naod_output_dir: /x\n", "got nothing");
	load_fails(s, HEAD "cleanup: 5\n", "cleanup: expected a mapping, got '5'");
	load_fails(s, HEAD "cleanup:\n  max_log_age_days: 0\n",
		   "cleanup.max_log_age_days: expected a number of days > 0");
	load_fails(s, HEAD "agent:\n  ringbuf_mb: 2048\n", "expected an integer >= 1 and <= 1024");
	load_fails(s, HEAD "watcher:\n  zstd_level: 0\n", "expected an integer >= 1 and <= 19");
	load_fails(s, HEAD "watcher:\n  max_concurrent_tasks: 0\n", "max_concurrent_tasks: expected an integer >= 1");
	load_fails(s, HEAD "watcher:\n  max_bundle_mb: -1\n", "expected a number of MiB >= 0");
	load_fails(s, HEAD "audit:\n  enabled: 1\n", "expected true or false");
	load_fails(s, HEAD "guardian:\n  anomalys: {}\n", "did you mean 'anomalies'?");
	load_fails(s, HEAD "guardian:\n  anomalies:\n    x:\n      tool: bioerror\n      acceptable_count: 1\n",
		   "guardian.anomalies.x.type: required key missing");
	load_fails(s, HEAD "guardian:\n  anomalies:\n    x:\n      type: Error\n      acceptable_count: 1\n",
		   "guardian.anomalies.x.tool: required key missing");
	load_fails(s, HEAD "guardian:\n  anomalies:\n    x:\n      type: Error\n      tool: smbiosnoop\n"
		   "      acceptable_count: 1\n      track_codes: [EIO]\n      track_codes: [EIO]\n",
		   "duplicate key (first at line");
	load_fails(s, HEAD "guardian:\n  anomalies:\n    x:\n      type: Latency\n      tool: biolatency\n"
		   "      acceptable_count: 1\n      exclude_devices: [\"a b\"]\n", "expected a disk name");
}

static void test_all_errors_one_line_with_location(void **st)
{
	struct state *s = *st;

	load_fails(s, HEAD "guardian:\n  anomalies:\n    latency:\n      type: Latency\n"
		   "      tool: smbslower\n      acceptable_count: 10\n      exclude_commands: [SMB2_ECHO, SMB2_ECHOO]\n",
		   "test.yaml:9:37: guardian.anomalies.latency.exclude_commands[1]: expected an SMB2 command");
	load_fails(s, HEAD "guardian: [\n", "test.yaml:4:1: YAML syntax error:");
	load_fails(s, "a: b: c\n", "test.yaml:1:5: YAML syntax error: mapping values are not allowed");
	/* keys and values from the file are escaped (found by fuzz_config) */
	load_fails(s, HEAD "\"bad\\nkey\": 1\n", "test.yaml:3:1: bad\\x0akey: unknown key");
	load_fails(s, HEAD "watcher:\n  zstd_level: \"\\e[2J\"\n", "got \"\\x1b[2J\" (quoted");
}

static void test_failed_load_keeps_config(void **st)
{
	struct state *s = *st;

	load_ok(s, &s->a, HEAD "watcher:\n  zstd_level: 7\n");
	assert_int_equal(s->a.watcher.zstd_level, 7);
	assert_int_equal(load(s, &s->a, HEAD "watcher:\n  zstd_level: 70\n"), -EINVAL);
	assert_int_equal(s->a.watcher.zstd_level, 7);
	assert_string_equal(s->a.output_dir, "/tmp/aod-test");
}

static void test_load_file_errors(void **st)
{
	struct state *s = *st;

	assert_int_equal(aod_config_load_file(&s->a, "/nonexistent/aod.yaml", &s->err), -ENOENT);
	assert_non_null(strstr(s->err.msg, "/nonexistent/aod.yaml: cannot read"));
	assert_int_equal(aod_config_load_file(&s->a, "/tmp", &s->err), -EINVAL);
	assert_non_null(strstr(s->err.msg, "expected a regular file"));
}

static void test_relative_paths(void **st)
{
	struct state *s = *st;
	char cwd[PATH_MAX], want[PATH_MAX + 32];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	load_ok(s, &s->a, "watch_interval_sec: 2\naod_output_dir: ./state/out\n"
		"agent:\n  control_socket: run/a.sock\n");
	snprintf(want, sizeof(want), "%s/state/out", cwd);
	assert_string_equal(s->a.output_dir, want);
	snprintf(want, sizeof(want), "%s/run/a.sock", cwd);
	assert_string_equal(s->a.agent.control_socket, want);
	assert_int_equal(s->a.watch_interval_sec, 2);
}

/* ---- effective tables ---- */

static void test_smb_thresholds(void **st)
{
	struct state *s = *st;
	const struct aod_rule *r;
	uint64_t t = 0;

	/* trackonly: only listed commands, missing threshold = default */
	load_ok(s, &s->a, HEAD "guardian:\n  anomalies:\n    l:\n      type: Latency\n"
		"      tool: smbslower\n      mode: trackonly\n      acceptable_count: 1\n"
		"      default_threshold_ms: 20\n      track_commands:\n"
		"        - command: SMB2_READ\n          threshold: 5\n        - command: SMB2_WRITE\n");
	r = &s->a.rules[0];
	assert_true(aod_rule_smb_threshold(r, 8, &t));
	assert_int_equal(t, 5 * MS);
	assert_true(aod_rule_smb_threshold(r, 9, &t));
	assert_int_equal(t, 20 * MS);
	for (unsigned i = 0; i < 20; i++)
		if (i != 8 && i != 9)
			assert_false(aod_rule_smb_threshold(r, i, &t));
	assert_false(aod_rule_smb_threshold(r, 20, &t));
	assert_false(aod_rule_smb_threshold(r, 65535, &t));
	assert_int_equal(r->emergency_threshold_ns, 1000 * MS);
	/* the other rule kinds never answer for SMB commands */
	assert_false(aod_rule_blk_threshold(r, "vda", &t));
	assert_false(aod_rule_error_tracked(r, 0xC0000022, -EACCES));

	/* all: default everywhere, overrides, excludes removed */
	load_ok(s, &s->a, HEAD "guardian:\n  anomalies:\n    l:\n      type: Latency\n"
		"      tool: smbslower\n      acceptable_count: 1\n"
		"      track_commands: [{command: SMB2_CREATE, threshold: 50}]\n"
		"      exclude_commands: [SMB2_ECHO]\n");
	r = &s->a.rules[0];
	assert_true(aod_rule_smb_threshold(r, 5, &t));
	assert_int_equal(t, 50 * MS);
	assert_true(aod_rule_smb_threshold(r, 8, &t));
	assert_int_equal(t, 10 * MS);
	assert_false(aod_rule_smb_threshold(r, 13, &t));

	/* excludeonly: every command not excluded, at the default */
	load_ok(s, &s->a, HEAD "guardian:\n  anomalies:\n    l:\n      type: Latency\n"
		"      tool: smbslower\n      mode: excludeonly\n      acceptable_count: 1\n"
		"      default_threshold_ms: 7\n      exclude_commands: [ECHO, oplock_break]\n");
	r = &s->a.rules[0];
	assert_false(aod_rule_smb_threshold(r, 13, &t));
	assert_false(aod_rule_smb_threshold(r, 18, &t));
	assert_true(aod_rule_smb_threshold(r, 0, &t));
	assert_int_equal(t, 7 * MS);
}

static void test_blk_thresholds(void **st)
{
	struct state *s = *st;
	const struct aod_rule *r;
	uint64_t t = 0;

	load_ok(s, &s->a, HEAD "guardian:\n  anomalies:\n    d:\n      type: Latency\n"
		"      tool: biolatency\n      acceptable_count: 1\n      default_threshold_ms: 30\n"
		"      emergency_threshold_ms: 500\n"
		"      track_devices: [{device: vda, threshold: 20}, sdb]\n"
		"      exclude_devices: [sr0]\n");
	r = &s->a.rules[0];
	assert_int_equal(r->source, AOD_SOURCE_BLOCK);
	assert_int_equal(r->emergency_threshold_ns, 500 * MS);
	assert_true(aod_rule_blk_threshold(r, "vda", &t));
	assert_int_equal(t, 20 * MS);
	assert_true(aod_rule_blk_threshold(r, "sdb", &t));
	assert_int_equal(t, 30 * MS);
	assert_true(aod_rule_blk_threshold(r, "nvme0n1", &t));
	assert_int_equal(t, 30 * MS);
	assert_false(aod_rule_blk_threshold(r, "sr0", &t));
	assert_false(aod_rule_smb_threshold(r, 8, &t));

	load_ok(s, &s->a, HEAD "guardian:\n  anomalies:\n    d:\n      type: Latency\n"
		"      tool: biolatency\n      mode: trackonly\n      acceptable_count: 1\n"
		"      track_devices: [vda]\n");
	r = &s->a.rules[0];
	assert_true(aod_rule_blk_threshold(r, "vda", &t));
	assert_int_equal(t, 10 * MS);
	assert_false(aod_rule_blk_threshold(r, "vdb", &t));
	assert_false(aod_rule_blk_threshold(r, "", &t));
	assert_false(aod_rule_blk_threshold(r, NULL, &t));

	load_ok(s, &s->a, HEAD "guardian:\n  anomalies:\n    d:\n      type: Latency\n"
		"      tool: biolatency\n      mode: excludeonly\n      acceptable_count: 1\n"
		"      exclude_devices: [loop0]\n");
	r = &s->a.rules[0];
	assert_false(aod_rule_blk_threshold(r, "loop0", &t));
	assert_true(aod_rule_blk_threshold(r, "sda", &t));
}

#define ERR_RULE(tool, mode, lists)                                            \
	HEAD "guardian:\n  anomalies:\n    e:\n      type: Error\n      tool: " tool \
	"\n      mode: " mode "\n      acceptable_count: 1\n" lists

static void test_error_tracking_smb(void **st)
{
	struct state *s = *st;
	const struct aod_rule *r = &s->a.rules[0];

	/* an errno name tracks rc == -errno: every status mapped to it */
	load_ok(s, &s->a, ERR_RULE("smbiosnoop", "trackonly", "      track_codes: [EACCES]\n"));
	assert_true(aod_rule_error_tracked(r, 0xC0000022, -13));
	assert_true(aod_rule_error_tracked(r, 0xC000006D, -EACCES)); /* LOGON_FAILURE */
	assert_false(aod_rule_error_tracked(r, 0xC0000043, -EBUSY));
	assert_false(aod_rule_error_tracked(r, 0, 0));

	/* an NTSTATUS name tracks that status only */
	load_ok(s, &s->a, ERR_RULE("smbiosnoop", "trackonly",
				   "      track_codes: [STATUS_ACCESS_DENIED]\n"));
	assert_int_equal(r->track_codes[0].kind, AOD_CODE_NTSTATUS);
	assert_int_equal(r->track_codes[0].value, 0xC0000022);
	assert_true(aod_rule_error_tracked(r, 0xC0000022, -13));
	assert_false(aod_rule_error_tracked(r, 0xC000006D, -13));

	/* hex: the same as the name, canonical name kept */
	load_ok(s, &s->a, ERR_RULE("smbiosnoop", "trackonly", "      track_codes: [0xc0000022, 0xC0009999]\n"));
	assert_string_equal(r->track_codes[0].name, "STATUS_ACCESS_DENIED");
	assert_string_equal(r->track_codes[1].name, "0xC0009999");
	assert_true(aod_rule_error_tracked(r, 0xC0000022, -13));
	assert_true(aod_rule_error_tracked(r, 0xC0009999, -5));
	assert_false(aod_rule_error_tracked(r, 0xC000006D, -13));

	/* benign statuses never count by default, whatever the mode */
	load_ok(s, &s->a, ERR_RULE("smbiosnoop", "all", ""));
	assert_false(aod_rule_error_tracked(r, 0xC0000016, -EIO));
	assert_false(aod_rule_error_tracked(r, 0x80000006, -ENODATA));
	assert_false(aod_rule_error_tracked(r, 0xC0000011, -ENODATA));
	assert_false(aod_rule_error_tracked(r, 0xC0000034, -ENOENT));
	assert_true(aod_rule_error_tracked(r, 0xC000003A, -ENOENT));
	assert_true(aod_rule_error_tracked(r, 0xC0000022, -EACCES));
	assert_true(aod_rule_error_tracked(r, 0, -EAGAIN)); /* a local failure */

	/* 0xC0000034 counts when configured by name or hex ... */
	load_ok(s, &s->a, ERR_RULE("smbiosnoop", "trackonly",
				   "      track_codes: [STATUS_OBJECT_NAME_NOT_FOUND]\n"));
	assert_true(aod_rule_error_tracked(r, 0xC0000034, -ENOENT));
	load_ok(s, &s->a, ERR_RULE("smbiosnoop", "all", "      track_codes: [0xC0000034]\n"));
	assert_true(aod_rule_error_tracked(r, 0xC0000034, -ENOENT));
	assert_false(aod_rule_error_tracked(r, 0xC0000016, -EIO));
	/* ... but not through an errno that many statuses map to */
	load_ok(s, &s->a, ERR_RULE("smbiosnoop", "trackonly", "      track_codes: [ENOENT]\n"));
	assert_false(aod_rule_error_tracked(r, 0xC0000034, -ENOENT));
	assert_true(aod_rule_error_tracked(r, 0xC000003A, -ENOENT));

	/* exclusion wins; all = everything else */
	load_ok(s, &s->a, ERR_RULE("smbiosnoop", "all",
				   "      exclude_codes: [EIO, STATUS_SHARING_VIOLATION]\n"));
	assert_false(aod_rule_error_tracked(r, 0xC0000001, -EIO));
	assert_false(aod_rule_error_tracked(r, 0xC0000043, -EBUSY));
	assert_true(aod_rule_error_tracked(r, 0xC00000BF, -EBUSY)); /* NETWORK_BUSY */
	assert_true(aod_rule_error_tracked(r, 0xC0000022, -EACCES));

	/* excludeonly drops the track list, so it cannot un-benign a status */
	load_ok(s, &s->a, ERR_RULE("smbiosnoop", "excludeonly",
				   "      track_codes: [STATUS_OBJECT_NAME_NOT_FOUND]\n"
				   "      exclude_codes: [EACCES]\n"));
	assert_int_equal(r->ntrack_codes, 0);
	assert_false(aod_rule_error_tracked(r, 0xC0000034, -ENOENT));
	assert_false(aod_rule_error_tracked(r, 0xC0000022, -EACCES));
	assert_true(aod_rule_error_tracked(r, 0xC0000043, -EBUSY));
}

static void test_error_tracking_block(void **st)
{
	struct state *s = *st;
	const struct aod_rule *r = &s->a.rules[0];
	uint64_t t;

	load_ok(s, &s->a, ERR_RULE("bioerror", "all", "      exclude_codes: [EOPNOTSUPP]\n"));
	assert_int_equal(r->source, AOD_SOURCE_BLOCK);
	assert_true(aod_rule_error_tracked(r, 0, -EIO));
	assert_true(aod_rule_error_tracked(r, 0, -ENOSPC));
	assert_false(aod_rule_error_tracked(r, 0, -EOPNOTSUPP));
	assert_false(aod_rule_error_tracked(r, 0, 0));
	assert_false(aod_rule_blk_threshold(r, "vda", &t));

	load_ok(s, &s->a, ERR_RULE("bioerror", "trackonly", "      track_codes: [EIO, ETIMEDOUT]\n"));
	assert_true(aod_rule_error_tracked(r, 0, -EIO));
	assert_true(aod_rule_error_tracked(r, 0, -ETIMEDOUT));
	assert_false(aod_rule_error_tracked(r, 0, -ENOSPC));

	assert_false(aod_rule_error_tracked(NULL, 0, -EIO));
	load_fails(s, ERR_RULE("bioerror", "all", "      exclude_codes: [0xC0000022]\n"),
		   "block I/O errors carry no NTSTATUS");
}

/* ---- warnings ---- */

struct warn_arg {
	struct state *s;
	const char *yaml;
	int rc;
};

static void do_load(void *p)
{
	struct warn_arg *w = p;

	w->rc = load(w->s, &w->s->a, w->yaml);
}

static char *load_warnings(struct state *s, const char *yaml)
{
	struct warn_arg w = { .s = s, .yaml = yaml };
	char *out = capture_output(do_load, &w, false);

	if (w.rc)
		fail_msg("load failed: %s", s->err.msg);
	return out;
}

static void test_mode_normalisation_warnings(void **st)
{
	struct state *s = *st;
	const struct aod_rule *r = &s->a.rules[0];
	char *w;
	uint64_t t;

	w = load_warnings(s, ERR_RULE("smbiosnoop", "trackonly",
				      "      track_codes: [EACCES]\n      exclude_codes: [EIO]\n"));
	assert_non_null(strstr(w, "test.yaml:11:7: guardian.anomalies.e.exclude_codes: ignored in mode trackonly"));
	assert_int_equal(r->nexclude_codes, 0);
	free(w);

	w = load_warnings(s, HEAD "guardian:\n  anomalies:\n    l:\n      type: Latency\n"
			  "      tool: smbslower\n      mode: excludeonly\n      acceptable_count: 1\n"
			  "      track_commands: [{command: SMB2_READ, threshold: 1}]\n"
			  "      exclude_commands: [SMB2_ECHO]\n");
	assert_non_null(strstr(w, "guardian.anomalies.l.track_commands: ignored in mode excludeonly"));
	assert_true(aod_rule_smb_threshold(r, 8, &t));
	assert_int_equal(t, 10 * MS); /* the override is gone */
	free(w);

	w = load_warnings(s, HEAD "guardian:\n  anomalies:\n    d:\n      type: Latency\n"
			  "      tool: biolatency\n      mode: trackonly\n      acceptable_count: 1\n"
			  "      track_devices: [vda]\n      exclude_devices: [vdb]\n");
	assert_non_null(strstr(w, "exclude_devices: ignored in mode trackonly"));
	assert_int_equal(r->nexclude_devices, 0);
	free(w);
}

static void test_duplicate_warnings(void **st)
{
	struct state *s = *st;
	const struct aod_rule *r = &s->a.rules[0];
	uint64_t t;
	char *w;

	w = load_warnings(s, HEAD "guardian:\n  anomalies:\n    l:\n      type: Latency\n"
			  "      tool: smbslower\n      mode: trackonly\n      acceptable_count: 1\n"
			  "      track_commands: [{command: SMB2_READ, threshold: 1}, {command: READ, threshold: 2}]\n"
			  "      actions: [stats, stats]\n");
	assert_non_null(strstr(w, "SMB2_READ listed twice; the later entry wins"));
	assert_non_null(strstr(w, "action 'stats' listed twice"));
	assert_true(aod_rule_smb_threshold(r, 8, &t));
	assert_int_equal(t, 2 * MS);
	assert_int_equal(r->nactions, 1);
	free(w);

	w = load_warnings(s, ERR_RULE("smbiosnoop", "trackonly", "      track_codes: [EIO, eio, EACCES]\n"));
	assert_non_null(strstr(w, "EIO listed twice"));
	assert_int_equal(r->ntrack_codes, 2);
	free(w);

	w = load_warnings(s, HEAD "cleanup:\n  aod_output_dir: /var/log/aod\n");
	assert_non_null(strstr(w, "test.yaml:4:19: cleanup.aod_output_dir: differs from the "
			       "top-level aod_output_dir; '/tmp/aod-test' is used"));
	assert_string_equal(s->a.output_dir, "/tmp/aod-test");
	free(w);

	/* the same directory both ways: accepted silently */
	w = load_warnings(s, HEAD "cleanup:\n  aod_output_dir: /tmp/aod-test\n");
	assert_null(strstr(w, "differs"));
	free(w);
}

/* ---- aod check-config ---- */

struct cmd_arg {
	int argc;
	char **argv;
	int rc;
};

static void run_cmd(void *p)
{
	struct cmd_arg *a = p;

	a->rc = aod_cmd_check_config(a->argc, a->argv);
}

/* runs the command; its stdout and stderr come back as one string */
static char *check_config(int argc, char **argv, int *rc)
{
	struct cmd_arg a = { .argc = argc, .argv = argv };
	char *out = capture_output(run_cmd, &a, true);

	*rc = a.rc;
	return out;
}

static void test_cmd_check_config(void **st)
{
	char path[PATH_MAX], bad[PATH_MAX], cmd[] = "check-config", help[] = "--help";
	char *argv[3] = { cmd, path, NULL }, *out;
	int rc;

	(void)st;
	top_path(path, sizeof(path), "tests/configs/valid/seed-example.yaml");
	out = check_config(2, argv, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "watch_interval_sec: 1\n"));
	assert_non_null(strstr(out, "emergency_threshold_ms: 1000\n"));
	assert_non_null(strstr(out, "zstd_level: 3\n"));
	free(out);

	top_path(bad, sizeof(bad), "tests/configs/invalid/unknown-key-near-miss.yaml");
	argv[1] = bad;
	out = check_config(2, argv, &rc);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(out, "aod: "));
	assert_non_null(strstr(out, "did you mean 'acceptable_count'?"));
	assert_null(strstr(out, "watch_interval_sec: 1\n"));
	free(out);

	argv[1] = help;
	out = check_config(2, argv, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "usage: aod check-config FILE"));
	free(out);

	out = check_config(1, argv, &rc);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(out, "usage:"));
	free(out);

	argv[1] = (char *)"/nonexistent.yaml";
	out = check_config(2, argv, &rc);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "/nonexistent.yaml: cannot read"));
	free(out);
}

/* ---- http and metrics ---- */

static void test_http_section(void **st)
{
	struct state *s = *st;

	assert_int_equal(load(s, &s->a, HEAD), 0);
	assert_string_equal(s->a.http.listen, "127.0.0.1:9435");
	assert_int_equal(s->a.http.nusers, 0);
	assert_false(s->a.metrics.bpf_stats);
	assert_int_equal(load(s, &s->a, HEAD "http: {listen: \"\"}\n"), 0);
	assert_string_equal(s->a.http.listen, "");
	assert_int_equal(load(s, &s->a, HEAD "http: {listen: \"[::1]:1\"}\n"), 0);
	assert_int_equal(load(s, &s->a, HEAD "http: {listen: \"localhost:80\"}\n"), 0);
	assert_int_equal(load(s, &s->a, HEAD "http: {listen: \"127.8.9.10:65535\"}\n"), 0);
	assert_int_equal(load(s, &s->a, HEAD "http: {listen: \"127.0.0.1:65536\"}\n"), -EINVAL);
	assert_int_equal(load(s, &s->a, HEAD "http: {listen: \"127.0.0.1:0\"}\n"), -EINVAL);
	assert_int_equal(load(s, &s->a, HEAD "http: {listen: \"::1:9435\"}\n"), -EINVAL);
	assert_int_equal(load(s, &s->a, HEAD "http: {listen: \"[::ffff:10.0.0.1]:9\"}\n"),
			 -EINVAL);
	assert_non_null(strstr(s->err.msg, "not a loopback address"));
	assert_int_equal(load(s, &s->a, HEAD "http: {listen: \"[::ffff:127.0.0.1]:9\"}\n"), 0);
	/* explicit consent to plain remote HTTP */
	assert_int_equal(load(s, &s->a, HEAD "http: {listen: \"10.1.2.3:9435\", "
				       "insecure_remote: true}\n"), 0);
	assert_true(s->a.http.insecure_remote);
	/* users with a loopback listener are fine (auth without TLS on loopback) */
	assert_int_equal(load(s, &s->a, HEAD "http:\n  basic_auth_users:\n    a: "
				       "$2y$04$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n"),
			 0);
	assert_int_equal(s->a.http.nusers, 1);
	assert_int_equal(load(s, &s->a, HEAD "http:\n  basic_auth_users:\n    a: "
				       "$1$04$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n"),
			 -EINVAL);
	/* the API token file: a path, "" (the default) until given */
	assert_int_equal(load(s, &s->a, HEAD), 0);
	assert_string_equal(s->a.http.token_file, "");
	assert_int_equal(load(s, &s->a, HEAD "http: {token_file: /etc/aod/http.token}\n"), 0);
	assert_string_equal(s->a.http.token_file, "/etc/aod/http.token");
	assert_int_equal(load(s, &s->a, HEAD "http: {token_file: [a]}\n"), -EINVAL);
	assert_non_null(strstr(s->err.msg, "http.token_file"));
}

/* probes.proc.failed_execs: off unless asked, a boolean, printed (and read
 * back by round_trip), and a key a reload cannot change. */
static void test_proc_failed_execs(void **st)
{
	struct state *s = *st;
	char *text = NULL, keys[128];
	size_t len = 0;
	FILE *f;

	load_ok(s, &s->a, HEAD "probes: {proc: on}\n");
	assert_false(s->a.probes.proc.failed_execs);
	load_ok(s, &s->a, HEAD "probes:\n  proc: {enabled: on, failed_execs: true}\n");
	assert_true(s->a.probes.proc.failed_execs);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(aod_config_print(&s->a, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "    ignore_exe: []\n    failed_execs: true\n"));
	free(text);
	round_trip(s);
	load_fails(s, HEAD "probes:\n  proc: {failed_execs: sometimes}\n",
		   "probes.proc.failed_execs");
	/* a reload turning it off keeps it on, and names the key */
	load_ok(s, &s->b, HEAD "probes:\n  proc: {enabled: on, failed_execs: false}\n");
	assert_int_equal(aod_config_keep_restart_keys(&s->b, &s->a, keys, sizeof(keys)), 1);
	assert_string_equal(keys, "probes.proc.failed_execs");
	assert_true(s->b.probes.proc.failed_execs);
	load_ok(s, &s->b, HEAD "probes:\n  proc: {enabled: on, failed_execs: true}\n");
	assert_int_equal(aod_config_keep_restart_keys(&s->b, &s->a, keys, sizeof(keys)), 0);
}

static void test_http_listen_override(void **st)
{
	struct state *s = *st;
	char path[PATH_MAX];

	assert_int_equal(load(s, &s->a, HEAD), 0);
	assert_int_equal(aod_config_set_http_listen(&s->a, "127.0.0.1:19435", &s->err), 0);
	assert_string_equal(s->a.http.listen, "127.0.0.1:19435");
	assert_int_equal(aod_config_set_http_listen(&s->a, "", &s->err), 0);
	assert_string_equal(s->a.http.listen, "");
	assert_int_equal(aod_config_set_http_listen(&s->a, "0.0.0.0:9435", &s->err), -EINVAL);
	assert_non_null(strstr(s->err.msg, "--http-listen: '0.0.0.0:9435' is not a loopback"));
	assert_string_equal(s->a.http.listen, "");
	/* with TLS and users in the file, a remote override is accepted */
	top_path(path, sizeof(path), "tests/configs/valid/http-remote-tls.yaml");
	assert_int_equal(aod_config_load_file(&s->a, path, &s->err), 0);
	assert_int_equal(s->a.http.nusers, 2);
	assert_string_equal(s->a.http.users[1].name, "grafana");
	assert_true(s->a.metrics.bpf_stats);
	assert_int_equal(aod_config_set_http_listen(&s->a, "0.0.0.0:9435", &s->err), 0);
}

/* A shared config lives until its last reference goes (the ASan run of this
 * test reports a leak if the last unref does not free it, and a
 * use-after-free if an earlier one does). */
static void test_shared_config_refs(void **state)
{
	struct aod_config *cfg = aod_config_new_shared();
	const struct aod_config *reader;
	static const char yaml[] = "watch_interval_sec: 3\naod_output_dir: /tmp/x\n"
				   "guardian: {anomalies: {}}\n";
	struct aod_config_error err;

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(cfg->nrules, 0); /* zeroed */
	assert_int_equal(aod_config_load_buffer(cfg, "shared.yaml", yaml, strlen(yaml), &err), 0);
	reader = aod_config_ref(cfg);
	assert_ptr_equal(reader, cfg);
	aod_config_unref(cfg);               /* the publisher lets go: the reader still holds it */
	assert_int_equal(reader->watch_interval_sec, 3);
	assert_string_equal(reader->output_dir, "/tmp/x");
	aod_config_unref(reader);            /* the last one: freed */
	aod_config_unref(NULL);
}

/* Anonymous: of the /proc/self/smaps mapping holding p, in KiB; -1 if none. */
static long anon_kb_at(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && sscanf(line, "Anonymous: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* A load over a config that held another one gives exactly the bytes of a
 * load into a fresh one (the copy skips only pages zero on both sides), and
 * a shared config's untouched pages stay untouched (not resident). */
static void test_load_over_used_config(void **state)
{
	static const char big[] =
		"watch_interval_sec: 2\naod_output_dir: /tmp/big\nguardian:\n  anomalies:\n"
		"    a: {type: Latency, tool: biolatency, acceptable_count: 3, default_threshold_ms: 5}\n"
		"    b: {type: Latency, tool: smbslower, acceptable_count: 4, default_threshold_ms: 6}\n"
		"    c: {type: Error, tool: bioerror, acceptable_count: 5}\n"
		"watcher:\n  custom_actions:\n    - {name: x, argv: [/bin/echo, one, two]}\n";
	static const char small[] = "watch_interval_sec: 3\naod_output_dir: /tmp/small\n"
				    "guardian: {anomalies: {}}\n";
	/* fresh: zero pages never touched, in a mapping of its own (guard pages
	 * of another protection keep it from merging with its neighbours) */
	size_t len = (sizeof(struct aod_config) + 4095) & ~(size_t)4095;
	char *map = mmap(NULL, len + 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct aod_config *used = aod_config_new_shared(), *fresh = (void *)(map + 4096);
	struct aod_config_error err;
	long kb;

	(void)state;
	assert_non_null(used);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map, 4096, PROT_NONE), 0);
	assert_int_equal(mprotect(map + 4096 + len, 4096, PROT_NONE), 0);
	if (aod_config_load_buffer(used, "big.yaml", big, strlen(big), &err))
		fail_msg("%s", err.msg);
	assert_int_equal(used->nrules, 3);
	assert_int_equal(aod_config_load_buffer(used, "small.yaml", small, strlen(small), &err), 0);
	assert_int_equal(aod_config_load_buffer(fresh, "small.yaml", small, strlen(small), &err), 0);
	assert_int_equal(used->nrules, 0);
	assert_memory_equal(used, fresh, sizeof(*used));
	/* its anonymous pages are those written; pages only read map the
	 * shared zero page and do not count */
	kb = anon_kb_at(fresh);
	print_message("fresh shared config: %ld KiB of its %zu KiB anonymous\n", kb,
		      sizeof(*fresh) / 1024);
	assert_true(kb >= 0);
	assert_true((size_t)kb < sizeof(*fresh) / 1024 / 2);
	aod_config_unref(used);
	munmap(map, len + 8192);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_config_refs),
		cmocka_unit_test(test_smb_command_table),
		cmocka_unit_test(test_ntstatus_table),
		cmocka_unit_test(test_errno_table),
		cmocka_unit_test(test_benign_and_names),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seed_example, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repo_default_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rich_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ms_rounding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_print_unicode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_print_dash_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_repo_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_valid_corpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_corpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_action_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_required_and_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_errors_one_line_with_location, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_load_keeps_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smb_thresholds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_thresholds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_tracking_smb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_tracking_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_normalisation_warnings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_warnings, setup, teardown),
		cmocka_unit_test(test_cmd_check_config),
		cmocka_unit_test_setup_teardown(test_http_section, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_listen_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc_failed_execs, setup, teardown),
		cmocka_unit_test(test_load_over_used_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
