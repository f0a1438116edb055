// SPDX-License-Identifier: MIT
/*
 * The health section: defaults, parsing and printing of the keys `aod
 * health` and the agent's periodic report read. Log patterns are compiled
 * here once to reject a bad regex at load time, with its line and column.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_internal.h"

static const char *const class_names[] = { "OOM", "Error", "Warning", NULL };

const char *aod_log_class_name(enum aod_log_class c)
{
	return c <= AOD_LOG_CLASS_WARNING ? class_names[c] : "?";
}

void cfg_health_defaults(struct aod_health_config *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->history_dir, sizeof(h->history_dir), "/var/lib/aod/health");
	h->max_files = 50;
	h->min_samples = 5;
	h->baseline_reports = 20;
	h->threshold = 3.5;
	h->journal_lines = 20;
	h->top_n = 10;
	h->interval_sec = 0;
	h->flapping_restarts = 3;
	h->log_priority = 4;
	h->log_max_entries = 50000;
	h->sample_ms = 1000;
	h->builtin_patterns = true;
}

static const char *const pattern_keys[] = { "name", "class", "regex", NULL };

static int parse_class(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		       enum aod_log_class *out)
{
	const char *v = cfg_scalar(n), *hint;
	char desc[96];

	for (int i = 0; v && class_names[i]; i++) {
		if (!strcasecmp(v, class_names[i])) {
			*out = (enum aod_log_class)i;
			return 0;
		}
	}
	hint = v ? cfg_suggest(v, class_names, 3) : NULL;
	return cfg_error(c, n, path, "expected OOM, Error or Warning, got %s%s%s%s",
			 cfg_node_desc(n, desc, sizeof(desc)), hint ? "; did you mean '" : "",
			 hint ? hint : "", hint ? "'?" : "");
}

static int parse_regex(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *out)
{
	char msg[160];
	regex_t re;
	int err = cfg_string(c, n, path, out, AOD_HEALTH_REGEX_LEN), rc;

	if (err)
		return err;
	if (!*out)
		return cfg_error(c, n, path, "expected a non-empty regular expression");
	rc = regcomp(&re, out, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc) {
		regerror(rc, &re, msg, sizeof(msg));
		return cfg_error(c, n, path, "expected a POSIX extended regular expression: %s", msg);
	}
	regfree(&re);
	return 0;
}

static int parse_pattern_name(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *out)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:/.-";
	const char *v = cfg_scalar(n);
	char desc[96];

	if (!v || cfg_is_null(n) || strlen(v) >= AOD_HEALTH_PATTERN_NAME_LEN || strspn(v, ok) != strlen(v))
		return cfg_error(c, n, path,
				 "expected a pattern name of letters, digits and _:/.- (at most %d), got %s",
				 AOD_HEALTH_PATTERN_NAME_LEN - 1, cfg_node_desc(n, desc, sizeof(desc)));
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

static int parse_pattern(struct cfg_ctx *c, yaml_node_t *n, const char *path,
			 struct aod_health_pattern *p)
{
	const struct aod_health_config *h = &c->cfg->health;
	char kpath[CFG_PATH_LEN];
	yaml_node_t *v;
	int err;

	if (cfg_is_null(n) || n->type != YAML_MAPPING_NODE)
		return cfg_error(c, n, path, "expected a mapping {name, class, regex}");
	if ((err = cfg_check_mapping(c, n, path, pattern_keys)))
		return err;
	cfg_path_key(kpath, path, "name");
	if (!(v = cfg_get(c, n, "name", NULL)))
		return cfg_error(c, n, kpath, "required key missing (the pattern's name)");
	if ((err = parse_pattern_name(c, v, kpath, p->name)))
		return err;
	for (uint32_t i = 0; i < h->npatterns; i++)
		if (!strcmp(h->patterns[i].name, p->name))
			return cfg_error(c, v, kpath, "expected a unique name; '%s' is already defined",
					 p->name);
	cfg_path_key(kpath, path, "class");
	p->cls = AOD_LOG_CLASS_ERROR;
	if ((v = cfg_get(c, n, "class", NULL)) && (err = parse_class(c, v, kpath, &p->cls)))
		return err;
	cfg_path_key(kpath, path, "regex");
	if (!(v = cfg_get(c, n, "regex", NULL)))
		return cfg_error(c, n, kpath, "required key missing (a POSIX extended regular expression)");
	return parse_regex(c, v, kpath, p->regex);
}

static int parse_patterns(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_health_config *h = &c->cfg->health;
	char ipath[CFG_PATH_LEN];
	int err = cfg_check_sequence(c, n, "health.log_patterns", AOD_HEALTH_MAX_PATTERNS,
				     "log patterns");

	if (err || cfg_is_null(n))
		return err;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		struct aod_health_pattern *p = &h->patterns[h->npatterns];

		cfg_path_index(ipath, "health.log_patterns", h->npatterns);
		memset(p, 0, sizeof(*p));
		if ((err = parse_pattern(c, cfg_node(c, *it), ipath, p)))
			return err;
		h->npatterns++;
	}
	return 0;
}

static const char *const health_keys[] = {
	"history_dir", "max_files", "min_samples", "baseline_reports", "threshold",
	"journal_lines", "top_n", "interval_sec", "flapping_restarts", "log_priority",
	"log_max_entries", "sample_ms", "builtin_patterns", "log_patterns", NULL,
};

static int parse_numbers(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_health_config *h = &c->cfg->health;
	yaml_node_t *v;
	int err = 0;

#define U32(key, min, max)                                                     \
	if (!err && (v = cfg_get(c, n, #key, NULL)))                           \
		err = cfg_u32(c, v, "health." #key, min, max, &h->key)
	U32(max_files, 0, 1000000);
	U32(min_samples, 1, 10000);
	U32(baseline_reports, 1, 10000);
	U32(journal_lines, 0, 1000);
	U32(top_n, 1, 1000);
	U32(interval_sec, 0, 7 * 86400);
	U32(flapping_restarts, 1, 1000000);
	U32(log_priority, 0, 7);
	U32(log_max_entries, 1, 10000000);
	U32(sample_ms, 0, 60000);
#undef U32
	if (!err && (v = cfg_get(c, n, "threshold", NULL)))
		err = cfg_number(c, v, "health.threshold", "a score", 0, true, 1e6, &h->threshold);
	if (!err && (v = cfg_get(c, n, "builtin_patterns", NULL)))
		err = cfg_bool(c, v, "health.builtin_patterns", &h->builtin_patterns);
	if (!err && h->min_samples > h->baseline_reports)
		err = cfg_error(c, cfg_get(c, n, "min_samples", NULL), "health.min_samples",
				"expected at most health.baseline_reports (%u), got %u",
				h->baseline_reports, h->min_samples);
	return err;
}

int cfg_parse_health(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_health_config *h = &c->cfg->health;
	yaml_node_t *v;
	int err = cfg_check_mapping(c, n, "health", health_keys);

	if (!err && (v = cfg_get(c, n, "history_dir", NULL)))
		err = cfg_fs_path(c, v, "health.history_dir", h->history_dir, sizeof(h->history_dir));
	if (!err)
		err = parse_numbers(c, n);
	if (!err)
		err = parse_patterns(c, cfg_get(c, n, "log_patterns", NULL));
	return err;
}

void cfg_print_health(FILE *out, const struct aod_health_config *h)
{
	fputs("health:\n  history_dir: ", out);
	cfg_put_str(out, h->history_dir);
	fprintf(out, "\n  max_files: %u\n  min_samples: %u\n  baseline_reports: %u\n  threshold: ",
		h->max_files, h->min_samples, h->baseline_reports);
	cfg_put_double(out, h->threshold);
	fprintf(out, "\n  journal_lines: %u\n  top_n: %u\n  interval_sec: %u\n"
		     "  flapping_restarts: %u\n  log_priority: %u\n  log_max_entries: %u\n"
		     "  sample_ms: %u\n  builtin_patterns: %s\n  log_patterns:",
		h->journal_lines, h->top_n, h->interval_sec, h->flapping_restarts, h->log_priority,
		h->log_max_entries, h->sample_ms, h->builtin_patterns ? "true" : "false");
	fputs(h->npatterns ? "\n" : " []\n", out);
	for (uint32_t i = 0; i < h->npatterns; i++) {
		fputs("    - name: ", out);
		cfg_put_str(out, h->patterns[i].name);
		fprintf(out, "\n      class: %s\n      regex: ", aod_log_class_name(h->patterns[i].cls));
		cfg_put_str(out, h->patterns[i].regex);
		fputc('\n', out);
	}
}

/* ---- guardian.anomalies.<name> with type: Health ---- */

#define HEALTH_REPORT_ACTION "health_report"   /* the report itself, in every Health bundle */
#define DEFAULT_HOLDOFF_SEC 60

static const char *const health_rule_keys[] = { "type", "on", "units", "holdoff_sec", "actions", NULL };
static const char *const on_names[] = { "failed", "anomaly", NULL };

bool cfg_is_health_rule(struct cfg_ctx *c, yaml_node_t *map)
{
	const char *type = cfg_scalar(cfg_get(c, map, "type", NULL));

	return type && !strcasecmp(type, "Health");
}

static int parse_on(struct cfg_ctx *c, yaml_node_t *n, const char *path, struct aod_health_rule *h)
{
	char ipath[CFG_PATH_LEN], desc[96];
	int err = cfg_check_sequence(c, n, path, 2, "conditions (failed, anomaly)");

	if (err || cfg_is_null(n))
		return err;
	h->on_failed = h->on_anomaly = false;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = cfg_node(c, *it);
		const char *v = cfg_scalar(item), *hint;

		cfg_path_index(ipath, path, (size_t)(it - n->data.sequence.items.start));
		if (v && !strcmp(v, "failed")) {
			h->on_failed = true;
		} else if (v && !strcmp(v, "anomaly")) {
			h->on_anomaly = true;
		} else {
			hint = v ? cfg_suggest(v, on_names, 2) : NULL;
			return cfg_error(c, item, ipath, "expected failed or anomaly, got %s%s%s%s",
					 cfg_node_desc(item, desc, sizeof(desc)), hint ? "; did you mean '" : "",
					 hint ? hint : "", hint ? "'?" : "");
		}
	}
	if (!h->on_failed && !h->on_anomaly)
		return cfg_error(c, n, path, "expected at least one condition: failed, anomaly");
	return 0;
}

static int parse_units(struct cfg_ctx *c, yaml_node_t *n, const char *path, struct aod_health_rule *h)
{
	char ipath[CFG_PATH_LEN];
	int err = cfg_check_sequence(c, n, path, AOD_HEALTH_RULE_UNITS, "unit names or globs");

	for (yaml_node_item_t *it = n && !err && !cfg_is_null(n) ? n->data.sequence.items.start : NULL;
	     !err && it && it < n->data.sequence.items.top; it++) {
		cfg_path_index(ipath, path, h->nunits);
		err = cfg_string(c, cfg_node(c, *it), ipath, h->units[h->nunits], AOD_HEALTH_UNIT_LEN);
		if (!err && !h->units[h->nunits][0])
			err = cfg_error(c, cfg_node(c, *it), ipath, "expected a unit name or glob, got ''");
		h->nunits += !err;
	}
	return err;
}

/* The rule's actions (else the watcher's), then the report itself. */
static int health_actions(struct cfg_ctx *c, yaml_node_t *map, const char *path, struct aod_rule *r)
{
	char kpath[CFG_PATH_LEN];
	yaml_node_t *v = cfg_get(c, map, "actions", NULL);
	int err = 0;

	cfg_path_key(kpath, path, "actions");
	if (v)
		err = cfg_parse_actions(c, v, kpath, &r->nactions, r->actions);
	if (!err && !r->nactions) {
		r->nactions = c->cfg->watcher.nactions;
		memcpy(r->actions, c->cfg->watcher.actions, sizeof(r->actions));
	}
	if (!err && r->nactions < AOD_MAX_ACTIONS)
		snprintf(r->actions[r->nactions++], AOD_ACTION_NAME_LEN, "%s", HEALTH_REPORT_ACTION);
	return err;
}

int cfg_parse_health_rule(struct cfg_ctx *c, yaml_node_t *map, const char *path, struct aod_rule *r)
{
	char kpath[CFG_PATH_LEN];
	yaml_node_t *v;
	int err = cfg_check_mapping(c, map, path, health_rule_keys);

	r->type = AOD_RULE_HEALTH;
	r->source = AOD_SOURCE_HEALTH;
	r->acceptable_count = 1;
	r->holdoff_sec = DEFAULT_HOLDOFF_SEC;
	r->health.on_failed = r->health.on_anomaly = true;
	cfg_path_key(kpath, path, "on");
	if (!err && (v = cfg_get(c, map, "on", NULL)))
		err = parse_on(c, v, kpath, &r->health);
	cfg_path_key(kpath, path, "units");
	if (!err && (v = cfg_get(c, map, "units", NULL)))
		err = parse_units(c, v, kpath, &r->health);
	cfg_path_key(kpath, path, "holdoff_sec");
	if (!err && (v = cfg_get(c, map, "holdoff_sec", NULL)))
		err = cfg_u32(c, v, kpath, 0, 86400, &r->holdoff_sec);
	return err ? err : health_actions(c, map, path, r);
}

void cfg_print_health_rule(FILE *out, const struct aod_rule *r)
{
	const struct aod_health_rule *h = &r->health;

	fprintf(out, "      type: Health\n      on: [%s%s%s]\n      units: [", h->on_failed ? "failed" : "",
		h->on_failed && h->on_anomaly ? ", " : "", h->on_anomaly ? "anomaly" : "");
	for (uint32_t i = 0; i < h->nunits; i++) {
		fputs(i ? ", " : "", out);
		cfg_put_str(out, h->units[i]);
	}
	fprintf(out, "]\n      holdoff_sec: %u\n      actions: [", r->holdoff_sec);
	for (uint32_t i = 0, n = 0; i < r->nactions; i++)   /* health_report is implied */
		if (strcmp(r->actions[i], HEALTH_REPORT_ACTION))
			fprintf(out, "%s%s", n++ ? ", " : "", r->actions[i]);
	fputs("]\n", out);
}
