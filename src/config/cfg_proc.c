// SPDX-License-Identifier: MIT
/*
 * probes.proc: the process probe. Either a scalar like the other probes
 * (auto, on, off; auto is off unless a procexit rule needs it), or a mapping:
 *   proc: {enabled: on, argv_cap: 4096, ignore_comm: [ps], ignore_exe: ["*.sh"],
 *          failed_execs: false}
 * The filters are applied in the kernel and rewritten on reload; failed_execs
 * (hooking raw_syscalls:sys_exit, which every syscall of the host then pays
 * for) is chosen when the probe is loaded: a restart key (cfg_restart.c).
 */
#include <linux/types.h>
#include <stdio.h>
#include <string.h>

#include "bpf/proc.h"
#include "config/cfg_internal.h"

static const char *const proc_keys[] = { "enabled",    "argv_cap",     "ignore_comm",
					 "ignore_exe", "failed_execs", NULL };
static const char *const enable_names[] = { "auto", "on", "off", NULL };

static int parse_enabled(struct cfg_ctx *c, yaml_node_t *v, const char *path,
			 enum aod_probe_enable *out)
{
	const char *s = cfg_scalar(v);
	char desc[96];

	for (int i = 0; s && enable_names[i]; i++)
		if (!strcmp(s, enable_names[i])) {
			*out = (enum aod_probe_enable)i;
			return 0;
		}
	if (s && (!strcmp(s, "true") || !strcmp(s, "false"))) {
		*out = !strcmp(s, "true") ? AOD_PROBE_ON : AOD_PROBE_OFF;
		return 0;
	}
	return cfg_error(c, v, path, "expected auto, on or off, got %s",
			 cfg_node_desc(v, desc, sizeof(desc)));
}

/* One executable pattern: PREFIX*SUFFIX, at most one '*'. */
static int check_exe(struct cfg_ctx *c, yaml_node_t *v, const char *path, const char *s)
{
	const char *star = strchr(s, '*');
	size_t plen = star ? (size_t)(star - s) : strlen(s), slen = star ? strlen(star + 1) : 0;

	if (!*s)
		return cfg_error(c, v, path, "expected a path or PREFIX*SUFFIX pattern, got ''");
	if (star && strchr(star + 1, '*'))
		return cfg_error(c, v, path, "'%s': expected at most one '*' (PREFIX*SUFFIX)", s);
	if (strpbrk(s, "?["))
		return cfg_error(c, v, path, "'%s': only '*' is supported, not '?' or '['", s);
	if (plen >= AOD_PROC_PAT_PART || slen >= AOD_PROC_PAT_PART)
		return cfg_error(c, v, path, "'%s': expected a prefix and suffix of under %d bytes each",
				 s, AOD_PROC_PAT_PART);
	return 0;
}

static int parse_list(struct cfg_ctx *c, yaml_node_t *n, const char *path, bool exe)
{
	struct aod_proc_config *pc = &c->cfg->probes.proc;
	size_t max = exe ? AOD_PROC_CFG_EXE_MAX : AOD_PROC_CFG_COMM_MAX;
	int err = cfg_check_sequence(c, n, path, max, exe ? "patterns" : "command names");

	if (exe)
		pc->nexe = 0;
	else
		pc->ncomm = 0;
	if (err || cfg_is_null(n))
		return err;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = cfg_node(c, *it);
		char ipath[CFG_PATH_LEN];

		cfg_path_index(ipath, path, (size_t)(it - n->data.sequence.items.start));
		if (exe) {
			err = cfg_string(c, item, ipath, pc->ignore_exe[pc->nexe],
					 sizeof(pc->ignore_exe[0]));
			if (!err)
				err = check_exe(c, item, ipath, pc->ignore_exe[pc->nexe]);
			pc->nexe++;
		} else {
			err = cfg_string(c, item, ipath, pc->ignore_comm[pc->ncomm],
					 sizeof(pc->ignore_comm[0]));
			if (!err && !pc->ignore_comm[pc->ncomm][0])
				err = cfg_error(c, item, ipath, "expected a command name (1..15 bytes)");
			pc->ncomm++;
		}
		if (err)
			return err;
	}
	return 0;
}

int cfg_parse_proc(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_proc_config *pc = &c->cfg->probes.proc;
	yaml_node_t *v;
	int err;

	if (n->type == YAML_SCALAR_NODE)
		return parse_enabled(c, n, "probes.proc", &pc->enable);
	err = cfg_check_mapping(c, n, "probes.proc", proc_keys);
	if (!err && (v = cfg_get(c, n, "enabled", NULL)))
		err = parse_enabled(c, v, "probes.proc.enabled", &pc->enable);
	if (!err && (v = cfg_get(c, n, "argv_cap", NULL)))
		err = cfg_u32(c, v, "probes.proc.argv_cap", 64, AOD_PROC_ARGV_MAX, &pc->argv_cap);
	if (!err && (v = cfg_get(c, n, "ignore_comm", NULL)))
		err = parse_list(c, v, "probes.proc.ignore_comm", false);
	if (!err && (v = cfg_get(c, n, "ignore_exe", NULL)))
		err = parse_list(c, v, "probes.proc.ignore_exe", true);
	if (!err && (v = cfg_get(c, n, "failed_execs", NULL)))
		err = cfg_bool(c, v, "probes.proc.failed_execs", &pc->failed_execs);
	return err;
}
