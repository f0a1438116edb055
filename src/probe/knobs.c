// SPDX-License-Identifier: MIT
#include "probe/knobs.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "probe/blkdev.h"

/* Statuses the originals and the reference runs saw as normal protocol
 * steps; they are candidate classes so that the verdict maps carry the
 * rules' opinion of them explicitly. */
static const uint32_t benign_statuses[] = {
	0xC0000016, /* STATUS_MORE_PROCESSING_REQUIRED */
	0x80000006, /* STATUS_NO_MORE_FILES */
	0xC0000011, /* STATUS_END_OF_FILE */
	0xC0000034, /* STATUS_OBJECT_NAME_NOT_FOUND */
};

/* Above this many (status, rc) classes to evaluate, or too many entries
 * for the maps, give up on exact maps and let every error through (the
 * detector filters). */
#define MAX_VERDICT_PAIRS (1u << 16)

/* A device name no rule can list: asks a rule for its default. */
static const char unlisted_device[] = "(aod-unlisted-device)";

static bool is_smb_rule(const struct aod_rule *r, enum aod_rule_type type)
{
	return r->source == AOD_SOURCE_SMB && r->type == type;
}

static bool is_blk_rule(const struct aod_rule *r, enum aod_rule_type type)
{
	return r->source == AOD_SOURCE_BLOCK && r->type == type;
}

static uint64_t min_emergency(const struct aod_config *cfg,
			      enum aod_source src)
{
	uint64_t min = AOD_THRESH_OFF;

	for (uint32_t i = 0; i < cfg->nrules; i++) {
		const struct aod_rule *r = &cfg->rules[i];

		if (r->source != src || r->type != AOD_RULE_LATENCY)
			continue;
		if (r->emergency_threshold_ns && r->emergency_threshold_ns < min)
			min = r->emergency_threshold_ns;
	}
	return min;
}

/* ---- SMB error verdicts ------------------------------------------------ */

struct u32_set {
	uint32_t n, cap;
	uint32_t *v;
};

static int set_add(struct u32_set *s, uint32_t v)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->v[i] == v)
			return 0;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 64;
		uint32_t *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	return 0;
}

static bool set_has(const struct u32_set *s, uint32_t v)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->v[i] == v)
			return true;
	return false;
}

static int collect_codes(const struct aod_config *cfg, struct u32_set *st,
			 struct u32_set *rc)
{
	for (uint32_t i = 0; i < cfg->nrules; i++) {
		const struct aod_rule *r = &cfg->rules[i];
		const struct aod_code *lists[2] = { r->track_codes, r->exclude_codes };
		uint32_t counts[2] = { r->ntrack_codes, r->nexclude_codes };

		if (!is_smb_rule(r, AOD_RULE_ERROR))
			continue;
		for (int l = 0; l < 2; l++)
			for (uint32_t j = 0; j < counts[l]; j++) {
				const struct aod_code *c = &lists[l][j];
				int err = c->kind == AOD_CODE_NTSTATUS
						  ? set_add(st, c->value)
						  : set_add(rc, (uint32_t)-(int32_t)c->value);

				if (err)
					return -1;
			}
	}
	for (size_t i = 0; i < sizeof(benign_statuses) / sizeof(benign_statuses[0]); i++)
		if (set_add(st, benign_statuses[i]))
			return -1;
	return 0;
}

static bool any_tracks(const struct aod_config *cfg, uint32_t status, int32_t rc)
{
	for (uint32_t i = 0; i < cfg->nrules; i++) {
		const struct aod_rule *r = &cfg->rules[i];

		if (is_smb_rule(r, AOD_RULE_ERROR) &&
		    aod_rule_error_tracked(r, status, rc))
			return true;
	}
	return false;
}

/*
 * A rule can only tell codes apart by whether they are in its lists, so
 * every status is one of: a listed (or benign) status, or "any other"
 * (a sentinel no list holds); likewise for rc. Evaluating the rules on
 * each pair of classes gives the whole verdict table, written into the
 * kernel's lookup order:
 *  - each listed status gets its verdict for an unlisted rc (status map),
 *    and a pair entry for each listed rc where that differs;
 *  - an unlisted status falls through to the rc map (listed rcs whose
 *    verdict differs from the default) and the default.
 */
static int fill_verdicts(const struct aod_config *cfg, struct aod_smb_knob_set *out)
{
	struct u32_set st = { 0 }, rc = { 0 };
	uint32_t other_status = 0xE0AD0001;
	int32_t other_rc = -4000;
	bool dflt;
	int ret = -1;

	if (collect_codes(cfg, &st, &rc))
		goto done;
	while (set_has(&st, other_status))
		other_status++;
	while (set_has(&rc, (uint32_t)other_rc))
		other_rc--;
	if (st.n > AOD_KNOB_MAX_CODES || rc.n > AOD_KNOB_MAX_CODES ||
	    (uint64_t)(st.n + 1) * (rc.n + 1) > MAX_VERDICT_PAIRS)
		goto done;

	for (uint32_t i = 0; i < st.n; i++) {
		bool v = any_tracks(cfg, st.v[i], other_rc);

		out->status[out->nstatus].status = st.v[i];
		out->status[out->nstatus].verdict = v ? AOD_ERR_TRACK : AOD_ERR_IGNORE;
		out->nstatus++;
		for (uint32_t j = 0; j < rc.n; j++) {
			bool t = any_tracks(cfg, st.v[i], (int32_t)rc.v[j]);

			if (t == v)
				continue;
			if (out->npair == AOD_KNOB_MAX_PAIRS)
				goto done;
			out->pair[out->npair].key.status = st.v[i];
			out->pair[out->npair].key.rc = (int32_t)rc.v[j];
			out->pair[out->npair].verdict = t ? AOD_ERR_TRACK : AOD_ERR_IGNORE;
			out->npair++;
		}
	}
	dflt = any_tracks(cfg, other_status, other_rc);
	out->k.err_default = dflt ? AOD_ERR_TRACK : AOD_ERR_IGNORE;
	for (uint32_t j = 0; j < rc.n; j++) {
		bool t = any_tracks(cfg, other_status, (int32_t)rc.v[j]);

		if (t == dflt)
			continue;
		out->rc[out->nrc].rc = (int32_t)rc.v[j];
		out->rc[out->nrc].verdict = t ? AOD_ERR_TRACK : AOD_ERR_IGNORE;
		out->nrc++;
	}
	ret = 0;
done:
	free(st.v);
	free(rc.v);
	return ret;
}

void aod_knobs_smb(const struct aod_config *cfg, bool record_all,
		   struct aod_smb_knob_set *out)
{
	bool any_err = false, any_lat = false;

	memset(out, 0, sizeof(*out));
	for (unsigned c = 0; c < AOD_SMB_NCMDS; c++)
		out->thresh_ns[c] = record_all ? 0 : AOD_THRESH_OFF;
	out->k.emergency_ns = min_emergency(cfg, AOD_SOURCE_SMB);

	for (uint32_t i = 0; i < cfg->nrules; i++) {
		const struct aod_rule *r = &cfg->rules[i];

		any_err |= is_smb_rule(r, AOD_RULE_ERROR);
		if (!is_smb_rule(r, AOD_RULE_LATENCY))
			continue;
		any_lat = true;
		for (unsigned c = 0; c < AOD_SMB_NCMDS && !record_all; c++) {
			uint64_t t;

			if (aod_rule_smb_threshold(r, c, &t) && t < out->thresh_ns[c])
				out->thresh_ns[c] = t;
		}
	}
	out->needed = (record_all || any_err || any_lat || cfg->probes.smb == AOD_PROBE_ON) &&
		      cfg->probes.smb != AOD_PROBE_OFF;
	out->k.enabled_slow = record_all || any_lat;
	out->k.enabled_err = record_all || any_err;
	out->k.err_default = AOD_ERR_TRACK;
	if (record_all || !any_err)
		return;
	if (fill_verdicts(cfg, out)) {
		log_warn("probe smb: too many error codes for exact kernel "
			 "filtering; every SMB error goes to user space");
		out->nstatus = out->nrc = out->npair = 0;
		out->k.err_default = AOD_ERR_TRACK;
	}
}

/* ---- block --------------------------------------------------------------- */

static uint64_t blk_min_threshold(const struct aod_config *cfg, const char *disk)
{
	uint64_t min = AOD_THRESH_OFF;

	for (uint32_t i = 0; i < cfg->nrules; i++) {
		const struct aod_rule *r = &cfg->rules[i];
		uint64_t t;

		if (is_blk_rule(r, AOD_RULE_LATENCY) &&
		    aod_rule_blk_threshold(r, disk, &t) && t < min)
			min = t;
	}
	return min;
}

static void add_devices(const struct aod_config *cfg, const char *dir,
			struct aod_blk_knob_set *out)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		log_warn("probe block: %s: %m; per-device thresholds not applied", dir);
		return;
	}
	while ((de = readdir(d))) {
		uint64_t t;
		uint32_t dev;

		if (de->d_name[0] == '.')
			continue;
		t = blk_min_threshold(cfg, de->d_name);
		if (t == out->k.default_threshold_ns)
			continue;
		if (aod_blk_dev_from_name(dir, de->d_name, &dev))
			continue;
		if (out->ndev == AOD_KNOB_MAX_DEVS) {
			log_warn("probe block: more than %d devices with their own "
				 "threshold; %s uses the default", AOD_KNOB_MAX_DEVS,
				 de->d_name);
			continue;
		}
		out->dev[out->ndev].dev = dev;
		out->dev[out->ndev].thresh_ns = t;
		out->ndev++;
	}
	closedir(d);
}

void aod_knobs_blk(const struct aod_config *cfg, bool record_all,
		   const char *sysfs_class_block, struct aod_blk_knob_set *out)
{
	bool any_err = false, any_lat = false;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < cfg->nrules; i++) {
		any_err |= is_blk_rule(&cfg->rules[i], AOD_RULE_ERROR);
		any_lat |= is_blk_rule(&cfg->rules[i], AOD_RULE_LATENCY);
	}
	out->needed = (record_all || any_err || any_lat || cfg->probes.block == AOD_PROBE_ON) &&
		      cfg->probes.block != AOD_PROBE_OFF;
	out->k.enabled_err = record_all || any_err;
	out->k.emergency_ns = min_emergency(cfg, AOD_SOURCE_BLOCK);
	if (record_all) {
		out->k.default_threshold_ns = 0;
		return;
	}
	out->k.default_threshold_ns = blk_min_threshold(cfg, unlisted_device);
	if (any_lat)
		add_devices(cfg, sysfs_class_block, out);
}

bool aod_knobs_blk_equal(const struct aod_blk_knob_set *a,
			 const struct aod_blk_knob_set *b)
{
	if (a->needed != b->needed || a->ndev != b->ndev ||
	    memcmp(&a->k, &b->k, sizeof(a->k)))
		return false;
	for (uint32_t i = 0; i < a->ndev; i++)
		if (a->dev[i].dev != b->dev[i].dev ||
		    a->dev[i].thresh_ns != b->dev[i].thresh_ns)
			return false;
	return true;
}

/* ---- TCP ----------------------------------------------------------------- */

static bool is_tcp_tool(const struct aod_rule *r, enum aod_tool tool)
{
	return r->source == AOD_SOURCE_TCP && r->tool == tool;
}

/* Smallest threshold any tcpconnlat rule gives port (port 0: an unlisted one). */
static uint64_t tcp_min_threshold(const struct aod_config *cfg, unsigned port)
{
	uint64_t min = AOD_THRESH_OFF;

	for (uint32_t i = 0; i < cfg->nrules; i++) {
		uint64_t t;

		if (is_tcp_tool(&cfg->rules[i], AOD_TOOL_TCPCONNLAT) &&
		    aod_rule_tcp_threshold(&cfg->rules[i], port, &t) && t < min)
			min = t;
	}
	return min;
}

static bool port_known(const struct aod_tcp_knob_set *out, uint32_t port)
{
	for (uint32_t i = 0; i < out->nport; i++)
		if (out->port[i].port == port)
			return true;
	return false;
}

/* A port some rule lists: its own entry, or, when the map is full, the
 * default lowered to it (the kernel may pass more, never less). */
static void add_port(const struct aod_config *cfg, uint32_t port, struct aod_tcp_knob_set *out)
{
	uint64_t t = tcp_min_threshold(cfg, port);

	if (port_known(out, port) || t == out->k.connect_threshold_ns)
		return;
	if (out->nport == AOD_TCP_THRESH_PORTS_MAX) {
		if (t < out->k.connect_threshold_ns) {
			log_warn("probe tcp: more than %d ports with their own connect "
				 "threshold; the default is lowered for port %u",
				 AOD_TCP_THRESH_PORTS_MAX, port);
			out->k.connect_threshold_ns = t;
		}
		return;
	}
	out->port[out->nport].port = port;
	out->port[out->nport].thresh_ns = t;
	out->nport++;
}

void aod_knobs_tcp(const struct aod_config *cfg, bool record_all,
		   struct aod_tcp_knob_set *out)
{
	bool any = false;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < cfg->nrules; i++) {
		const struct aod_rule *r = &cfg->rules[i];

		any |= r->source == AOD_SOURCE_TCP;
		out->k.enabled_retrans |= is_tcp_tool(r, AOD_TOOL_TCPRETRANS);
		out->k.enabled_reset |= is_tcp_tool(r, AOD_TOOL_TCPRESET);
	}
	out->needed = (record_all || any || cfg->probes.tcp == AOD_PROBE_ON) &&
		      cfg->probes.tcp != AOD_PROBE_OFF;
	out->k.emergency_ns = min_emergency(cfg, AOD_SOURCE_TCP);
	if (record_all) {
		out->k.enabled_retrans = out->k.enabled_reset = 1;
		out->k.connect_threshold_ns = 0;
		return;
	}
	out->k.connect_threshold_ns = tcp_min_threshold(cfg, 0);
	for (uint32_t i = 0; i < cfg->nrules; i++) {
		const struct aod_rule *r = &cfg->rules[i];

		if (!is_tcp_tool(r, AOD_TOOL_TCPCONNLAT))
			continue;
		for (uint32_t j = 0; j < r->nports; j++)
			add_port(cfg, r->ports[j].port, out);
		for (uint32_t j = 0; j < r->nexclude_ports; j++)
			add_port(cfg, r->exclude_ports[j], out);
	}
}
