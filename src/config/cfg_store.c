// SPDX-License-Identifier: MIT
/*
 * The store section: whether the agent writes the SQLite event store,
 * where (a relative path is under aod_output_dir), and its share of the
 * output budget and age limit.
 */
#include <stdio.h>
#include <string.h>

#include "config/cfg_internal.h"

static const char *const store_keys[] = {
	"enabled", "path", "max_mb", "max_age_days", "batch_ms", "queue_size", NULL,
};

/* dir/name into out (PATH_MAX), lengths checked by the caller. */
static void join_path(char *out, const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);

	memcpy(out, dir, d);
	out[d] = '/';
	memcpy(out + d + 1, name, n + 1);
}

static int parse_path(struct cfg_ctx *c, yaml_node_t *v)
{
	struct aod_config *cfg = c->cfg;
	char raw[PATH_MAX];
	int err;

	if (!v)
		snprintf(raw, sizeof(raw), "aod.db");
	else if ((err = cfg_string(c, v, "store.path", raw, sizeof(raw))))
		return err;
	if (!raw[0] || raw[strlen(raw) - 1] == '/')
		return cfg_error(c, v, "store.path", "expected a file name or path, got '%s'", raw);
	if (raw[0] == '/')
		memcpy(cfg->store.path, raw, strlen(raw) + 1);
	else if (strlen(cfg->output_dir) + strlen(raw) + 2 > sizeof(cfg->store.path))
		return cfg_error(c, v, "store.path",
				 "expected a path of at most %zu characters under aod_output_dir",
				 sizeof(cfg->store.path) - 1);
	else
		join_path(cfg->store.path, cfg->output_dir, raw);
	return 0;
}

int cfg_parse_store(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_config *cfg = c->cfg;
	yaml_node_t *v;
	int err = cfg_check_mapping(c, n, "store", store_keys);

	if (!err && (v = cfg_get(c, n, "enabled", NULL)))
		err = cfg_bool(c, v, "store.enabled", &cfg->store.enabled);
	if (!err)
		err = parse_path(c, cfg_get(c, n, "path", NULL));
	if (!err && (v = cfg_get(c, n, "max_mb", NULL)))
		err = cfg_number(c, v, "store.max_mb", "a number of MiB", 0, false, 1e7,
				 &cfg->store.max_mb);
	if (!err && (v = cfg_get(c, n, "max_age_days", NULL)))
		err = cfg_number(c, v, "store.max_age_days", "a number of days", 0, false, 36500,
				 &cfg->store.max_age_days);
	if (!err && (v = cfg_get(c, n, "batch_ms", NULL)))
		err = cfg_u32(c, v, "store.batch_ms", 10, 10000, &cfg->store.batch_ms);
	if (!err && (v = cfg_get(c, n, "queue_size", NULL)))
		err = cfg_u32(c, v, "store.queue_size", 256, 1u << 22, &cfg->store.queue_size);
	if (!err && cfg->store.max_mb > cfg->cleanup.max_total_log_size_mb)
		cfg_warn(c, cfg_get(c, n, "max_mb", NULL), "store.max_mb",
			 "larger than cleanup.max_total_log_size_mb (%g): the store can take the "
			 "whole budget", cfg->cleanup.max_total_log_size_mb);
	return err;
}

uint64_t aod_config_store_max_bytes(const struct aod_config *cfg)
{
	double mb = cfg->store.max_mb ? cfg->store.max_mb : cfg->cleanup.max_total_log_size_mb / 4;

	return (uint64_t)(mb * 1024 * 1024);
}

uint64_t aod_config_store_max_age_ns(const struct aod_config *cfg)
{
	double days = cfg->store.max_age_days ? cfg->store.max_age_days
					      : cfg->cleanup.max_log_age_days;

	return (uint64_t)(days * 86400.0 * 1e9);
}
