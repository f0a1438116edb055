// SPDX-License-Identifier: MIT
/*
 * Does an event count for a rule? The single answer used by the detector
 * and by the code that fills the BPF filter maps, so the kernel pre-filter
 * and the user-space rule cannot disagree.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"

static bool code_matches(const struct aod_code *code, uint32_t status, int32_t rc)
{
	if (code->kind == AOD_CODE_NTSTATUS)
		return status != 0 && status == code->value;
	/*
	 * smb3_cmd_err's rc is the errno the cifs client mapped the status to,
	 * so EACCES matches every status the client reports as -EACCES.
	 */
	return rc != 0 && rc == -(int32_t)code->value;
}

static bool any_matches(const struct aod_code *codes, uint32_t n, uint32_t status,
			int32_t rc)
{
	for (uint32_t i = 0; i < n; i++)
		if (code_matches(&codes[i], status, rc))
			return true;
	return false;
}

/* Tracked by NTSTATUS name or hex value, not through an errno name. */
static bool status_named(const struct aod_rule *rule, uint32_t status)
{
	for (uint32_t i = 0; i < rule->ntrack_codes; i++)
		if (rule->track_codes[i].kind == AOD_CODE_NTSTATUS &&
		    rule->track_codes[i].value == status)
			return true;
	return false;
}

bool aod_rule_error_tracked(const struct aod_rule *rule, uint32_t status, int32_t rc)
{
	if (!rule || rule->type != AOD_RULE_ERROR || (status == 0 && rc == 0))
		return false;
	/* normal protocol traffic unless the user asked for that very status */
	if (status != 0 && aod_ntstatus_is_benign(status) && !status_named(rule, status))
		return false;
	if (any_matches(rule->exclude_codes, rule->nexclude_codes, status, rc))
		return false;
	if (rule->mode == AOD_MODE_TRACKONLY)
		return any_matches(rule->track_codes, rule->ntrack_codes, status, rc);
	return true;
}

bool aod_rule_smb_threshold(const struct aod_rule *rule, unsigned cmd, uint64_t *threshold_ns)
{
	if (!rule || rule->tool != AOD_TOOL_SMBSLOWER || cmd >= AOD_SMB_NCMDS_CFG ||
	    !rule->cmd_tracked[cmd])
		return false;
	*threshold_ns = rule->cmd_threshold_ns[cmd];
	return true;
}

bool aod_rule_blk_threshold(const struct aod_rule *rule, const char *disk, uint64_t *threshold_ns)
{
	if (!rule || rule->tool != AOD_TOOL_BIOLATENCY)
		return false;
	if (!disk)
		disk = "";
	for (uint32_t i = 0; i < rule->nexclude_devices; i++)
		if (!strcmp(rule->exclude_devices[i], disk))
			return false;
	for (uint32_t i = 0; i < rule->ndevices; i++) {
		if (!strcmp(rule->devices[i].name, disk)) {
			*threshold_ns = rule->devices[i].threshold_ns;
			return true;
		}
	}
	if (rule->mode == AOD_MODE_TRACKONLY)
		return false;
	*threshold_ns = rule->default_threshold_ns;
	return true;
}

bool aod_rule_tcp_threshold(const struct aod_rule *rule, unsigned port, uint64_t *threshold_ns)
{
	if (!rule || rule->tool != AOD_TOOL_TCPCONNLAT)
		return false;
	for (uint32_t i = 0; i < rule->nexclude_ports; i++)
		if (rule->exclude_ports[i] == port)
			return false;
	for (uint32_t i = 0; i < rule->nports; i++) {
		if (rule->ports[i].port == port) {
			*threshold_ns = rule->ports[i].threshold_ns;
			return true;
		}
	}
	if (rule->mode == AOD_MODE_TRACKONLY)
		return false;
	*threshold_ns = rule->default_threshold_ns;
	return true;
}

bool aod_rule_proc_exit_counts(const struct aod_rule *rule, const char *comm, int32_t exit_code,
			       int32_t signal)
{
	char name[AOD_EV_COMM_LEN + 1];
	bool named;

	if (!rule || rule->tool != AOD_TOOL_PROCEXIT)
		return false;
	if (signal) {
		if (signal < 0 || signal > 64 || !(rule->all_signals || rule->signals[signal]))
			return false;
	} else if (exit_code <= 0 || exit_code > 255 ||
		   !(rule->all_exit_codes || rule->exit_codes[exit_code])) {
		return false;
	}
	if (!rule->ncommands)
		return true;
	snprintf(name, sizeof(name), "%.*s", AOD_EV_COMM_LEN, comm ? comm : "");
	named = false;
	for (uint32_t i = 0; i < rule->ncommands && !named; i++)
		named = !fnmatch(rule->commands[i], name, 0);
	return named;
}

bool aod_config_proc_needed(const struct aod_config *cfg)
{
	bool needed = cfg->probes.proc.enable == AOD_PROBE_ON;

	for (uint32_t i = 0; cfg->probes.proc.enable == AOD_PROBE_AUTO && i < cfg->nrules; i++)
		needed |= cfg->rules[i].type == AOD_RULE_ERROR &&
			  cfg->rules[i].tool == AOD_TOOL_PROCEXIT;
	return needed;
}
