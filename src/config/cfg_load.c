// SPDX-License-Identifier: MIT
/*
 * Loading: read the file, parse it with libyaml's document API (every node
 * keeps its line:col), fill a private copy of the config section by section
 * and hand it over only when everything validated, so a failed reload never
 * leaves the caller with half a config.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/cfg_internal.h"

#define CONFIG_MAX_BYTES (1 << 20)

void aod_config_defaults(struct aod_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->source_path, sizeof(cfg->source_path), "<defaults>");
	cfg->watch_interval_sec = 1;
	snprintf(cfg->output_dir, sizeof(cfg->output_dir), "/var/log/aod");
	cfg->cleanup.cleanup_interval_sec = 60;
	cfg->cleanup.max_log_age_days = 2;
	cfg->cleanup.max_total_log_size_mb = 200;
	for (size_t i = 0; aod_builtin_actions[i]; i++)
		snprintf(cfg->watcher.actions[cfg->watcher.nactions++],
			 AOD_ACTION_NAME_LEN, "%s", aod_builtin_actions[i]);
	cfg->watcher.max_concurrent_tasks = 4;
	cfg_watcher_timeout_defaults(cfg);
	cfg->watcher.action_max_bytes = 16ULL << 20;
	cfg->watcher.lookback_sec = 300;
	cfg->watcher.flight_recorder_sec = 60;
	cfg->watcher.flight_recorder_max_events = 65536;
	cfg->watcher.max_bundle_mb = 0;
	cfg->watcher.zstd_level = 3;
	snprintf(cfg->agent.control_socket, sizeof(cfg->agent.control_socket),
		 "/run/aod/aod.sock");
	cfg->agent.ringbuf_mb = 1;
	cfg->agent.smb_inflight_timeout_sec = 30;
	cfg->agent.stuck_sweep_ms = 250;
	cfg->cleanup.max_anomaly_log_mb = 20;
	cfg->store.enabled = true;
	cfg->store.batch_ms = 250;
	cfg->store.queue_size = 16384;
	cfg->audit_enabled = false;
	snprintf(cfg->http.listen, sizeof(cfg->http.listen), "%s", AOD_HTTP_DEFAULT_LISTEN);
	cfg->metrics.bpf_stats = false;
	cfg_health_defaults(&cfg->health);
	cfg_upload_defaults(cfg);
}

static uint64_t fnv1a(const char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)buf[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static const char *const cleanup_keys[] = {
	"cleanup_interval_sec", "max_log_age_days", "max_total_log_size_mb",
	"max_anomaly_log_mb", "aod_output_dir", NULL,
};

static int parse_cleanup(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_config *cfg = c->cfg;
	char legacy[PATH_MAX];
	yaml_node_t *v;
	int err = cfg_check_mapping(c, n, "cleanup", cleanup_keys);

	if (!err && (v = cfg_get(c, n, "cleanup_interval_sec", NULL)))
		err = cfg_u32(c, v, "cleanup.cleanup_interval_sec", 1, 86400,
			      &cfg->cleanup.cleanup_interval_sec);
	if (!err && (v = cfg_get(c, n, "max_log_age_days", NULL)))
		err = cfg_number(c, v, "cleanup.max_log_age_days", "a number of days",
				 0, true, 36500, &cfg->cleanup.max_log_age_days);
	if (!err && (v = cfg_get(c, n, "max_total_log_size_mb", NULL)))
		err = cfg_number(c, v, "cleanup.max_total_log_size_mb", "a number of MiB",
				 0, true, 1e7, &cfg->cleanup.max_total_log_size_mb);
	if (!err && (v = cfg_get(c, n, "max_anomaly_log_mb", NULL))) {
		err = cfg_number(c, v, "cleanup.max_anomaly_log_mb", "a number of MiB", 0, true, 1e6,
				 &cfg->cleanup.max_anomaly_log_mb);
		if (!err && cfg->cleanup.max_anomaly_log_mb < 0.0625)
			err = cfg_error(c, v, "cleanup.max_anomaly_log_mb",
					"expected at least 0.0625 (64 KiB), got %g",
					cfg->cleanup.max_anomaly_log_mb);
	}
	/* AODv2's SpaceWatcher read this one; aod uses the top-level key. */
	if (!err && (v = cfg_get(c, n, "aod_output_dir", NULL))) {
		err = cfg_fs_path(c, v, "cleanup.aod_output_dir", legacy, sizeof(legacy));
		if (!err && strcmp(legacy, cfg->output_dir))
			cfg_warn(c, v, "cleanup.aod_output_dir",
				 "differs from the top-level aod_output_dir; '%s' is used",
				 cfg->output_dir);
	}
	return err;
}

static const char *const agent_keys[] = {
	"control_socket", "ringbuf_mb", "smb_inflight_timeout_sec", "stuck_sweep_ms", NULL,
};

static int parse_agent(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_config *cfg = c->cfg;
	struct sockaddr_un sun;
	yaml_node_t *v;
	int err = cfg_check_mapping(c, n, "agent", agent_keys);

	if (!err && (v = cfg_get(c, n, "control_socket", NULL))) {
		err = cfg_fs_path(c, v, "agent.control_socket", cfg->agent.control_socket,
				  sizeof(cfg->agent.control_socket));
		if (!err && strlen(cfg->agent.control_socket) >= sizeof(sun.sun_path))
			err = cfg_error(c, v, "agent.control_socket",
					"expected a socket path of at most %zu characters "
					"once made absolute, got %zu characters",
					sizeof(sun.sun_path) - 1,
					strlen(cfg->agent.control_socket));
	}
	if (!err && (v = cfg_get(c, n, "ringbuf_mb", NULL))) {
		err = cfg_u32(c, v, "agent.ringbuf_mb", 1, 1024, &cfg->agent.ringbuf_mb);
		if (!err && (cfg->agent.ringbuf_mb & (cfg->agent.ringbuf_mb - 1)))
			err = cfg_error(c, v, "agent.ringbuf_mb",
					"expected a power of two (BPF ring buffers are), got %u",
					cfg->agent.ringbuf_mb);
	}
	if (!err && (v = cfg_get(c, n, "smb_inflight_timeout_sec", NULL)))
		err = cfg_u32(c, v, "agent.smb_inflight_timeout_sec", 1, 3600,
			      &cfg->agent.smb_inflight_timeout_sec);
	if (!err && (v = cfg_get(c, n, "stuck_sweep_ms", NULL)))
		err = cfg_u32(c, v, "agent.stuck_sweep_ms", 50, 10000, &cfg->agent.stuck_sweep_ms);
	return err;
}

static const char *const audit_keys[] = { "enabled", NULL };

static int parse_audit(struct cfg_ctx *c, yaml_node_t *n)
{
	yaml_node_t *v;
	int err = cfg_check_mapping(c, n, "audit", audit_keys);

	if (!err && (v = cfg_get(c, n, "enabled", NULL)))
		err = cfg_bool(c, v, "audit.enabled", &c->cfg->audit_enabled);
	return err;
}

/* ---- probes: {smb: auto, block: on, tcp: off, proc: off} ---- */

static const char *const probes_keys[] = { "smb", "block", "tcp", "proc", NULL };
static const char *const enable_names[] = { "auto", "on", "off", NULL };

static int parse_enable(struct cfg_ctx *c, yaml_node_t *map, const char *key,
			enum aod_probe_enable *out)
{
	char path[CFG_PATH_LEN], desc[96];
	yaml_node_t *v = cfg_get(c, map, key, NULL);
	const char *val = v ? cfg_scalar(v) : NULL, *hint;
	bool b;

	cfg_path_key(path, "probes", key);
	if (!v)
		return 0;
	for (int i = 0; val && !cfg_is_null(v) && enable_names[i]; i++)
		if (!strcmp(val, enable_names[i])) {
			*out = (enum aod_probe_enable)i;
			return 0;
		}
	/* YAML's on/off/true/false arrive as plain scalars: true/false too */
	if (val && (!strcmp(val, "true") || !strcmp(val, "false"))) {
		b = !strcmp(val, "true");
		*out = b ? AOD_PROBE_ON : AOD_PROBE_OFF;
		return 0;
	}
	hint = val ? cfg_suggest(val, enable_names, 3) : NULL;
	return cfg_error(c, v, path, "expected auto, on or off, got %s%s%s%s",
			 cfg_node_desc(v, desc, sizeof(desc)), hint ? "; did you mean '" : "",
			 hint ? hint : "", hint ? "'?" : "");
}

static int parse_probes(struct cfg_ctx *c, yaml_node_t *n)
{
	int err = cfg_check_mapping(c, n, "probes", probes_keys);

	if (!err)
		err = parse_enable(c, n, "smb", &c->cfg->probes.smb);
	if (!err)
		err = parse_enable(c, n, "block", &c->cfg->probes.block);
	if (!err)
		err = parse_enable(c, n, "tcp", &c->cfg->probes.tcp);
	if (!err && cfg_get(c, n, "proc", NULL))
		err = cfg_parse_proc(c, cfg_get(c, n, "proc", NULL));
	return err;
}

/* A rule whose probe is turned off could never fire. */
static int check_rules_have_probes(struct cfg_ctx *c, yaml_node_t *root)
{
	const struct aod_config *cfg = c->cfg;
	static const char *const names[AOD_SOURCE_COUNT] = {
		[AOD_SOURCE_SMB] = "smb", [AOD_SOURCE_BLOCK] = "block", [AOD_SOURCE_TCP] = "tcp",
		[AOD_SOURCE_PROC] = "proc",
	};
	char path[CFG_PATH_LEN];

	for (uint32_t i = 0; i < cfg->nrules; i++) {
		const struct aod_rule *r = &cfg->rules[i];
		enum aod_probe_enable e = r->source == AOD_SOURCE_SMB     ? cfg->probes.smb
					  : r->source == AOD_SOURCE_BLOCK ? cfg->probes.block
					  : r->source == AOD_SOURCE_PROC  ? cfg->probes.proc.enable
									  : cfg->probes.tcp;

		if (r->type == AOD_RULE_HEALTH || e != AOD_PROBE_OFF)
			continue;
		cfg_path_key(path, "probes", names[r->source]);
		return cfg_error(c, cfg_get(c, root, "probes", NULL), path,
				 "is off, but rule '%s' (tool %s) needs the %s probe; expected "
				 "auto or on", r->name, aod_tool_name(r->tool), names[r->source]);
	}
	return 0;
}

static const char *const top_keys[] = {
	"watch_interval_sec", "aod_output_dir", "guardian", "cleanup", "watcher",
	"audit", "agent", "http", "metrics", "store", "probes", "health", "upload", NULL,
};

static int parse_top(struct cfg_ctx *c, yaml_node_t *root)
{
	struct aod_config *cfg = c->cfg;
	yaml_node_t *v;
	char desc[96];
	int err;

	if (root->type != YAML_MAPPING_NODE)
		return cfg_error(c, root, "", "expected a mapping of settings, got %s",
				 cfg_node_desc(root, desc, sizeof(desc)));
	err = cfg_check_mapping(c, root, "", top_keys);
	if (err)
		return err;
	v = cfg_get(c, root, "watch_interval_sec", NULL);
	if (!v)
		return cfg_error(c, root, "watch_interval_sec",
				 "required key missing (an integer >= 1: the detection window, seconds)");
	err = cfg_u32(c, v, "watch_interval_sec", 1, 3600, &cfg->watch_interval_sec);
	if (err)
		return err;
	v = cfg_get(c, root, "aod_output_dir", NULL);
	if (!v)
		return cfg_error(c, root, "aod_output_dir",
				 "required key missing (a directory for bundles, e.g. /var/log/aod)");
	err = cfg_fs_path(c, v, "aod_output_dir", cfg->output_dir, sizeof(cfg->output_dir));
	/* order matters: watcher needs cleanup's budget, rules need actions */
	if (!err)
		err = parse_agent(c, cfg_get(c, root, "agent", NULL));
	if (!err)
		err = parse_audit(c, cfg_get(c, root, "audit", NULL));
	if (!err)
		err = parse_cleanup(c, cfg_get(c, root, "cleanup", NULL));
	if (!err)
		err = cfg_parse_watcher(c, cfg_get(c, root, "watcher", NULL));
	if (!err)
		err = parse_probes(c, cfg_get(c, root, "probes", NULL));
	if (!err)
		err = cfg_parse_guardian(c, cfg_get(c, root, "guardian", NULL));
	if (!err)
		err = cfg_parse_http(c, cfg_get(c, root, "http", NULL));
	if (!err)
		err = cfg_parse_metrics(c, cfg_get(c, root, "metrics", NULL));
	if (!err)
		err = cfg_parse_store(c, cfg_get(c, root, "store", NULL));
	if (!err)
		err = cfg_parse_health(c, cfg_get(c, root, "health", NULL));
	if (!err) {
		yaml_node_t *key = NULL, *up = cfg_get(c, root, "upload", &key);

		err = cfg_parse_upload(c, up, key);
	}
	if (!err)
		err = check_rules_have_probes(c, root);
	return err;
}

static int syntax_error(struct cfg_ctx *c, const yaml_parser_t *p)
{
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;

	snprintf(c->err->msg, sizeof(c->err->msg), "%s:%zu:%zu: YAML syntax error: %s%s%s",
		 c->file, m->line + 1, m->column + 1,
		 p->problem ? p->problem : "unknown problem",
		 p->context ? " " : "", p->context ? p->context : "");
	return -EINVAL;
}

/* One document only: a second one would be silently ignored otherwise. */
static int check_single_document(struct cfg_ctx *c, yaml_parser_t *p)
{
	yaml_document_t next;
	yaml_node_t *root;
	int err = 0;

	if (!yaml_parser_load(p, &next))
		return syntax_error(c, p);
	root = yaml_document_get_root_node(&next);
	if (root)
		err = cfg_error(c, root, "", "expected a single YAML document, found a second one");
	yaml_document_delete(&next);
	return err;
}

#define CONFIG_MAX_DEPTH 64

static int depth_error(struct cfg_ctx *c, const yaml_mark_t *m)
{
	snprintf(c->err->msg, sizeof(c->err->msg),
		 "%s:%zu:%zu: YAML nesting: expected at most %d levels of lists and mappings",
		 c->file, m->line + 1, m->column + 1, CONFIG_MAX_DEPTH);
	return -EINVAL;
}

/*
 * libyaml's parser slows down with the square of the nesting depth (a
 * 400 KiB line of "[" took minutes): walk the events first and refuse
 * nesting deeper than any config needs, before loading the document.
 * Syntax errors are left to the load, which reports them.
 */
static int check_depth(struct cfg_ctx *c, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, err = 0;
	bool end = false;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(c->err->msg, sizeof(c->err->msg), "%s: out of memory", c->file);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!end && !err && yaml_parser_parse(&parser, &ev)) {
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > CONFIG_MAX_DEPTH)
				err = depth_error(c, &ev.start_mark);
		} else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return err;
}

static int parse_buffer(struct cfg_ctx *c, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int err;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(c->err->msg, sizeof(c->err->msg), "%s: out of memory", c->file);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		err = syntax_error(c, &parser);
		yaml_parser_delete(&parser);
		return err;
	}
	c->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root)
		err = cfg_error(c, NULL, "", "expected a mapping of settings, got an empty document");
	else
		err = parse_top(c, root);
	if (!err)
		err = check_single_document(c, &parser);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return err;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/*
 * memcpy(dst, src, n), except that a page that is zero in both is not
 * written. A config is half a MiB of fixed arrays, mostly unused; the
 * agent's comes zeroed from calloc (pages never touched), and a plain copy
 * would make every page of it resident for the agent's lifetime.
 */
static void copy_sparse(void *dst, const void *src, size_t n)
{
	const size_t page = 4096;
	unsigned char *d = dst;
	const unsigned char *s = src;

	for (size_t off = 0; off < n; off += page) {
		size_t len = n - off < page ? n - off : page;

		if (!all_zero(s + off, len) || !all_zero(d + off, len))
			memcpy(d + off, s + off, len);
	}
}

int aod_config_load_buffer(struct aod_config *cfg, const char *name,
			   const char *buf, size_t len,
			   struct aod_config_error *err)
{
	struct aod_config *tmp = malloc(sizeof(*tmp));
	struct cfg_ctx c = { .file = name, .err = err, .cfg = tmp };
	int ret;

	err->msg[0] = '\0';
	if (!tmp) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
		return -ENOMEM;
	}
	aod_config_defaults(tmp);
	snprintf(tmp->source_path, sizeof(tmp->source_path), "%s", name);
	tmp->hash = fnv1a(buf, len);
	ret = check_depth(&c, buf, len);
	if (ret == 0)
		ret = parse_buffer(&c, buf, len);
	if (ret == 0)
		copy_sparse(cfg, tmp, sizeof(*cfg));
	free(tmp);
	return ret;
}

static int read_file(const char *path, char **out, size_t *len,
		     struct aod_config_error *err)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", path, strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		snprintf(err->msg, sizeof(err->msg),
			 "%s: expected a regular file of at most %d bytes", path,
			 CONFIG_MAX_BYTES);
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ret = !buf ? -ENOMEM : got < (size_t)st.st_size ? -EIO : 0;
	if (ret) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", path, strerror(-ret));
		free(buf);
	} else {
		buf[got] = '\0';
		*out = buf;
		*len = got;
	}
	close(fd);
	return ret;
}

int aod_config_load_file(struct aod_config *cfg, const char *path,
			 struct aod_config_error *err)
{
	char *buf = NULL, resolved[PATH_MAX];
	size_t len = 0;
	int ret;

	err->msg[0] = '\0';
	ret = read_file(path, &buf, &len, err);
	if (ret)
		return ret;
	ret = aod_config_load_buffer(cfg, path, buf, len, err);
	free(buf);
	/* absolute, so that a reload finds the same file after a chdir */
	if (ret == 0 && realpath(path, resolved))
		snprintf(cfg->source_path, sizeof(cfg->source_path), "%s", resolved);
	return ret;
}

int aod_config_load(struct aod_config *cfg, const char *path, struct aod_config_error *err)
{
	if (path)
		return aod_config_load_file(cfg, path, err);
	return aod_config_load_buffer(cfg, "<embedded>", aod_default_config_yaml,
				      aod_default_config_yaml_len, err);
}
