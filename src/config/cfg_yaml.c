// SPDX-License-Identifier: MIT
/*
 * YAML node helpers for the config loader: located error messages, mapping
 * and sequence checks, and typed scalars. YAML 1.1 treats every scalar as a
 * string until someone interprets it; here a number or boolean must be a
 * plain (unquoted) scalar, so `acceptable_count: "10"` is a type error
 * rather than a silent conversion.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include "common/text.h"
#include "config/cfg_internal.h"

/* Values and keys from the file are quoted in messages: escape them. */
static void format_located(struct cfg_ctx *c, const yaml_node_t *node,
			   const char *path, char *out, size_t len,
			   const char *fmt, va_list ap)
{
	char raw[AOD_CONFIG_ERR_LEN];
	int n;

	n = snprintf(raw, sizeof(raw), "%s:%zu:%zu: %s: ", c->file,
		     node ? node->start_mark.line + 1 : 1,
		     node ? node->start_mark.column + 1 : 1,
		     path && *path ? path : "(top level)");
	if (n >= 0 && (size_t)n < sizeof(raw))
		vsnprintf(raw + n, sizeof(raw) - n, fmt, ap);
	aod_text_escape(raw, sizeof(raw), out, len, false);
}

int cfg_error(struct cfg_ctx *c, const yaml_node_t *node, const char *path,
	      const char *fmt, ...)
{
	va_list ap;

	if (c->err->msg[0]) /* the first error is the one to fix */
		return -EINVAL;
	va_start(ap, fmt);
	format_located(c, node, path, c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void cfg_warn(struct cfg_ctx *c, const yaml_node_t *node, const char *path,
	      const char *fmt, ...)
{
	char line[AOD_CONFIG_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	format_located(c, node, path, line, sizeof(line), fmt, ap);
	va_end(ap);
	log_warn("%s", line);
}

void cfg_path_key(char *out, const char *parent, const char *key)
{
	if (parent && *parent)
		snprintf(out, CFG_PATH_LEN, "%s.%s", parent, key);
	else
		snprintf(out, CFG_PATH_LEN, "%s", key);
}

void cfg_path_index(char *out, const char *parent, size_t index)
{
	snprintf(out, CFG_PATH_LEN, "%s[%zu]", parent, index);
}

yaml_node_t *cfg_node(struct cfg_ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

bool cfg_is_null(const yaml_node_t *n)
{
	const char *v;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcasecmp(v, "null");
}

const char *cfg_scalar(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

const char *cfg_node_desc(const yaml_node_t *n, char *buf, size_t len)
{
	const char *v = cfg_scalar(n);

	if (!n || cfg_is_null(n))
		snprintf(buf, len, "nothing");
	else if (n->type == YAML_MAPPING_NODE)
		snprintf(buf, len, "a mapping");
	else if (n->type == YAML_SEQUENCE_NODE)
		snprintf(buf, len, "a list");
	else if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		snprintf(buf, len, "\"%.57s%s\" (quoted, so a string)", v,
			 strlen(v) > 57 ? "..." : "");
	else if (strlen(v) > 60)
		snprintf(buf, len, "'%.57s...'", v);
	else
		snprintf(buf, len, "'%s'", v);
	return buf;
}

size_t cfg_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = (a[i - 1] | 0x20) == (b[j - 1] | 0x20) ? 0 : 1;
			size_t best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *cfg_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3, wl = strlen(word);

	for (size_t i = 0; i < n; i++) {
		size_t d;

		if (!cands[i])
			continue;
		d = cfg_edit_distance(word, cands[i]);
		/* a distance as long as the word itself suggests anything */
		if (d < best_d && d < wl) {
			best = cands[i];
			best_d = d;
		}
	}
	return best;
}

static size_t list_len(const char *const *list)
{
	size_t n = 0;

	while (list[n])
		n++;
	return n;
}

static bool in_list(const char *word, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(word, list[i]))
			return true;
	return false;
}

static int unknown_key(struct cfg_ctx *c, yaml_node_t *key, const char *path,
		       const char *const *allowed)
{
	const char *hint = cfg_suggest(cfg_scalar(key), allowed, list_len(allowed));
	char expected[512] = "";
	size_t off = 0;

	if (hint)
		return cfg_error(c, key, path, "unknown key; did you mean '%s'?", hint);
	for (size_t i = 0; allowed[i] && off < sizeof(expected); i++)
		off += snprintf(expected + off, sizeof(expected) - off, "%s%s",
				i ? ", " : "", allowed[i]);
	return cfg_error(c, key, path, "unknown key; expected one of: %s", expected);
}

int cfg_check_mapping(struct cfg_ctx *c, yaml_node_t *map, const char *path,
		      const char *const *allowed)
{
	char desc[96], kpath[CFG_PATH_LEN];
	yaml_node_pair_t *p, *q;

	if (cfg_is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return cfg_error(c, map, path, "expected a mapping, got %s",
				 cfg_node_desc(map, desc, sizeof(desc)));
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *key = cfg_node(c, p->key);
		const char *name = cfg_scalar(key);

		if (!name || !*name)
			return cfg_error(c, key, path, "expected a key name, got %s",
					 cfg_node_desc(key, desc, sizeof(desc)));
		cfg_path_key(kpath, path, name);
		for (q = map->data.mapping.pairs.start; q < p; q++)
			if (!strcmp(cfg_scalar(cfg_node(c, q->key)), name))
				return cfg_error(c, key, kpath,
						 "duplicate key (first at line %zu)",
						 cfg_node(c, q->key)->start_mark.line + 1);
		if (allowed && !in_list(name, allowed))
			return unknown_key(c, key, kpath, allowed);
	}
	return 0;
}

yaml_node_t *cfg_get(struct cfg_ctx *c, yaml_node_t *map, const char *key,
		     yaml_node_t **key_node)
{
	yaml_node_pair_t *p;

	if (key_node)
		*key_node = NULL;
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = cfg_node(c, p->key);
		const char *name = cfg_scalar(k);

		if (name && !strcmp(name, key)) {
			if (key_node)
				*key_node = k;
			return cfg_node(c, p->value);
		}
	}
	return NULL;
}

int cfg_check_sequence(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		       size_t max_items, const char *what)
{
	char desc[96];
	size_t count;

	if (cfg_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return cfg_error(c, n, path, "expected a list of %s, got %s", what,
				 cfg_node_desc(n, desc, sizeof(desc)));
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > max_items)
		return cfg_error(c, n, path, "expected at most %zu %s, got %zu",
				 max_items, what, count);
	return 0;
}

static bool plain_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int range_error(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		       const char *type, uint64_t min, uint64_t max)
{
	char desc[96];

	cfg_node_desc(n, desc, sizeof(desc));
	if (max == UINT64_MAX)
		return cfg_error(c, n, path, "expected %s >= %llu, got %s", type,
				 (unsigned long long)min, desc);
	return cfg_error(c, n, path, "expected %s >= %llu and <= %llu, got %s",
			 type, (unsigned long long)min,
			 (unsigned long long)max, desc);
}

int cfg_uint(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	     uint64_t min, uint64_t max, uint64_t *out)
{
	const char *v = cfg_scalar(n);
	unsigned long long x;
	char *end;

	if (!plain_scalar(n) || !*v || !strchr("0123456789+", v[0]))
		return range_error(c, n, path, "an integer", min, max);
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end || x < min || x > max)
		return range_error(c, n, path, "an integer", min, max);
	*out = x;
	return 0;
}

int cfg_u32(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	    uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int err = cfg_uint(c, n, path, min, max, &v);

	if (!err)
		*out = (uint32_t)v;
	return err;
}

int cfg_number(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	       const char *what, double min, bool min_exclusive, double max,
	       double *out)
{
	const char *v = cfg_scalar(n);
	char desc[96];
	double x = 0;
	char *end = NULL;
	bool ok = plain_scalar(n) && *v && strchr("0123456789+-.", v[0]);

	if (ok) {
		errno = 0;
		x = strtod(v, &end);
		ok = !errno && !*end && isfinite(x) &&
		     (min_exclusive ? x > min : x >= min) && x <= max;
	}
	if (ok) {
		*out = x;
		return 0;
	}
	return cfg_error(c, n, path, "expected %s %s %.15g and <= %.15g, got %s",
			 what, min_exclusive ? ">" : ">=", min, max,
			 cfg_node_desc(n, desc, sizeof(desc)));
}

int cfg_bool(struct cfg_ctx *c, yaml_node_t *n, const char *path, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", NULL };
	static const char *const no[] = { "false", "no", "off", NULL };
	const char *v = cfg_scalar(n);
	char desc[96];

	for (int i = 0; plain_scalar(n) && yes[i]; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return cfg_error(c, n, path, "expected true or false, got %s",
			 cfg_node_desc(n, desc, sizeof(desc)));
}

int cfg_string(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	       char *out, size_t len)
{
	const char *v = cfg_scalar(n);
	char desc[96];

	if (!v || cfg_is_null(n))
		return cfg_error(c, n, path, "expected a string, got %s",
				 cfg_node_desc(n, desc, sizeof(desc)));
	if (strlen(v) >= len)
		return cfg_error(c, n, path,
				 "expected a string of at most %zu characters, got %zu",
				 len - 1, strlen(v));
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

int cfg_fs_path(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		char *out, size_t len)
{
	char raw[PATH_MAX], cwd[PATH_MAX];
	int err = cfg_string(c, n, path, raw, sizeof(raw));

	if (err)
		return err;
	if (raw[0] == '/') {
		if (strlen(raw) >= len)
			return cfg_error(c, n, path,
					 "expected a path of at most %zu characters",
					 len - 1);
		memcpy(out, raw, strlen(raw) + 1);
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return cfg_error(c, n, path,
				 "relative path, and the working directory is unknown: %s",
				 strerror(errno));
	if ((size_t)snprintf(out, len, "%s/%s", strcmp(cwd, "/") ? cwd : "",
			     raw[0] == '.' && raw[1] == '/' ? raw + 2 : raw) >= len)
		return cfg_error(c, n, path,
				 "expected a path of at most %zu characters once made absolute",
				 len - 1);
	return 0;
}

int cfg_name(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	     const char *what, char *out, size_t len)
{
	const char *v = cfg_scalar(n);
	char desc[96];

	if (!v || cfg_is_null(n) || strlen(v) >= len ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(v))
		return cfg_error(c, n, path,
				 "expected %s of letters, digits, '_' or '-' (at most %zu), got %s",
				 what, len - 1, cfg_node_desc(n, desc, sizeof(desc)));
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

#define MS_MAX 3600000.0 /* one hour: longer is not a latency threshold */

/*
 * Rounded to the nearest nanosecond, which is what the detector and the BPF
 * maps compare. Where 0 is not allowed, neither is a value that rounds to it.
 */
int cfg_ms(struct cfg_ctx *c, yaml_node_t *n, const char *path, bool zero_ok,
	   uint64_t *ns)
{
	char desc[96];
	double ms;
	int err = cfg_number(c, n, path, "a number of milliseconds", 0, !zero_ok,
			     MS_MAX, &ms);

	if (err)
		return err;
	*ns = (uint64_t)llround(ms * 1e6);
	if (*ns == 0 && !zero_ok)
		return cfg_error(c, n, path,
				 "expected a number of milliseconds >= 0.000001 (1 ns) and <= %.0f, "
				 "got %s, which rounds to 0 ns", MS_MAX,
				 cfg_node_desc(n, desc, sizeof(desc)));
	return 0;
}
