// SPDX-License-Identifier: MIT
/*
 * guardian.anomalies: one rule per entry. Each rule's shorthand (mode,
 * track/exclude lists, default thresholds) is expanded here into the
 * effective tables of struct aod_rule, following AODv2's algorithm with
 * its bugs fixed: untracked commands never count, error codes are real
 * values (not list positions), and the mode is validated.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_internal.h"

#define DEFAULT_THRESHOLD_NS 10000000ULL     /* 10 ms (AODv2) */
#define DEFAULT_EMERGENCY_NS 1000000000ULL   /* 1 s */
#define DEFAULT_HOLDOFF_SEC 60
#define MAX_LIST_ITEMS 64

static const char *const rule_keys[] = {
	"type", "tool", "mode", "acceptable_count", "default_threshold_ms",
	"emergency_threshold_ms", "holdoff_sec", "track_commands",
	"exclude_commands", "track_devices", "exclude_devices", "track_codes",
	"exclude_codes", "track_ports", "exclude_ports", "commands", "exit_codes", "signals",
	"actions", NULL,
};

static const char *const smbslower_keys[] = {
	"type", "tool", "mode", "acceptable_count", "default_threshold_ms",
	"emergency_threshold_ms", "holdoff_sec", "track_commands",
	"exclude_commands", "actions", NULL,
};

static const char *const biolatency_keys[] = {
	"type", "tool", "mode", "acceptable_count", "default_threshold_ms",
	"emergency_threshold_ms", "holdoff_sec", "track_devices",
	"exclude_devices", "actions", NULL,
};

static const char *const error_keys[] = {
	"type", "tool", "mode", "acceptable_count", "holdoff_sec", "track_codes",
	"exclude_codes", "actions", NULL,
};

static const char *const tcpconnlat_keys[] = {
	"type", "tool", "mode", "acceptable_count", "default_threshold_ms",
	"emergency_threshold_ms", "holdoff_sec", "track_ports", "exclude_ports",
	"actions", NULL,
};

/* tcpretrans, tcpreset: every retransmit / reset counts */
static const char *const tcp_error_keys[] = {
	"type", "tool", "acceptable_count", "holdoff_sec", "actions", NULL,
};

static const char *const procexit_keys[] = {
	"type", "tool", "acceptable_count", "holdoff_sec", "commands", "exit_codes", "signals",
	"actions", NULL,
};

struct rule_ctx {
	struct cfg_ctx *c;
	struct aod_rule *r;
	yaml_node_t *map;   /* the rule's mapping */
	yaml_node_t *key;   /* the rule's name, where rule-wide errors point */
	const char *path;   /* guardian.anomalies.<name> */
};

static yaml_node_t *rule_get(struct rule_ctx *rc, const char *key, char *kpath,
			     yaml_node_t **key_node)
{
	cfg_path_key(kpath, rc->path, key);
	return cfg_get(rc->c, rc->map, key, key_node);
}

static int pick(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		const char *what, const char *const *names, int *out)
{
	const char *v = cfg_scalar(n), *hint;
	char desc[96];
	size_t count = 0;

	while (names[count])
		count++;
	for (int i = 0; v && names[i]; i++) {
		if (!strcasecmp(v, names[i])) {
			*out = i;
			return 0;
		}
	}
	hint = v ? cfg_suggest(v, names, count) : NULL;
	return cfg_error(c, n, path, "expected %s, got %s%s%s%s", what,
			 cfg_node_desc(n, desc, sizeof(desc)),
			 hint ? "; did you mean '" : "", hint ? hint : "",
			 hint ? "'?" : "");
}

static const char *const type_names[] = { "Latency", "Error", NULL };
/* index = enum aod_tool, then aliases: smbsloweraod is AODv2's binary name */
static const char *const tool_names[] = {
	"smbslower", "smbiosnoop", "biolatency", "bioerror", "tcpconnlat", "tcpretrans",
	"tcpreset", "procexit", "smbsloweraod", NULL,
};
#define TOOL_ALIAS_SMBSLOWERAOD 8
#define LATENCY_TOOLS "smbslower, biolatency or tcpconnlat"
#define ERROR_TOOLS "smbiosnoop, bioerror, tcpretrans, tcpreset or procexit"

static bool is_latency_tool(enum aod_tool t)
{
	return t == AOD_TOOL_SMBSLOWER || t == AOD_TOOL_BIOLATENCY || t == AOD_TOOL_TCPCONNLAT;
}

static enum aod_source tool_source(enum aod_tool t)
{
	switch (t) {
	case AOD_TOOL_SMBSLOWER:
	case AOD_TOOL_SMBIOSNOOP: return AOD_SOURCE_SMB;
	case AOD_TOOL_BIOLATENCY:
	case AOD_TOOL_BIOERROR: return AOD_SOURCE_BLOCK;
	case AOD_TOOL_PROCEXIT: return AOD_SOURCE_PROC;
	default: return AOD_SOURCE_TCP;
	}
}
static const char *const mode_names[] = { "all", "trackonly", "excludeonly", NULL };

static int parse_type_tool(struct rule_ctx *rc)
{
	struct aod_rule *r = rc->r;
	char kpath[CFG_PATH_LEN];
	yaml_node_t *type_n, *tool_n;
	int type, tool, err;

	type_n = rule_get(rc, "type", kpath, NULL);
	if (!type_n)
		return cfg_error(rc->c, rc->map, kpath, "required key missing (Latency or Error)");
	err = pick(rc->c, type_n, kpath, "Latency or Error", type_names, &type);
	if (err)
		return err;
	tool_n = rule_get(rc, "tool", kpath, NULL);
	if (!tool_n)
		return cfg_error(rc->c, rc->map, kpath,
				 "required key missing (" LATENCY_TOOLS " or " ERROR_TOOLS ")");
	err = pick(rc->c, tool_n, kpath, LATENCY_TOOLS " or " ERROR_TOOLS, tool_names, &tool);
	if (err)
		return err;
	if (tool == TOOL_ALIAS_SMBSLOWERAOD)
		tool = AOD_TOOL_SMBSLOWER;
	r->type = type == 0 ? AOD_RULE_LATENCY : AOD_RULE_ERROR;
	r->tool = (enum aod_tool)tool;
	r->source = tool_source(r->tool);
	if (r->type == AOD_RULE_LATENCY && !is_latency_tool(r->tool))
		return cfg_error(rc->c, tool_n, kpath,
				 "expected a Latency tool (" LATENCY_TOOLS ") for type "
				 "Latency, got '%s' (an Error tool)", cfg_scalar(tool_n));
	if (r->type == AOD_RULE_ERROR && is_latency_tool(r->tool))
		return cfg_error(rc->c, tool_n, kpath,
				 "expected an Error tool (" ERROR_TOOLS ") for type "
				 "Error, got '%s' (a Latency tool)", cfg_scalar(tool_n));
	return 0;
}

/* Keys valid for some rule but not for this tool. */
static int check_tool_keys(struct rule_ctx *rc)
{
	enum aod_tool t = rc->r->tool;
	const char *const *allowed = t == AOD_TOOL_SMBSLOWER ? smbslower_keys :
				     t == AOD_TOOL_BIOLATENCY ? biolatency_keys :
				     t == AOD_TOOL_TCPCONNLAT ? tcpconnlat_keys :
				     t == AOD_TOOL_TCPRETRANS || t == AOD_TOOL_TCPRESET ? tcp_error_keys :
				     t == AOD_TOOL_PROCEXIT ? procexit_keys :
				     error_keys;
	char kpath[CFG_PATH_LEN], list[400];

	for (yaml_node_pair_t *p = rc->map->data.mapping.pairs.start;
	     p < rc->map->data.mapping.pairs.top; p++) {
		yaml_node_t *key = cfg_node(rc->c, p->key);
		const char *name = cfg_scalar(key);
		bool ok = false;
		size_t off = 0;

		for (size_t i = 0; allowed[i]; i++)
			ok |= !strcmp(name, allowed[i]);
		if (ok)
			continue;
		for (size_t i = 0; allowed[i] && off < sizeof(list); i++)
			off += snprintf(list + off, sizeof(list) - off, "%s%s",
					i ? ", " : "", allowed[i]);
		cfg_path_key(kpath, rc->path, name);
		return cfg_error(rc->c, key, kpath,
				 "not valid for tool %s; expected one of: %s",
				 aod_tool_name(rc->r->tool), list);
	}
	return 0;
}

static int parse_common(struct rule_ctx *rc)
{
	struct aod_rule *r = rc->r;
	struct aod_config *cfg = rc->c->cfg;
	char kpath[CFG_PATH_LEN];
	yaml_node_t *v;
	int mode, err;

	v = rule_get(rc, "mode", kpath, NULL);
	r->mode = AOD_MODE_ALL;
	if (v) {
		err = pick(rc->c, v, kpath, "all, trackonly or excludeonly", mode_names, &mode);
		if (err)
			return err;
		r->mode = (enum aod_mode)mode;
	}
	v = rule_get(rc, "acceptable_count", kpath, NULL);
	if (!v)
		return cfg_error(rc->c, rc->map, kpath,
				 "required key missing (an integer >= 1: events per window that fire the rule)");
	err = cfg_u32(rc->c, v, kpath, 1, 1000000, &r->acceptable_count);
	if (err)
		return err;
	r->holdoff_sec = DEFAULT_HOLDOFF_SEC;
	v = rule_get(rc, "holdoff_sec", kpath, NULL);
	if (v && (err = cfg_u32(rc->c, v, kpath, 0, 86400, &r->holdoff_sec)))
		return err;
	v = rule_get(rc, "actions", kpath, NULL);
	if (v && (err = cfg_parse_actions(rc->c, v, kpath, &r->nactions, r->actions)))
		return err;
	if (r->nactions == 0) { /* absent or empty: the watcher's default list */
		r->nactions = cfg->watcher.nactions;
		memcpy(r->actions, cfg->watcher.actions, sizeof(r->actions));
	}
	if (r->type != AOD_RULE_LATENCY)
		return 0;
	r->default_threshold_ns = DEFAULT_THRESHOLD_NS;
	v = rule_get(rc, "default_threshold_ms", kpath, NULL);
	if (v && (err = cfg_ms(rc->c, v, kpath, true, &r->default_threshold_ns)))
		return err;
	r->emergency_threshold_ns = DEFAULT_EMERGENCY_NS;
	v = rule_get(rc, "emergency_threshold_ms", kpath, NULL);
	if (v && (err = cfg_ms(rc->c, v, kpath, false, &r->emergency_threshold_ns)))
		return err;
	return 0;
}

/*
 * AODv2's mode normalisation: trackonly ignores a non-empty exclude list,
 * excludeonly a non-empty track list, each with a warning.
 */
static void normalise(struct rule_ctx *rc, const char *track_key, bool *use_track,
		      const char *exclude_key, bool *use_exclude)
{
	char kpath[CFG_PATH_LEN];
	yaml_node_t *key;

	if (rc->r->mode == AOD_MODE_TRACKONLY && *use_exclude) {
		rule_get(rc, exclude_key, kpath, &key);
		cfg_warn(rc->c, key, kpath, "ignored in mode trackonly (only %s count)",
			 track_key);
		*use_exclude = false;
	}
	if (rc->r->mode == AOD_MODE_EXCLUDEONLY && *use_track) {
		rule_get(rc, track_key, kpath, &key);
		cfg_warn(rc->c, key, kpath,
			 "ignored in mode excludeonly (everything not in %s counts)",
			 exclude_key);
		*use_track = false;
	}
}

static int nothing_to_track(struct rule_ctx *rc, const char *why)
{
	return cfg_error(rc->c, rc->key, rc->path,
			 "No items to track for anomaly '%s' after applying config logic (%s)",
			 rc->r->name, why);
}

static int overlap(struct rule_ctx *rc, yaml_node_t *excl, const char *list,
		   const char *what, yaml_node_t *track)
{
	char kpath[CFG_PATH_LEN];

	cfg_path_key(kpath, rc->path, list);
	return cfg_error(rc->c, excl, kpath,
			 "%s is also in the track list (line %zu); expected each name in "
			 "only one of the two lists", what, track->start_mark.line + 1);
}

/* ---- SMB latency (smbslower) ---- */

struct cmd_list {
	bool listed[AOD_SMB_NCMDS_CFG];
	uint64_t thr[AOD_SMB_NCMDS_CFG];
	yaml_node_t *node[AOD_SMB_NCMDS_CFG];
	bool any;
};

static int parse_cmd(struct cfg_ctx *c, yaml_node_t *n, const char *path, int *cmd)
{
	const char *names[AOD_SMB_NCMDS_CFG * 2];
	const char *v = cfg_scalar(n), *hint = NULL;
	char desc[96];

	*cmd = v && !cfg_is_null(n) ? aod_smb_cmd_from_name(v) : -1;
	if (*cmd >= 0)
		return 0;
	if (v) {
		for (unsigned i = 0; i < AOD_SMB_NCMDS_CFG; i++) {
			names[2 * i] = aod_smb_cmd_name(i);
			names[2 * i + 1] = aod_smb_cmd_name(i) + 5;
		}
		hint = cfg_suggest(v, names, AOD_SMB_NCMDS_CFG * 2);
		if (hint && strncmp(hint, "SMB2_", 5))
			hint -= 5; /* always suggest the full name */
	}
	return cfg_error(c, n, path,
			 "expected an SMB2 command (SMB2_NEGOTIATE .. "
			 "SMB2_SERVER_TO_CLIENT_NOTIFICATION), got %s%s%s%s",
			 cfg_node_desc(n, desc, sizeof(desc)),
			 hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
}

static const char *const track_cmd_keys[] = { "command", "threshold", NULL };

static int parse_cmd_list(struct rule_ctx *rc, const char *key, bool with_threshold,
			  struct cmd_list *l)
{
	struct cfg_ctx *c = rc->c;
	char lpath[CFG_PATH_LEN], ipath[CFG_PATH_LEN], kpath[CFG_PATH_LEN];
	yaml_node_t *n = rule_get(rc, key, lpath, NULL);
	int err = cfg_check_sequence(c, n, lpath, MAX_LIST_ITEMS, "SMB2 commands");

	if (err || cfg_is_null(n))
		return err;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = cfg_node(c, *it), *name_n = item, *thr_n = NULL;
		uint64_t thr = rc->r->default_threshold_ns;
		int cmd;

		cfg_path_index(ipath, lpath, (size_t)(it - n->data.sequence.items.start));
		if (with_threshold && item->type == YAML_MAPPING_NODE) {
			err = cfg_check_mapping(c, item, ipath, track_cmd_keys);
			if (err)
				return err;
			cfg_path_key(kpath, ipath, "command");
			name_n = cfg_get(c, item, "command", NULL);
			if (!name_n)
				return cfg_error(c, item, kpath, "required key missing (an SMB2 command)");
			thr_n = cfg_get(c, item, "threshold", NULL);
		} else {
			snprintf(kpath, sizeof(kpath), "%s", ipath);
		}
		err = parse_cmd(c, name_n, kpath, &cmd);
		if (err)
			return err;
		cfg_path_key(kpath, ipath, "threshold");
		if (thr_n && (err = cfg_ms(c, thr_n, kpath, true, &thr)))
			return err;
		if (l->listed[cmd])
			cfg_warn(c, name_n, ipath, "%s listed twice; the later entry wins",
				 aod_smb_cmd_name(cmd));
		l->listed[cmd] = true;
		l->thr[cmd] = thr;
		l->node[cmd] = name_n;
		l->any = true;
	}
	return 0;
}

static int parse_smb_latency(struct rule_ctx *rc)
{
	struct aod_rule *r = rc->r;
	struct cmd_list track = { 0 }, excl = { 0 };
	bool any = false;
	int err;

	err = parse_cmd_list(rc, "track_commands", true, &track);
	if (!err)
		err = parse_cmd_list(rc, "exclude_commands", false, &excl);
	if (err)
		return err;
	for (unsigned i = 0; i < AOD_SMB_NCMDS_CFG; i++)
		if (track.listed[i] && excl.listed[i])
			return overlap(rc, excl.node[i], "exclude_commands",
				       aod_smb_cmd_name(i), track.node[i]);
	normalise(rc, "track_commands", &track.any, "exclude_commands", &excl.any);
	for (unsigned i = 0; i < AOD_SMB_NCMDS_CFG; i++) {
		bool tracked = track.any && track.listed[i];

		if (r->mode == AOD_MODE_TRACKONLY)
			r->cmd_tracked[i] = tracked;
		else
			r->cmd_tracked[i] = !(excl.any && excl.listed[i]);
		r->cmd_threshold_ns[i] = tracked ? track.thr[i] : r->default_threshold_ns;
		if (!r->cmd_tracked[i])
			r->cmd_threshold_ns[i] = 0;
		any |= r->cmd_tracked[i];
	}
	if (!any)
		return nothing_to_track(rc, r->mode == AOD_MODE_TRACKONLY ?
					"mode trackonly needs a non-empty track_commands" :
					"every command is excluded");
	return 0;
}

/* ---- block latency (biolatency) ---- */

struct dev_list {
	uint32_t n;
	struct aod_device dev[AOD_MAX_DEVICES];
	yaml_node_t *node[AOD_MAX_DEVICES];
};

static int parse_disk(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *out)
{
	const char *v = cfg_scalar(n);
	char desc[96];

	if (v && !cfg_is_null(n) && !strncmp(v, "/dev/", 5) && v[5] && !strchr(v + 5, '/'))
		return cfg_error(c, n, path,
				 "expected a disk name as in /sys/class/block, got '%s'; "
				 "did you mean '%s'?", v, v + 5);
	if (!v || cfg_is_null(n) || strlen(v) >= AOD_DISK_NAME_LEN || strpbrk(v, "/ \t"))
		return cfg_error(c, n, path,
				 "expected a disk name as in /sys/class/block (vda, nvme0n1), got %s",
				 cfg_node_desc(n, desc, sizeof(desc)));
	snprintf(out, AOD_DISK_NAME_LEN, "%s", v);
	return 0;
}

static int find_dev(const struct dev_list *l, const char *name)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (!strcmp(l->dev[i].name, name))
			return (int)i;
	return -1;
}

static const char *const track_dev_keys[] = { "device", "threshold", NULL };

static int parse_dev_list(struct rule_ctx *rc, const char *key, bool with_threshold,
			  struct dev_list *l)
{
	struct cfg_ctx *c = rc->c;
	char lpath[CFG_PATH_LEN], ipath[CFG_PATH_LEN], kpath[CFG_PATH_LEN];
	yaml_node_t *n = rule_get(rc, key, lpath, NULL);
	int err = cfg_check_sequence(c, n, lpath, AOD_MAX_DEVICES, "devices");

	if (err || cfg_is_null(n))
		return err;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = cfg_node(c, *it), *name_n = item, *thr_n = NULL;
		struct aod_device d = { .threshold_ns = rc->r->default_threshold_ns };
		int at;

		cfg_path_index(ipath, lpath, (size_t)(it - n->data.sequence.items.start));
		snprintf(kpath, sizeof(kpath), "%s", ipath);
		if (with_threshold && item->type == YAML_MAPPING_NODE) {
			err = cfg_check_mapping(c, item, ipath, track_dev_keys);
			if (err)
				return err;
			cfg_path_key(kpath, ipath, "device");
			name_n = cfg_get(c, item, "device", NULL);
			if (!name_n)
				return cfg_error(c, item, kpath, "required key missing (a disk name)");
			thr_n = cfg_get(c, item, "threshold", NULL);
		}
		err = parse_disk(c, name_n, kpath, d.name);
		if (err)
			return err;
		cfg_path_key(kpath, ipath, "threshold");
		if (thr_n && (err = cfg_ms(c, thr_n, kpath, true, &d.threshold_ns)))
			return err;
		at = find_dev(l, d.name);
		if (at >= 0) {
			cfg_warn(c, name_n, ipath, "%s listed twice; the later entry wins", d.name);
		} else {
			at = (int)l->n++;
		}
		l->dev[at] = d;
		l->node[at] = name_n;
	}
	return 0;
}

static int parse_blk_latency(struct rule_ctx *rc)
{
	struct aod_rule *r = rc->r;
	struct dev_list track = { 0 }, excl = { 0 };
	bool use_track, use_excl;
	int err;

	err = parse_dev_list(rc, "track_devices", true, &track);
	if (!err)
		err = parse_dev_list(rc, "exclude_devices", false, &excl);
	if (err)
		return err;
	for (uint32_t i = 0; i < excl.n; i++) {
		int at = find_dev(&track, excl.dev[i].name);

		if (at >= 0)
			return overlap(rc, excl.node[i], "exclude_devices",
				       excl.dev[i].name, track.node[at]);
	}
	use_track = track.n > 0;
	use_excl = excl.n > 0;
	normalise(rc, "track_devices", &use_track, "exclude_devices", &use_excl);
	if (use_track) {
		r->ndevices = track.n;
		memcpy(r->devices, track.dev, sizeof(track.dev));
	}
	if (use_excl) {
		r->nexclude_devices = excl.n;
		for (uint32_t i = 0; i < excl.n; i++)
			memcpy(r->exclude_devices[i], excl.dev[i].name, AOD_DISK_NAME_LEN);
	}
	if (r->mode == AOD_MODE_TRACKONLY && r->ndevices == 0)
		return nothing_to_track(rc, "mode trackonly needs a non-empty track_devices");
	return 0;
}

/* ---- TCP connect latency (tcpconnlat) ---- */

struct port_list {
	uint32_t n;
	struct aod_port port[AOD_MAX_PORTS];
	yaml_node_t *node[AOD_MAX_PORTS];
};

static int find_port(const struct port_list *l, uint16_t port)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->port[i].port == port)
			return (int)i;
	return -1;
}

static const char *const track_port_keys[] = { "port", "threshold", NULL };

static int parse_port_item(struct rule_ctx *rc, yaml_node_t *item, const char *ipath,
			   bool with_threshold, struct aod_port *p, yaml_node_t **name_n)
{
	struct cfg_ctx *c = rc->c;
	char kpath[CFG_PATH_LEN];
	yaml_node_t *thr_n = NULL;
	uint32_t port;
	int err;

	*name_n = item;
	snprintf(kpath, sizeof(kpath), "%s", ipath);
	if (with_threshold && item->type == YAML_MAPPING_NODE) {
		err = cfg_check_mapping(c, item, ipath, track_port_keys);
		if (err)
			return err;
		cfg_path_key(kpath, ipath, "port");
		*name_n = cfg_get(c, item, "port", NULL);
		if (!*name_n)
			return cfg_error(c, item, kpath, "required key missing (a TCP port, 1..65535)");
		thr_n = cfg_get(c, item, "threshold", NULL);
	}
	err = cfg_u32(c, *name_n, kpath, 1, 65535, &port);
	if (err)
		return err;
	p->port = (uint16_t)port;
	p->threshold_ns = rc->r->default_threshold_ns;
	cfg_path_key(kpath, ipath, "threshold");
	return thr_n ? cfg_ms(c, thr_n, kpath, true, &p->threshold_ns) : 0;
}

static int parse_port_list(struct rule_ctx *rc, const char *key, bool with_threshold,
			   struct port_list *l)
{
	char lpath[CFG_PATH_LEN], ipath[CFG_PATH_LEN];
	yaml_node_t *n = rule_get(rc, key, lpath, NULL);
	int err = cfg_check_sequence(rc->c, n, lpath, AOD_MAX_PORTS, "ports");

	if (err || cfg_is_null(n))
		return err;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		struct aod_port p;
		yaml_node_t *name_n;
		int at;

		cfg_path_index(ipath, lpath, (size_t)(it - n->data.sequence.items.start));
		err = parse_port_item(rc, cfg_node(rc->c, *it), ipath, with_threshold, &p, &name_n);
		if (err)
			return err;
		at = find_port(l, p.port);
		if (at >= 0)
			cfg_warn(rc->c, name_n, ipath, "port %u listed twice; the later entry wins",
				 p.port);
		else
			at = (int)l->n++;
		l->port[at] = p;
		l->node[at] = name_n;
	}
	return 0;
}

static int parse_tcp_latency(struct rule_ctx *rc)
{
	struct aod_rule *r = rc->r;
	struct port_list track = { 0 }, excl = { 0 };
	bool use_track, use_excl;
	char name[16];
	int err;

	err = parse_port_list(rc, "track_ports", true, &track);
	if (!err)
		err = parse_port_list(rc, "exclude_ports", false, &excl);
	if (err)
		return err;
	for (uint32_t i = 0; i < excl.n; i++) {
		int at = find_port(&track, excl.port[i].port);

		snprintf(name, sizeof(name), "port %u", excl.port[i].port);
		if (at >= 0)
			return overlap(rc, excl.node[i], "exclude_ports", name, track.node[at]);
	}
	use_track = track.n > 0;
	use_excl = excl.n > 0;
	normalise(rc, "track_ports", &use_track, "exclude_ports", &use_excl);
	if (use_track) {
		r->nports = track.n;
		memcpy(r->ports, track.port, sizeof(track.port));
	}
	for (uint32_t i = 0; use_excl && i < excl.n; i++)
		r->exclude_ports[r->nexclude_ports++] = excl.port[i].port;
	if (r->mode == AOD_MODE_TRACKONLY && r->nports == 0)
		return nothing_to_track(rc, "mode trackonly needs a non-empty track_ports");
	return 0;
}

/* ---- errors (smbiosnoop, bioerror) ---- */

static int parse_error_rule(struct rule_ctx *rc)
{
	struct aod_rule *r = rc->r;
	yaml_node_t *tnodes[AOD_MAX_CODES], *enodes[AOD_MAX_CODES];
	char tpath[CFG_PATH_LEN], epath[CFG_PATH_LEN];
	bool use_track, use_excl;
	int err;

	err = cfg_parse_codes(rc->c, r, rule_get(rc, "track_codes", tpath, NULL), tpath,
			      r->track_codes, &r->ntrack_codes, tnodes);
	if (!err)
		err = cfg_parse_codes(rc->c, r, rule_get(rc, "exclude_codes", epath, NULL),
				      epath, r->exclude_codes, &r->nexclude_codes, enodes);
	if (err)
		return err;
	for (uint32_t i = 0; i < r->nexclude_codes; i++)
		for (uint32_t j = 0; j < r->ntrack_codes; j++)
			if (r->exclude_codes[i].kind == r->track_codes[j].kind &&
			    r->exclude_codes[i].value == r->track_codes[j].value)
				return overlap(rc, enodes[i], "exclude_codes",
					       r->exclude_codes[i].name, tnodes[j]);
	use_track = r->ntrack_codes > 0;
	use_excl = r->nexclude_codes > 0;
	normalise(rc, "track_codes", &use_track, "exclude_codes", &use_excl);
	if (!use_track)
		r->ntrack_codes = 0;
	if (!use_excl)
		r->nexclude_codes = 0;
	if (r->mode == AOD_MODE_TRACKONLY && r->ntrack_codes == 0)
		return nothing_to_track(rc, "mode trackonly needs a non-empty track_codes");
	return 0;
}

/* ---- failed process exits (procexit) ---- */

/* A comm glob: 1..63 bytes, printable; without glob characters at most 15
 * bytes (a longer name could never equal a comm). */
static int parse_command(struct rule_ctx *rc, yaml_node_t *n, const char *path, char *out)
{
	const char *v = cfg_is_null(n) ? NULL : cfg_scalar(n);
	char desc[96];
	size_t len;

	if (!v || !*v)
		return cfg_error(rc->c, n, path,
				 "expected a command name or glob (\"make\", \"cc*\"), got %s",
				 cfg_node_desc(n, desc, sizeof(desc)));
	len = strlen(v);
	for (size_t i = 0; i < len; i++)
		if (iscntrl((unsigned char)v[i]))
			return cfg_error(rc->c, n, path,
					 "expected a command name or glob without control "
					 "characters (byte %zu is 0x%02x)", i, (unsigned char)v[i]);
	if (len >= AOD_PROC_COMMAND_LEN)
		return cfg_error(rc->c, n, path, "expected a glob of at most %d bytes, got %zu",
				 AOD_PROC_COMMAND_LEN - 1, len);
	if (!strpbrk(v, "*?[") && len >= AOD_EV_COMM_LEN)
		return cfg_error(rc->c, n, path,
				 "'%s' is %zu bytes; expected at most %d (the kernel's comm, "
				 "cut at %d: use '%.*s' or a glob)", v, len, AOD_EV_COMM_LEN - 1,
				 AOD_EV_COMM_LEN - 1, AOD_EV_COMM_LEN - 1, v);
	memcpy(out, v, len + 1);
	return 0;
}

static int parse_commands(struct rule_ctx *rc)
{
	struct aod_rule *r = rc->r;
	char lpath[CFG_PATH_LEN], ipath[CFG_PATH_LEN];
	yaml_node_t *n = rule_get(rc, "commands", lpath, NULL);
	int err = cfg_check_sequence(rc->c, n, lpath, AOD_MAX_PROC_COMMANDS, "command names or globs");

	if (err || !n || cfg_is_null(n))
		return err;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		cfg_path_index(ipath, lpath, (size_t)(it - n->data.sequence.items.start));
		err = parse_command(rc, cfg_node(rc->c, *it), ipath, r->commands[r->ncommands]);
		if (err)
			return err;
		r->ncommands++;
	}
	return 0;
}

/* A signal: a number 1..64 or a name, with or without SIG ("KILL", "SIGSEGV"). */
static int parse_signal(struct rule_ctx *rc, yaml_node_t *n, const char *path, int *out)
{
	const char *v = cfg_is_null(n) ? NULL : cfg_scalar(n);
	const char *names[NSIG];
	size_t nnames = 0;
	char desc[96];
	uint32_t num;

	if (v && isdigit((unsigned char)v[0])) {
		int err = cfg_u32(rc->c, n, path, 1, 64, &num);

		*out = (int)num;
		return err;
	}
	if (v && !strncasecmp(v, "SIG", 3))
		v += 3;
	for (int sig = 1; v && sig < NSIG && sig <= 64; sig++) {
		const char *abbrev = sigabbrev_np(sig);

		if (!abbrev)
			continue;
		if (!strcasecmp(v, abbrev)) {
			*out = sig;
			return 0;
		}
		names[nnames++] = abbrev;
	}
	v = v ? cfg_suggest(v, names, nnames) : NULL;
	return cfg_error(rc->c, n, path,
			 "expected a signal name (SIGKILL, SEGV, ...) or number 1..64, got %s%s%s%s",
			 cfg_node_desc(n, desc, sizeof(desc)), v ? "; did you mean 'SIG" : "",
			 v ? v : "", v ? "'?" : "");
}

/* exit_codes, signals: absent = every one; a list (possibly empty) = those. */
static int parse_exit_list(struct rule_ctx *rc, const char *key, bool *all, bool *set,
			   size_t nset)
{
	char lpath[CFG_PATH_LEN], ipath[CFG_PATH_LEN];
	yaml_node_t *n = rule_get(rc, key, lpath, NULL);
	bool codes = nset == 256;
	int err;

	*all = !n;
	if (!n)
		return 0;
	err = cfg_check_sequence(rc->c, n, lpath, nset - 1,
				 codes ? "exit codes (1..255)" : "signals");
	if (err || cfg_is_null(n))
		return err;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = cfg_node(rc->c, *it);
		uint32_t code = 0;
		int sig = 0;

		cfg_path_index(ipath, lpath, (size_t)(it - n->data.sequence.items.start));
		if (codes) {
			err = cfg_u32(rc->c, item, ipath, 1, 255, &code);
			sig = (int)code;
		} else {
			err = parse_signal(rc, item, ipath, &sig);
		}
		if (err)
			return err;
		set[sig] = true;
	}
	return 0;
}

static int parse_procexit(struct rule_ctx *rc)
{
	struct aod_rule *r = rc->r;
	bool any = false;
	int err = parse_commands(rc);

	if (!err)
		err = parse_exit_list(rc, "exit_codes", &r->all_exit_codes, r->exit_codes,
				      sizeof(r->exit_codes) / sizeof(r->exit_codes[0]));
	if (!err)
		err = parse_exit_list(rc, "signals", &r->all_signals, r->signals,
				      sizeof(r->signals) / sizeof(r->signals[0]));
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(r->exit_codes) / sizeof(r->exit_codes[0]); i++)
		any |= r->exit_codes[i];
	for (size_t i = 0; i < sizeof(r->signals) / sizeof(r->signals[0]); i++)
		any |= r->signals[i];
	if (!any && !r->all_exit_codes && !r->all_signals)
		return nothing_to_track(rc, "exit_codes and signals are both empty");
	return 0;
}

static int parse_rule(struct cfg_ctx *c, yaml_node_t *key, yaml_node_t *map,
		      const char *path, struct aod_rule *r)
{
	struct rule_ctx rc = { .c = c, .r = r, .map = map, .key = key, .path = path };
	int err;

	memset(r, 0, sizeof(*r));
	err = cfg_name(c, key, path, "a rule name", r->name, sizeof(r->name));
	if (err)
		return err;
	if (cfg_is_null(map) || map->type != YAML_MAPPING_NODE)
		return cfg_error(c, map, path, "expected a mapping with type, tool, "
				 "acceptable_count, ...");
	if (cfg_is_health_rule(c, map))   /* type: Health has keys of its own (cfg_health.c) */
		return cfg_parse_health_rule(c, map, path, r);
	err = cfg_check_mapping(c, map, path, rule_keys);
	if (!err)
		err = parse_type_tool(&rc);
	if (!err)
		err = check_tool_keys(&rc);
	if (!err)
		err = parse_common(&rc);
	if (err)
		return err;
	switch (r->tool) {
	case AOD_TOOL_SMBSLOWER: return parse_smb_latency(&rc);
	case AOD_TOOL_BIOLATENCY: return parse_blk_latency(&rc);
	case AOD_TOOL_TCPCONNLAT: return parse_tcp_latency(&rc);
	case AOD_TOOL_TCPRETRANS:
	case AOD_TOOL_TCPRESET: return 0; /* every retransmit / reset counts */
	case AOD_TOOL_PROCEXIT: return parse_procexit(&rc);
	default: return parse_error_rule(&rc);
	}
}

static const char *const guardian_keys[] = { "anomalies", NULL };

int cfg_parse_guardian(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_config *cfg = c->cfg;
	char path[CFG_PATH_LEN];
	yaml_node_t *rules;
	int err = cfg_check_mapping(c, n, "guardian", guardian_keys);

	if (err)
		return err;
	rules = cfg_get(c, n, "anomalies", NULL);
	err = cfg_check_mapping(c, rules, "guardian.anomalies", NULL);
	if (err || cfg_is_null(rules))
		return err;
	for (yaml_node_pair_t *p = rules->data.mapping.pairs.start;
	     p < rules->data.mapping.pairs.top; p++) {
		yaml_node_t *key = cfg_node(c, p->key);

		cfg_path_key(path, "guardian.anomalies", cfg_scalar(key));
		if (cfg->nrules == AOD_MAX_RULES)
			return cfg_error(c, key, path, "expected at most %d rules",
					 AOD_MAX_RULES);
		err = parse_rule(c, key, cfg_node(c, p->value), path,
				 &cfg->rules[cfg->nrules]);
		if (err)
			return err;
		cfg->nrules++;
	}
	return 0;
}
