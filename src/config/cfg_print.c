// SPDX-License-Identifier: MIT
/*
 * The effective configuration as YAML: every default filled in, lists as
 * they are after mode normalisation, paths absolute. The output loads back
 * to the same struct (tests check the round trip).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_internal.h"

/* Double-quoted YAML string: safe for any path or argument. */
static void put_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

/* Shortest decimal that reads back to the same double. */
static void put_double(FILE *out, double v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, out);
}

/* ns as milliseconds, exactly (ns are integers: six decimals suffice). */
static void put_ms(FILE *out, uint64_t ns)
{
	char buf[48];
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "%llu.%06llu",
			     (unsigned long long)(ns / 1000000),
			     (unsigned long long)(ns % 1000000));
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	fputs(buf, out);
}

static void put_names(FILE *out, uint32_t n, const char names[][AOD_ACTION_NAME_LEN])
{
	fputc('[', out);
	for (uint32_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", names[i]);
	fputs("]\n", out);
}

static void put_codes(FILE *out, const char *key, const struct aod_code *codes,
		      uint32_t n)
{
	fprintf(out, "      %s: [", key);
	for (uint32_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", codes[i].name);
	fputs("]\n", out);
}

static void print_smb_latency(FILE *out, const struct aod_rule *r)
{
	bool any = false;

	/* trackonly lists every tracked command; otherwise the overrides */
	fputs("      track_commands:", out);
	for (unsigned i = 0; i < AOD_SMB_NCMDS_CFG; i++) {
		if (!r->cmd_tracked[i] || (r->mode != AOD_MODE_TRACKONLY &&
					   r->cmd_threshold_ns[i] == r->default_threshold_ns))
			continue;
		fprintf(out, "\n        - command: %s\n          threshold: ",
			aod_smb_cmd_name(i));
		put_ms(out, r->cmd_threshold_ns[i]);
		any = true;
	}
	fputs(any ? "\n" : " []\n", out);
	fputs("      exclude_commands: [", out);
	any = false;
	for (unsigned i = 0; i < AOD_SMB_NCMDS_CFG; i++) {
		if (r->cmd_tracked[i] || r->mode == AOD_MODE_TRACKONLY)
			continue;
		fprintf(out, "%s%s", any ? ", " : "", aod_smb_cmd_name(i));
		any = true;
	}
	fputs("]\n      # effective thresholds (ms):", out);
	for (unsigned i = 0; i < AOD_SMB_NCMDS_CFG; i++) {
		if (!r->cmd_tracked[i])
			continue;
		fprintf(out, " %s=", aod_smb_cmd_name(i) + 5);
		put_ms(out, r->cmd_threshold_ns[i]);
	}
	fputc('\n', out);
}

static void print_blk_latency(FILE *out, const struct aod_rule *r)
{
	fputs("      track_devices:", out);
	for (uint32_t i = 0; i < r->ndevices; i++) {
		fputs("\n        - device: ", out);
		put_str(out, r->devices[i].name);
		fputs("\n          threshold: ", out);
		put_ms(out, r->devices[i].threshold_ns);
	}
	fputs(r->ndevices ? "\n" : " []\n", out);
	fputs("      exclude_devices: [", out);
	for (uint32_t i = 0; i < r->nexclude_devices; i++) {
		fputs(i ? ", " : "", out);
		put_str(out, r->exclude_devices[i]);
	}
	fputs("]\n", out);
}

static void print_rule(FILE *out, const struct aod_rule *r)
{
	fprintf(out, "    %s:\n", r->name);
	if (r->type == AOD_RULE_HEALTH) {
		cfg_print_health_rule(out, r);
		return;
	}
	fprintf(out, "      type: %s\n", r->type == AOD_RULE_LATENCY ? "Latency" : "Error");
	fprintf(out, "      tool: %s\n", aod_tool_name(r->tool));
	fprintf(out, "      mode: %s\n", aod_mode_name(r->mode));
	fprintf(out, "      acceptable_count: %u\n", r->acceptable_count);
	if (r->type == AOD_RULE_LATENCY) {
		fputs("      default_threshold_ms: ", out);
		put_ms(out, r->default_threshold_ns);
		fputs("\n      emergency_threshold_ms: ", out);
		put_ms(out, r->emergency_threshold_ns);
		fputc('\n', out);
	}
	fprintf(out, "      holdoff_sec: %u\n", r->holdoff_sec);
	if (r->tool == AOD_TOOL_SMBSLOWER) {
		print_smb_latency(out, r);
	} else if (r->tool == AOD_TOOL_BIOLATENCY) {
		print_blk_latency(out, r);
	} else {
		put_codes(out, "track_codes", r->track_codes, r->ntrack_codes);
		put_codes(out, "exclude_codes", r->exclude_codes, r->nexclude_codes);
	}
	fputs("      actions: ", out);
	put_names(out, r->nactions, r->actions);
}

static void print_custom_action(FILE *out, const struct aod_custom_action *a)
{
	fprintf(out, "    - name: %s\n      argv: [", a->name);
	for (uint32_t i = 0; i < a->argc; i++) {
		fputs(i ? ", " : "", out);
		put_str(out, a->argv[i]);
	}
	fprintf(out, "]\n      timeout_sec: %u\n      max_bytes: %llu\n", a->timeout_sec,
		(unsigned long long)a->max_bytes);
}

static void print_watcher(FILE *out, const struct aod_config *cfg)
{
	fputs("watcher:\n  actions: ", out);
	put_names(out, cfg->watcher.nactions, cfg->watcher.actions);
	fputs("  custom_actions:", out);
	fputs(cfg->watcher.ncustom ? "\n" : " []\n", out);
	for (uint32_t i = 0; i < cfg->watcher.ncustom; i++)
		print_custom_action(out, &cfg->watcher.custom[i]);
	fprintf(out, "  max_concurrent_tasks: %u\n", cfg->watcher.max_concurrent_tasks);
	fprintf(out, "  action_timeout_sec: %u\n", cfg->watcher.action_timeout_sec);
	fprintf(out, "  action_max_bytes: %llu\n",
		(unsigned long long)cfg->watcher.action_max_bytes);
	fprintf(out, "  lookback_sec: %u\n", cfg->watcher.lookback_sec);
	fprintf(out, "  flight_recorder_sec: %u\n", cfg->watcher.flight_recorder_sec);
	fprintf(out, "  flight_recorder_max_events: %u\n",
		cfg->watcher.flight_recorder_max_events);
	fputs("  max_bundle_mb: ", out);
	put_double(out, cfg->watcher.max_bundle_mb);
	fprintf(out, "\n  zstd_level: %d\n", cfg->watcher.zstd_level);
}

void cfg_put_str(FILE *out, const char *s)
{
	put_str(out, s);
}

void cfg_put_double(FILE *out, double v)
{
	put_double(out, v);
}

int aod_config_print(const struct aod_config *cfg, FILE *out)
{
	fputs("# aod effective configuration (every default filled in)\n# source: ", out);
	put_str(out, cfg->source_path);
	fprintf(out, "\n# hash: %016llx\n", (unsigned long long)cfg->hash);
	fprintf(out, "watch_interval_sec: %u\n", cfg->watch_interval_sec);
	fputs("aod_output_dir: ", out);
	put_str(out, cfg->output_dir);
	fputs("\nguardian:\n  anomalies:", out);
	fputs(cfg->nrules ? "\n" : " {}\n", out);
	for (uint32_t i = 0; i < cfg->nrules; i++)
		print_rule(out, &cfg->rules[i]);
	fprintf(out, "cleanup:\n  cleanup_interval_sec: %u\n  max_log_age_days: ",
		cfg->cleanup.cleanup_interval_sec);
	put_double(out, cfg->cleanup.max_log_age_days);
	fputs("\n  max_total_log_size_mb: ", out);
	put_double(out, cfg->cleanup.max_total_log_size_mb);
	fputs("\n  max_anomaly_log_mb: ", out);
	put_double(out, cfg->cleanup.max_anomaly_log_mb);
	fputc('\n', out);
	print_watcher(out, cfg);
	fprintf(out, "audit:\n  enabled: %s\n", cfg->audit_enabled ? "true" : "false");
	fputs("agent:\n  control_socket: ", out);
	put_str(out, cfg->agent.control_socket);
	fprintf(out, "\n  ringbuf_mb: %u\n  smb_inflight_timeout_sec: %u\n  stuck_sweep_ms: %u\n",
		cfg->agent.ringbuf_mb, cfg->agent.smb_inflight_timeout_sec,
		cfg->agent.stuck_sweep_ms);
	cfg_print_health(out, &cfg->health);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}
