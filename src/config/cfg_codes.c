// SPDX-License-Identifier: MIT
/*
 * Error code lists (track_codes / exclude_codes). A code is an errno name
 * (EACCES: matches rc == -EACCES, which is what the cifs client maps
 * STATUS_ACCESS_DENIED and its relatives to), an NTSTATUS name
 * (STATUS_ACCESS_DENIED) or a hex NTSTATUS (0xC0000022). Block I/O errors
 * carry an errno only.
 */
#include <stdio.h>
#include <string.h>

#include "config/cfg_internal.h"

static const char *suggest_code(const char *word)
{
	const char *cands[512];
	size_t n = 0;

	for (size_t i = 0; i < aod_ntstatus_count() && n < 512; i++)
		cands[n++] = aod_ntstatus_name_at(i);
	for (size_t i = 0; i < aod_errno_count() && n < 512; i++)
		cands[n++] = aod_errno_name_at(i); /* holes are NULL: skipped */
	return cfg_suggest(word, cands, n);
}

int aod_code_from_name(const char *text, struct aod_code *code)
{
	uint32_t status;
	const char *name;
	int err = aod_errno_from_name(text);

	memset(code, 0, sizeof(*code));
	if (err > 0) {
		code->kind = AOD_CODE_ERRNO;
		code->value = (uint32_t)err;
		snprintf(code->name, sizeof(code->name), "%s", aod_errno_name(err));
		return 0;
	}
	if (aod_ntstatus_from_name(text, &status))
		return -1;
	code->kind = AOD_CODE_NTSTATUS;
	code->value = status;
	name = aod_ntstatus_name(status);
	if (name)
		snprintf(code->name, sizeof(code->name), "%s", name);
	else
		snprintf(code->name, sizeof(code->name), "0x%08X", status);
	return 0;
}

static int parse_code(struct cfg_ctx *c, const struct aod_rule *r,
		      yaml_node_t *n, const char *path, struct aod_code *code)
{
	const char *v = cfg_scalar(n), *hint;
	char desc[96];

	if (!v || cfg_is_null(n))
		return cfg_error(c, n, path, "expected an error code name, got %s",
				 cfg_node_desc(n, desc, sizeof(desc)));
	if (aod_code_from_name(v, code) == 0) {
		if (code->kind == AOD_CODE_NTSTATUS && r->tool == AOD_TOOL_BIOERROR)
			return cfg_error(c, n, path,
					 "expected an errno name (EIO, ENOSPC, ...): block I/O "
					 "errors carry no NTSTATUS, got '%s'", v);
		return 0;
	}
	hint = suggest_code(v);
	if (r->tool == AOD_TOOL_BIOERROR)
		return cfg_error(c, n, path, "expected an errno name (EIO, ENOSPC, ...), got '%s'%s%s%s",
				 v, hint ? "; did you mean '" : "", hint ? hint : "",
				 hint ? "'?" : "");
	return cfg_error(c, n, path,
			 "expected an errno name (EACCES), an NTSTATUS name "
			 "(STATUS_ACCESS_DENIED) or a hex NTSTATUS (0xC0000022), got '%s'%s%s%s",
			 v, hint ? "; did you mean '" : "", hint ? hint : "",
			 hint ? "'?" : "");
}

static bool same_code(const struct aod_code *a, const struct aod_code *b)
{
	return a->kind == b->kind && a->value == b->value;
}

int cfg_parse_codes(struct cfg_ctx *c, struct aod_rule *r, yaml_node_t *n,
		    const char *path, struct aod_code *codes, uint32_t *count,
		    yaml_node_t **nodes)
{
	char ipath[CFG_PATH_LEN];
	int err = cfg_check_sequence(c, n, path, AOD_MAX_CODES, "error codes");

	*count = 0;
	if (err || cfg_is_null(n))
		return err;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = cfg_node(c, *it);
		struct aod_code code;
		bool dup = false;

		cfg_path_index(ipath, path, (size_t)(it - n->data.sequence.items.start));
		err = parse_code(c, r, item, ipath, &code);
		if (err)
			return err;
		for (uint32_t i = 0; i < *count; i++)
			dup |= same_code(&codes[i], &code);
		if (dup) {
			cfg_warn(c, item, ipath, "%s listed twice", code.name);
			continue;
		}
		if (nodes)
			nodes[*count] = item;
		codes[(*count)++] = code;
	}
	return 0;
}
