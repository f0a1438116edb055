// SPDX-License-Identifier: MIT
/*
 * The watcher section: action lists, user-defined actions and the limits of
 * the collector. Custom actions run without a shell and without a PATH
 * search, so argv[0] must be an absolute path.
 */
#include <errno.h>
#include <string.h>

#include "config/cfg_internal.h"

const char *const aod_builtin_actions[] = {
	"dmesg", "journalctl", "debugdata", "stats", "mounts", "smbinfo",
	"syslogs", NULL,
};

/*
 * Default timeouts: short for /proc copies (a read takes microseconds; on a
 * hung cifs mount it never returns, so waiting longer gains nothing), a
 * little longer where cifs locks or many processes are involved, longest
 * for the programs that read a big journal or query every cifs mount.
 */
const struct aod_builtin_timeout aod_builtin_timeouts[AOD_BUILTIN_COUNT] = {
	{"dmesg", 10},	  {"journalctl", 20}, {"debugdata", 5}, {"stats", 5},
	{"mounts", 5},	  {"smbinfo", 20},    {"syslogs", 5},	{"meminfo", 3},
	{"pressure", 3},  {"loadavg", 3},     {"diskstats", 3}, {"processes", 10},
	{"sockets", 5},
};

static int builtin_timeout_index(const char *name)
{
	for (int i = 0; i < AOD_BUILTIN_COUNT; i++)
		if (!strcmp(aod_builtin_timeouts[i].name, name))
			return i;
	return -1;
}

uint32_t aod_config_builtin_timeout(const struct aod_config *cfg, const char *name)
{
	int i = builtin_timeout_index(name);

	if (i < 0)
		return 0;
	return cfg ? cfg->watcher.action_timeouts[i] : aod_builtin_timeouts[i].sec;
}

void cfg_watcher_timeout_defaults(struct aod_config *cfg)
{
	cfg->watcher.action_timeout_sec = 10;
	cfg->watcher.action_timeout_set = false;
	for (int i = 0; i < AOD_BUILTIN_COUNT; i++)
		cfg->watcher.action_timeouts[i] = aod_builtin_timeouts[i].sec;
}

bool cfg_is_builtin_action(const char *name)
{
	for (size_t i = 0; aod_builtin_actions[i]; i++)
		if (!strcmp(name, aod_builtin_actions[i]))
			return true;
	return false;
}

static bool is_custom_action(const struct aod_config *cfg, const char *name)
{
	for (uint32_t i = 0; i < cfg->watcher.ncustom; i++)
		if (!strcmp(name, cfg->watcher.custom[i].name))
			return true;
	return false;
}

static int unknown_action(struct cfg_ctx *c, yaml_node_t *n, const char *path,
			  const char *name)
{
	const char *cands[16 + AOD_MAX_CUSTOM_ACTIONS];
	size_t nc = 0;
	const char *hint;

	for (size_t i = 0; aod_builtin_actions[i]; i++)
		cands[nc++] = aod_builtin_actions[i];
	for (uint32_t i = 0; i < c->cfg->watcher.ncustom; i++)
		cands[nc++] = c->cfg->watcher.custom[i].name;
	hint = cfg_suggest(name, cands, nc);
	return cfg_error(c, n, path,
			 "expected an action name (dmesg, journalctl, debugdata, stats, "
			 "mounts, smbinfo, syslogs, or a watcher.custom_actions name), got '%s'%s%s%s",
			 name, hint ? "; did you mean '" : "", hint ? hint : "",
			 hint ? "'?" : "");
}

int cfg_parse_actions(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		      uint32_t *count, char names[][AOD_ACTION_NAME_LEN])
{
	char ipath[CFG_PATH_LEN], desc[96];
	int err = cfg_check_sequence(c, n, path, AOD_MAX_ACTIONS, "action names");

	*count = 0;
	if (err || cfg_is_null(n))
		return err;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = cfg_node(c, *it);
		const char *name = cfg_scalar(item);
		bool dup = false;

		cfg_path_index(ipath, path, (size_t)(it - n->data.sequence.items.start));
		if (!name || cfg_is_null(item))
			return cfg_error(c, item, ipath, "expected an action name, got %s",
					 cfg_node_desc(item, desc, sizeof(desc)));
		if (!cfg_is_builtin_action(name) && !is_custom_action(c->cfg, name))
			return unknown_action(c, item, ipath, name);
		for (uint32_t i = 0; i < *count; i++)
			dup |= !strcmp(names[i], name);
		if (dup) {
			cfg_warn(c, item, ipath, "action '%s' listed twice; it runs once", name);
			continue;
		}
		memcpy(names[*count], name, strlen(name) + 1);
		(*count)++;
	}
	return 0;
}

static const char *const custom_keys[] = {
	"name", "argv", "timeout_sec", "max_bytes", NULL,
};

static int parse_argv(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		      struct aod_custom_action *a)
{
	char ipath[CFG_PATH_LEN];
	int err = cfg_check_sequence(c, n, path, AOD_MAX_ARGV, "arguments");

	if (err)
		return err;
	if (cfg_is_null(n) || n->data.sequence.items.top == n->data.sequence.items.start)
		return cfg_error(c, n, path,
				 "expected a non-empty list: the program's absolute path, then its arguments");
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = cfg_node(c, *it);

		cfg_path_index(ipath, path, a->argc);
		err = cfg_string(c, item, ipath, a->argv[a->argc], AOD_ARG_LEN);
		if (err)
			return err;
		if (a->argc == 0 && a->argv[0][0] != '/')
			return cfg_error(c, item, ipath,
					 "expected an absolute path (actions run without a shell "
					 "or PATH search), got '%s'", a->argv[0]);
		a->argc++;
	}
	return 0;
}

static int parse_custom_action(struct cfg_ctx *c, yaml_node_t *n, const char *path,
			       struct aod_custom_action *a)
{
	struct aod_config *cfg = c->cfg;
	char kpath[CFG_PATH_LEN];
	yaml_node_t *v, *key;
	int err;

	if (cfg_is_null(n) || n->type != YAML_MAPPING_NODE)
		return cfg_error(c, n, path,
				 "expected a mapping {name, argv, timeout_sec, max_bytes}");
	err = cfg_check_mapping(c, n, path, custom_keys);
	if (err)
		return err;

	cfg_path_key(kpath, path, "name");
	v = cfg_get(c, n, "name", &key);
	if (!v)
		return cfg_error(c, n, kpath, "required key missing (an action name)");
	err = cfg_name(c, v, kpath, "an action name", a->name, sizeof(a->name));
	if (err)
		return err;
	if (cfg_is_builtin_action(a->name))
		return cfg_error(c, v, kpath,
				 "'%s' is a built-in action; expected a different name",
				 a->name);
	if (is_custom_action(cfg, a->name))
		return cfg_error(c, v, kpath,
				 "expected a unique name; '%s' is already defined", a->name);

	cfg_path_key(kpath, path, "argv");
	v = cfg_get(c, n, "argv", NULL);
	if (!v)
		return cfg_error(c, n, kpath,
				 "required key missing (a list: absolute program path, then arguments)");
	err = parse_argv(c, v, kpath, a);
	if (err)
		return err;

	a->timeout_sec = cfg->watcher.action_timeout_sec;
	a->max_bytes = cfg->watcher.action_max_bytes;
	cfg_path_key(kpath, path, "timeout_sec");
	v = cfg_get(c, n, "timeout_sec", NULL);
	if (v && (err = cfg_u32(c, v, kpath, 1, 3600, &a->timeout_sec)))
		return err;
	cfg_path_key(kpath, path, "max_bytes");
	v = cfg_get(c, n, "max_bytes", NULL);
	if (v && (err = cfg_uint(c, v, kpath, 1, 1ULL << 32, &a->max_bytes)))
		return err;
	return 0;
}

static int parse_custom_actions(struct cfg_ctx *c, yaml_node_t *n, const char *path)
{
	char ipath[CFG_PATH_LEN];
	int err = cfg_check_sequence(c, n, path, AOD_MAX_CUSTOM_ACTIONS,
				     "custom actions");

	if (err || cfg_is_null(n))
		return err;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		struct aod_custom_action *a =
			&c->cfg->watcher.custom[c->cfg->watcher.ncustom];

		cfg_path_index(ipath, path, c->cfg->watcher.ncustom);
		memset(a, 0, sizeof(*a));
		err = parse_custom_action(c, cfg_node(c, *it), ipath, a);
		if (err)
			return err;
		c->cfg->watcher.ncustom++;
	}
	return 0;
}

static const char *const watcher_keys[] = {
	"actions", "custom_actions", "max_concurrent_tasks", "action_timeout_sec",
	"action_timeouts", "action_max_bytes", "lookback_sec", "flight_recorder_sec",
	"flight_recorder_max_events", "max_bundle_mb", "zstd_level", NULL,
};

/* action_timeout_sec (every built-in, custom default), then action_timeouts.NAME. */
static int parse_timeouts(struct cfg_ctx *c, yaml_node_t *n)
{
	const char *names[AOD_BUILTIN_COUNT + 1];
	struct aod_config *cfg = c->cfg;
	char kpath[CFG_PATH_LEN];
	yaml_node_t *v, *map;
	int err = 0;

	if ((v = cfg_get(c, n, "action_timeout_sec", NULL))) {
		err = cfg_u32(c, v, "watcher.action_timeout_sec", 1, 3600,
			      &cfg->watcher.action_timeout_sec);
		cfg->watcher.action_timeout_set = !err;
		for (int i = 0; !err && i < AOD_BUILTIN_COUNT; i++)
			cfg->watcher.action_timeouts[i] = cfg->watcher.action_timeout_sec;
	}
	map = cfg_get(c, n, "action_timeouts", NULL);
	if (err || !map)
		return err;
	for (int i = 0; i < AOD_BUILTIN_COUNT; i++)
		names[i] = aod_builtin_timeouts[i].name;
	names[AOD_BUILTIN_COUNT] = NULL;
	if (!cfg_is_null(map) && map->type != YAML_MAPPING_NODE)
		return cfg_error(c, map, "watcher.action_timeouts",
				 "expected a mapping of built-in action names to seconds");
	err = cfg_check_mapping(c, map, "watcher.action_timeouts", names);
	for (int i = 0; !err && i < AOD_BUILTIN_COUNT; i++) {
		cfg_path_key(kpath, "watcher.action_timeouts", names[i]);
		if ((v = cfg_get(c, map, names[i], NULL)))
			err = cfg_u32(c, v, kpath, 1, 3600, &cfg->watcher.action_timeouts[i]);
	}
	return err;
}

static int parse_limits(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_config *cfg = c->cfg;
	uint64_t u64;
	yaml_node_t *v;
	int err = 0;

#define U32(key, min, max, field)                                              \
	if (!err && (v = cfg_get(c, n, key, NULL)))                            \
		err = cfg_u32(c, v, "watcher." key, min, max, &cfg->watcher.field)
	U32("max_concurrent_tasks", 1, 64, max_concurrent_tasks);
	U32("lookback_sec", 1, 7 * 86400, lookback_sec);
	U32("flight_recorder_sec", 0, 3600, flight_recorder_sec);
	U32("flight_recorder_max_events", 0, 1 << 24, flight_recorder_max_events);
#undef U32
	if (!err && (v = cfg_get(c, n, "action_max_bytes", NULL))) {
		err = cfg_uint(c, v, "watcher.action_max_bytes", 1, 1ULL << 32, &u64);
		cfg->watcher.action_max_bytes = u64;
	}
	if (!err && (v = cfg_get(c, n, "max_bundle_mb", NULL)))
		err = cfg_number(c, v, "watcher.max_bundle_mb", "a number of MiB",
				 0, false, 1e7, &cfg->watcher.max_bundle_mb);
	if (!err && (v = cfg_get(c, n, "zstd_level", NULL))) {
		err = cfg_uint(c, v, "watcher.zstd_level", 1, 19, &u64);
		cfg->watcher.zstd_level = (int)u64;
	}
	if (!err && cfg->watcher.max_bundle_mb > cfg->cleanup.max_total_log_size_mb)
		cfg_warn(c, cfg_get(c, n, "max_bundle_mb", NULL), "watcher.max_bundle_mb",
			 "larger than cleanup.max_total_log_size_mb (%g): one bundle can "
			 "exceed the whole budget", cfg->cleanup.max_total_log_size_mb);
	return err;
}

int cfg_parse_watcher(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_config *cfg = c->cfg;
	yaml_node_t *v;
	int err = cfg_check_mapping(c, n, "watcher", watcher_keys);

	if (!err)
		err = parse_limits(c, n);
	if (!err)
		err = parse_timeouts(c, n);
	if (!err)
		err = parse_custom_actions(c, cfg_get(c, n, "custom_actions", NULL),
					   "watcher.custom_actions");
	if (!err && (v = cfg_get(c, n, "actions", NULL)))
		err = cfg_parse_actions(c, v, "watcher.actions", &cfg->watcher.nactions,
					cfg->watcher.actions);
	return err;
}
