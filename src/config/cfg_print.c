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

#include "common/text.h"
#include "config/cfg_internal.h"

/*
 * May c stand as itself in a double-quoted scalar? YAML's printable set,
 * less the characters a reader folds as line breaks (NEL, LS, PS) and the
 * byte order mark.
 */
static bool yaml_literal_char(uint32_t c)
{
	return (c >= 0x20 && c < 0x7F) || (c >= 0xA0 && c <= 0xD7FF && c != 0x2028 && c != 0x2029) ||
	       (c >= 0xE000 && c <= 0xFFFD && c != 0xFEFF) || (c >= 0x10000 && c <= 0x10FFFF);
}

/*
 * Double-quoted YAML string: loads back to the same bytes for any string
 * libyaml gave us. Bytes that are not UTF-8 (a file name, a working
 * directory) cannot be written in YAML; they become \xNN, the code point.
 */
static void put_str(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), n;
	uint32_t c;

	fputc('"', out);
	for (; *p; p += n, left -= n) {
		n = aod_utf8_decode(p, left, &c);
		if (n == 0) {
			fprintf(out, "\\x%02x", *p);
			n = 1;
		} else if (c == '"' || c == '\\') {
			fprintf(out, "\\%c", (int)c);
		} else if (!yaml_literal_char(c)) {
			fprintf(out, c < 0x100 ? "\\x%02x" : "\\u%04x", (unsigned)c);
		} else {
			fwrite(p, 1, n, out);
		}
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

/*
 * A rule or action name ([A-Za-z0-9_-]): plain, unless it starts with '-',
 * the one YAML indicator among those characters ("name: -" is a list).
 */
static void put_name(FILE *out, const char *name)
{
	if (name[0] == '-')
		put_str(out, name);
	else
		fputs(name, out);
}

static void put_names(FILE *out, uint32_t n, const char names[][AOD_ACTION_NAME_LEN])
{
	fputc('[', out);
	for (uint32_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", out);
		put_name(out, names[i]);
	}
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

static void print_tcp_latency(FILE *out, const struct aod_rule *r)
{
	fputs("      track_ports:", out);
	for (uint32_t i = 0; i < r->nports; i++) {
		fprintf(out, "\n        - port: %u\n          threshold: ", r->ports[i].port);
		put_ms(out, r->ports[i].threshold_ns);
	}
	fputs(r->nports ? "\n" : " []\n", out);
	fputs("      exclude_ports: [", out);
	for (uint32_t i = 0; i < r->nexclude_ports; i++)
		fprintf(out, "%s%u", i ? ", " : "", r->exclude_ports[i]);
	fputs("]\n", out);
}

/* procexit: commands (absent = every command), exit_codes and signals
 * (absent = every one; a list, possibly empty, = those). */
static void print_procexit(FILE *out, const struct aod_rule *r)
{
	bool first = true;

	if (r->ncommands) {
		fputs("      commands: [", out);
		for (uint32_t i = 0; i < r->ncommands; i++) {
			fputs(i ? ", " : "", out);
			put_str(out, r->commands[i]);
		}
		fputs("]\n", out);
	}
	if (!r->all_exit_codes) {
		fputs("      exit_codes: [", out);
		for (int code = 1; code < 256; code++)
			if (r->exit_codes[code]) {
				fprintf(out, "%s%d", first ? "" : ", ", code);
				first = false;
			}
		fputs("]\n", out);
	}
	first = true;
	if (!r->all_signals) {
		fputs("      signals: [", out);
		for (int sig = 1; sig <= 64; sig++)
			if (r->signals[sig]) {
				fprintf(out, "%s%d", first ? "" : ", ", sig);
				first = false;
			}
		fputs("]\n", out);
	}
}

static void print_rule(FILE *out, const struct aod_rule *r)
{
	fputs("    ", out);
	put_name(out, r->name);
	fputs(":\n", out);
	if (r->type == AOD_RULE_HEALTH) {
		cfg_print_health_rule(out, r);
		return;
	}
	fprintf(out, "      type: %s\n", r->type == AOD_RULE_LATENCY ? "Latency" : "Error");
	fprintf(out, "      tool: %s\n", aod_tool_name(r->tool));
	if (r->tool != AOD_TOOL_TCPRETRANS && r->tool != AOD_TOOL_TCPRESET &&
	    r->tool != AOD_TOOL_PROCEXIT)
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
	} else if (r->tool == AOD_TOOL_TCPCONNLAT) {
		print_tcp_latency(out, r);
	} else if (r->tool == AOD_TOOL_PROCEXIT) {
		print_procexit(out, r);
	} else if (r->tool != AOD_TOOL_TCPRETRANS && r->tool != AOD_TOOL_TCPRESET) {
		/* (tcpretrans, tcpreset: no keys, every retransmit / reset counts) */
		put_codes(out, "track_codes", r->track_codes, r->ntrack_codes);
		put_codes(out, "exclude_codes", r->exclude_codes, r->nexclude_codes);
	}
	fputs("      actions: ", out);
	put_names(out, r->nactions, r->actions);
}

static void print_custom_action(FILE *out, const struct aod_custom_action *a)
{
	fputs("    - name: ", out);
	put_name(out, a->name);
	fputs("\n      argv: [", out);
	for (uint32_t i = 0; i < a->argc; i++) {
		fputs(i ? ", " : "", out);
		put_str(out, a->argv[i]);
	}
	fprintf(out, "]\n      timeout_sec: %u\n      max_bytes: %llu\n", a->timeout_sec,
		(unsigned long long)a->max_bytes);
}

/* Unset, action_timeout_sec stays unset (setting it would override every
 * built-in); the per built-in list is complete, so the text loads the same. */
static void print_timeouts(FILE *out, const struct aod_config *cfg)
{
	if (cfg->watcher.action_timeout_set)
		fprintf(out, "  action_timeout_sec: %u\n", cfg->watcher.action_timeout_sec);
	else
		fprintf(out, "  # action_timeout_sec: not set (custom actions default to %u s)\n",
			cfg->watcher.action_timeout_sec);
	fputs("  action_timeouts:\n", out);
	for (int i = 0; i < AOD_BUILTIN_COUNT; i++)
		fprintf(out, "    %s: %u\n", aod_builtin_timeouts[i].name,
			cfg->watcher.action_timeouts[i]);
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
	print_timeouts(out, cfg);
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

static void print_http(FILE *out, const struct aod_config *cfg)
{
	fputs("http:\n  listen: ", out);
	put_str(out, cfg->http.listen);
	if (cfg->http.tls_cert_file[0]) {
		fputs("\n  tls_cert_file: ", out);
		put_str(out, cfg->http.tls_cert_file);
		fputs("\n  tls_key_file: ", out);
		put_str(out, cfg->http.tls_key_file);
	}
	fputs("\n  basic_auth_users:", out);
	fputs(cfg->http.nusers ? "\n" : " {}\n", out);
	for (uint32_t i = 0; i < cfg->http.nusers; i++) {
		fprintf(out, "    %s: ", cfg->http.users[i].name);
		put_str(out, cfg->http.users[i].hash);
		fputc('\n', out);
	}
	fprintf(out, "  insecure_remote: %s\n", cfg->http.insecure_remote ? "true" : "false");
	if (cfg->http.token_file[0]) {
		fputs("  token_file: ", out);
		put_str(out, cfg->http.token_file);
		fputc('\n', out);
	}
	fprintf(out, "metrics:\n  bpf_stats: %s\n  compat: [%s]\n",
		cfg->metrics.bpf_stats ? "true" : "false",
		cfg->metrics.compat_ebpf_exporter ? "ebpf_exporter" : "");
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
	fprintf(out, "store:\n  enabled: %s\n  path: ", cfg->store.enabled ? "true" : "false");
	put_str(out, cfg->store.path);
	fputs("\n  max_mb: ", out);
	put_double(out, cfg->store.max_mb);
	fputs("\n  max_age_days: ", out);
	put_double(out, cfg->store.max_age_days);
	fprintf(out, "\n  batch_ms: %u\n  queue_size: %u\n", cfg->store.batch_ms,
		cfg->store.queue_size);
	fprintf(out, "audit:\n  enabled: %s\n", cfg->audit_enabled ? "true" : "false");
	fprintf(out, "probes:\n  smb: %s\n  block: %s\n  tcp: %s\n",
		aod_probe_enable_name(cfg->probes.smb), aod_probe_enable_name(cfg->probes.block),
		aod_probe_enable_name(cfg->probes.tcp));
	fprintf(out, "  proc:\n    enabled: %s\n    argv_cap: %u\n    ignore_comm: [",
		aod_probe_enable_name(cfg->probes.proc.enable),
		cfg->probes.proc.argv_cap ? cfg->probes.proc.argv_cap : 4096);
	for (uint32_t i = 0; i < cfg->probes.proc.ncomm; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : "", cfg->probes.proc.ignore_comm[i]);
	fprintf(out, "]\n    ignore_exe: [");
	for (uint32_t i = 0; i < cfg->probes.proc.nexe; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : "", cfg->probes.proc.ignore_exe[i]);
	fprintf(out, "]\n    failed_execs: %s\n", cfg->probes.proc.failed_execs ? "true" : "false");
	fputs("agent:\n  control_socket: ", out);
	put_str(out, cfg->agent.control_socket);
	fprintf(out, "\n  ringbuf_mb: %u\n  smb_inflight_timeout_sec: %u\n  stuck_sweep_ms: %u\n",
		cfg->agent.ringbuf_mb, cfg->agent.smb_inflight_timeout_sec,
		cfg->agent.stuck_sweep_ms);
	print_http(out, cfg);
	cfg_print_health(out, &cfg->health);
	cfg_print_upload(out, cfg);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}
