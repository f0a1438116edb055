/* SPDX-License-Identifier: MIT */
/*
 * Private to src/config: the parse context and the helpers that turn YAML
 * nodes into checked values. Every check reports through cfg_error(), which
 * formats the one-line "FILE:LINE:COL: key.path: expected ..." message; the
 * first error wins and parsing stops there.
 */
#ifndef AOD_CONFIG_CFG_INTERNAL_H
#define AOD_CONFIG_CFG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config/config.h"

#define CFG_PATH_LEN 256

struct cfg_ctx {
	const char *file;           /* name used in messages */
	yaml_document_t *doc;
	struct aod_config_error *err;
	struct aod_config *cfg;     /* being filled */
};

/* Messages. cfg_error returns -EINVAL so callers can `return cfg_error(...)`. */
__attribute__((format(printf, 4, 5)))
int cfg_error(struct cfg_ctx *c, const yaml_node_t *node, const char *path,
	      const char *fmt, ...);
__attribute__((format(printf, 4, 5)))
void cfg_warn(struct cfg_ctx *c, const yaml_node_t *node, const char *path,
	      const char *fmt, ...);

/* "parent.key" / "parent[i]" */
void cfg_path_key(char *out, const char *parent, const char *key);
void cfg_path_index(char *out, const char *parent, size_t index);

/* Node access. */
yaml_node_t *cfg_node(struct cfg_ctx *c, int id);
bool cfg_is_null(const yaml_node_t *n);
const char *cfg_scalar(const yaml_node_t *n);  /* NULL unless a scalar */
const char *cfg_node_desc(const yaml_node_t *n, char *buf, size_t len); /* "'x'", "a list" */

/*
 * Check a mapping: every key a scalar, no duplicates, each one in allowed[]
 * (NULL-terminated). Unknown keys are errors with a did-you-mean. A null
 * node counts as an empty mapping.
 */
int cfg_check_mapping(struct cfg_ctx *c, yaml_node_t *map, const char *path,
		      const char *const *allowed);
/* Value node of key in a checked mapping, or NULL. key_node gets the key. */
yaml_node_t *cfg_get(struct cfg_ctx *c, yaml_node_t *map, const char *key,
		     yaml_node_t **key_node);
/* Sequence items: a null node counts as an empty list. */
int cfg_check_sequence(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		       size_t max_items, const char *what);

/* Scalars. Each reports its own error naming the expected type and range. */
int cfg_uint(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	     uint64_t min, uint64_t max, uint64_t *out);
int cfg_u32(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	    uint32_t min, uint32_t max, uint32_t *out);
int cfg_number(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	       const char *what, double min, bool min_exclusive, double max,
	       double *out);
int cfg_bool(struct cfg_ctx *c, yaml_node_t *n, const char *path, bool *out);
int cfg_string(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	       char *out, size_t len);
/* A path; relative ones are made absolute against the working directory. */
int cfg_fs_path(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		char *out, size_t len);
/* A name of [A-Za-z0-9_-], 1..len-1 characters. */
int cfg_name(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	     const char *what, char *out, size_t len);

/*
 * Milliseconds (int or float, >= 0, <= one hour) to ns, rounded to the
 * nearest ns; without zero_ok a value that rounds to 0 ns is an error.
 */
int cfg_ms(struct cfg_ctx *c, yaml_node_t *n, const char *path, bool zero_ok,
	   uint64_t *ns);

/* Did-you-mean: the closest candidate within edit distance 2, or NULL. */
const char *cfg_suggest(const char *word, const char *const *cands, size_t n);
size_t cfg_edit_distance(const char *a, const char *b);

/* Sections (load.c calls them in dependency order). */
int cfg_parse_watcher(struct cfg_ctx *c, yaml_node_t *n);
int cfg_parse_actions(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		      uint32_t *count, char names[][AOD_ACTION_NAME_LEN]);
int cfg_parse_guardian(struct cfg_ctx *c, yaml_node_t *n);
int cfg_parse_http(struct cfg_ctx *c, yaml_node_t *n);
int cfg_parse_metrics(struct cfg_ctx *c, yaml_node_t *n);
int cfg_parse_store(struct cfg_ctx *c, yaml_node_t *n);
/* key: the "upload" key node (for the store check's position), n its value */
int cfg_parse_upload(struct cfg_ctx *c, yaml_node_t *n, yaml_node_t *key);
void cfg_upload_defaults(struct aod_config *cfg);
void cfg_print_upload(FILE *out, const struct aod_config *cfg);
/* probes.proc: a scalar (auto/on/off) or a mapping (cfg_proc.c). */
int cfg_parse_proc(struct cfg_ctx *c, yaml_node_t *n);
int cfg_parse_health(struct cfg_ctx *c, yaml_node_t *n);
bool cfg_is_health_rule(struct cfg_ctx *c, yaml_node_t *map);
int cfg_parse_health_rule(struct cfg_ctx *c, yaml_node_t *map, const char *path, struct aod_rule *r);
void cfg_print_health_rule(FILE *out, const struct aod_rule *r);
void cfg_health_defaults(struct aod_health_config *h);
void cfg_print_health(FILE *out, const struct aod_health_config *h);
void cfg_put_str(FILE *out, const char *s);    /* double-quoted YAML string */
void cfg_put_double(FILE *out, double v);      /* shortest exact decimal */
int cfg_parse_codes(struct cfg_ctx *c, struct aod_rule *r, yaml_node_t *n,
		    const char *path, struct aod_code *codes, uint32_t *count,
		    yaml_node_t **nodes);

/* Built-in action names (dmesg ... syslogs). */
extern const char *const aod_builtin_actions[];
bool cfg_is_builtin_action(const char *name);
/* action_timeout_sec and the per built-in timeouts at their defaults. */
void cfg_watcher_timeout_defaults(struct aod_config *cfg);

/* NULL-terminated name lists for suggestions. */
size_t aod_ntstatus_count(void);
const char *aod_ntstatus_name_at(size_t i);
size_t aod_errno_count(void);
const char *aod_errno_name_at(size_t i);

#endif /* AOD_CONFIG_CFG_INTERNAL_H */
