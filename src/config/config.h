/* SPDX-License-Identifier: MIT */
/*
 * The agent's configuration: YAML in, this struct out. Loading expands the
 * seed's shorthand (mode, track/exclude lists, default thresholds) into
 * effective per-key tables, so the detector and the BPF knobs never need
 * to re-interpret the YAML.
 */
#ifndef AOD_CONFIG_H
#define AOD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/cfg_health.h"
#include "detect/anomaly.h"

#define AOD_MAX_RULES 16
#define AOD_MAX_DEVICES 32
#define AOD_MAX_CODES 64
#define AOD_MAX_ACTIONS 32
#define AOD_MAX_CUSTOM_ACTIONS 16
#define AOD_MAX_ARGV 32
#define AOD_ACTION_NAME_LEN 32
#define AOD_BUILTIN_COUNT 13 /* built-in actions: the seven listable ones and the host context */
#define AOD_ARG_LEN 512
#define AOD_SMB_NCMDS_CFG 20
#define AOD_CONFIG_ERR_LEN 1024
#define AOD_HTTP_LISTEN_LEN 128
#define AOD_HTTP_MAX_USERS 16
#define AOD_HTTP_USER_LEN 64
#define AOD_HTTP_HASH_LEN 128
#define AOD_HTTP_DEFAULT_LISTEN "127.0.0.1:9435"
#define AOD_UPLOAD_URL_LEN 512
#define AOD_UPLOAD_BUCKET_LEN 64
#define AOD_UPLOAD_REGION_LEN 64
#define AOD_UPLOAD_PREFIX_LEN 256

enum aod_tool {
	AOD_TOOL_SMBSLOWER = 0,  /* SMB latency (seed name) */
	AOD_TOOL_SMBIOSNOOP = 1, /* SMB errors (seed name) */
	AOD_TOOL_BIOLATENCY = 2, /* block I/O latency */
	AOD_TOOL_BIOERROR = 3,   /* block I/O errors */
	AOD_TOOL_TCPCONNLAT = 4, /* TCP connect latency */
	AOD_TOOL_TCPRETRANS = 5, /* TCP retransmits */
	AOD_TOOL_TCPRESET = 6,   /* TCP resets, sent and received */
	AOD_TOOL_PROCEXIT = 7,   /* failed process exits (non-zero code or a signal) */
};

/* probes.<name>: whether a probe runs (see docs/config.md). */
enum aod_probe_enable {
	AOD_PROBE_AUTO = 0, /* when a rule (or aod record) needs it */
	AOD_PROBE_ON = 1,   /* always, for its histograms and counters */
	AOD_PROBE_OFF = 2,  /* never; a rule that needs it is an error */
};

/* probes.proc: the process probe (docs/trace.md). Only a procexit rule
 * needs it, so auto is off without one (aod_config_proc_needed). */
#define AOD_PROC_CFG_COMM_MAX 64
#define AOD_PROC_CFG_EXE_MAX 8
#define AOD_PROC_CFG_EXE_LEN 128
struct aod_proc_config {
	enum aod_probe_enable enable;
	uint32_t argv_cap;                 /* bytes of argv per exec; 0: 4096 */
	uint32_t ncomm, nexe;
	char ignore_comm[AOD_PROC_CFG_COMM_MAX][16];
	char ignore_exe[AOD_PROC_CFG_EXE_MAX][AOD_PROC_CFG_EXE_LEN]; /* PREFIX*SUFFIX */
	bool failed_execs;                 /* also hook sys_exit for failed execs (restart key) */
};

enum aod_mode {
	AOD_MODE_ALL = 0,
	AOD_MODE_TRACKONLY = 1,
	AOD_MODE_EXCLUDEONLY = 2,
};

enum aod_code_kind {
	AOD_CODE_NTSTATUS = 0, /* matches the NTSTATUS of smb3_cmd_err */
	AOD_CODE_ERRNO = 1,    /* matches rc == -value (SMB) or error == -value (block) */
};

struct aod_code {
	enum aod_code_kind kind;
	uint32_t value;        /* NTSTATUS, or positive errno */
	char name[48];         /* canonical name: STATUS_ACCESS_DENIED, EACCES, 0xC0000123 */
};

struct aod_device {
	char name[32];         /* "vda" (as in /sys/class/block) */
	uint64_t threshold_ns; /* effective threshold */
};

#define AOD_MAX_PORTS 32
#define AOD_MAX_PROC_COMMANDS 16
#define AOD_PROC_COMMAND_LEN 64  /* a glob on comm (at most 15 bytes) */

struct aod_port {
	uint16_t port;         /* remote port of an active open */
	uint64_t threshold_ns; /* effective threshold */
};

struct aod_rule {
	char name[AOD_RULE_NAME_LEN];
	enum aod_rule_type type;
	enum aod_tool tool;
	enum aod_source source;
	enum aod_mode mode;
	uint32_t acceptable_count;
	uint64_t default_threshold_ns;   /* latency rules */
	uint64_t emergency_threshold_ns; /* latency rules; default 1000 ms */
	uint32_t holdoff_sec;            /* default 60 (used by the collector) */

	/* smbslower: effective per-command thresholds (tracked[] false = never counts) */
	bool cmd_tracked[AOD_SMB_NCMDS_CFG];
	uint64_t cmd_threshold_ns[AOD_SMB_NCMDS_CFG];

	/* biolatency: tracked devices (trackonly) or overrides (all);
	 * excluded devices never count. Devices not listed use the default
	 * threshold unless mode is trackonly. */
	uint32_t ndevices;
	struct aod_device devices[AOD_MAX_DEVICES];
	uint32_t nexclude_devices;
	char exclude_devices[AOD_MAX_DEVICES][32];

	/* tcpconnlat: tracked remote ports (trackonly) or overrides (all);
	 * excluded ports never count, unlisted ones use the default threshold
	 * unless mode is trackonly. */
	uint32_t nports;
	struct aod_port ports[AOD_MAX_PORTS];
	uint32_t nexclude_ports;
	uint16_t exclude_ports[AOD_MAX_PORTS];

	/* error rules: effective lists after mode normalisation */
	uint32_t ntrack_codes;
	struct aod_code track_codes[AOD_MAX_CODES];
	uint32_t nexclude_codes;
	struct aod_code exclude_codes[AOD_MAX_CODES];

	/* procexit: which exits count. commands: fnmatch globs on comm (none =
	 * every command); exit_codes / signals: all_* true = every non-zero
	 * code / every signal, else only the listed ones (possibly none). */
	uint32_t ncommands;
	char commands[AOD_MAX_PROC_COMMANDS][AOD_PROC_COMMAND_LEN];
	bool all_exit_codes, all_signals;
	bool exit_codes[256];            /* index: the exit code (0 never counts) */
	bool signals[65];                /* index: the signal number 1..64 */

	uint32_t nactions;
	char actions[AOD_MAX_ACTIONS][AOD_ACTION_NAME_LEN];

	struct aod_health_rule health;   /* type Health (config/cfg_health.h) */
};

struct aod_custom_action {
	char name[AOD_ACTION_NAME_LEN];
	uint32_t argc;
	char argv[AOD_MAX_ARGV][AOD_ARG_LEN];
	uint32_t timeout_sec;  /* default watcher.action_timeout_sec */
	uint64_t max_bytes;    /* default watcher.action_max_bytes */
};

struct aod_config {
	char source_path[PATH_MAX];      /* file it came from, or "<embedded>" */
	uint64_t hash;                   /* FNV-1a of the file's bytes */

	uint32_t watch_interval_sec;     /* required; default 1 */
	char output_dir[PATH_MAX];       /* aod_output_dir, absolute after load */

	uint32_t nrules;
	struct aod_rule rules[AOD_MAX_RULES];

	struct {
		uint32_t cleanup_interval_sec; /* 60 */
		double max_log_age_days;       /* 2 */
		double max_total_log_size_mb;  /* 200 */
		double max_anomaly_log_mb;     /* 20: anomalies.jsonl and its rotations, in the budget */
	} cleanup;

	struct {
		uint32_t nactions;             /* default action list (rules without actions) */
		char actions[AOD_MAX_ACTIONS][AOD_ACTION_NAME_LEN];
		uint32_t ncustom;
		struct aod_custom_action custom[AOD_MAX_CUSTOM_ACTIONS];
		uint32_t max_concurrent_tasks; /* 4 */
		uint32_t action_timeout_sec;   /* 10: custom actions' default timeout_sec */
		bool action_timeout_set;       /* given: also every built-in's timeout */
		/* effective timeout of each built-in, in aod_builtin_timeouts[] order:
		 * action_timeouts.NAME, else action_timeout_sec if given, else the default */
		uint32_t action_timeouts[AOD_BUILTIN_COUNT];
		uint64_t action_max_bytes;     /* 16 MiB */
		uint32_t lookback_sec;         /* 300 */
		uint32_t flight_recorder_sec;  /* 60 */
		uint32_t flight_recorder_max_events; /* 65536 */
		double max_bundle_mb;          /* 0 = a quarter of cleanup.max_total_log_size_mb */
		int zstd_level;                /* 3 */
	} watcher;

	struct {
		char control_socket[PATH_MAX]; /* /run/aod/aod.sock */
		uint32_t ringbuf_mb;           /* 8 */
		uint32_t smb_inflight_timeout_sec; /* 30: SMB commands and block requests in
						    * flight this long leave the kernel's map
						    * (user space keeps them) */
		uint32_t stuck_sweep_ms;       /* 250: how often in-flight maps are swept */
	} agent;

	struct {
		bool enabled;                  /* true: the agent writes the event store */
		char path[PATH_MAX];           /* absolute; default <aod_output_dir>/aod.db */
		double max_mb;                 /* 0 = a quarter of cleanup.max_total_log_size_mb */
		double max_age_days;           /* 0 = cleanup.max_log_age_days */
		uint32_t batch_ms;             /* 250: a transaction at least this often */
		uint32_t queue_size;           /* 16384 records between producers and writer */
	} store;

	bool audit_enabled;

	struct {
		char listen[AOD_HTTP_LISTEN_LEN]; /* "127.0.0.1:9435"; "" = no HTTP server */
		char tls_cert_file[PATH_MAX];     /* PEM; "" = plain HTTP */
		char tls_key_file[PATH_MAX];
		uint32_t nusers;                  /* basic auth: 0 = none */
		struct {
			char name[AOD_HTTP_USER_LEN];
			char hash[AOD_HTTP_HASH_LEN]; /* bcrypt, $2a$/$2b$/$2y$ */
		} users[AOD_HTTP_MAX_USERS];
		bool insecure_remote;             /* allow a non-loopback listen without TLS/auth */
		char token_file[PATH_MAX];        /* API bearer token (0600, made at first start);
						   * "" = <aod_output_dir>/http.token */
	} http;

	struct {
		bool bpf_stats;                   /* turn kernel.bpf_stats_enabled on while running */
		bool compat_ebpf_exporter;        /* compat: [ebpf_exporter]: also LinMonitor's series */
	} metrics;

	struct {
		enum aod_probe_enable smb, block, tcp; /* default auto */
		struct aod_proc_config proc;           /* cfg_proc.c */
	} probes;
	struct aod_health_config health; /* `health:` (config/cfg_health.h) */

	/* upload: finished bundles to S3-compatible storage (src/upload, docs/upload.md) */
	struct {
		bool enabled;                     /* an upload: section is present */
		char endpoint[AOD_UPLOAD_URL_LEN]; /* http(s)://host[:port][/path], no '/' at end */
		char bucket[AOD_UPLOAD_BUCKET_LEN];
		char region[AOD_UPLOAD_REGION_LEN]; /* us-east-1 */
		char prefix[AOD_UPLOAD_PREFIX_LEN]; /* key prefix; "{host}" = the node name */
		char credentials_file[PATH_MAX];  /* 0600; "" = AWS_ACCESS_KEY_ID/... from env */
		uint32_t retries;                 /* 5: attempts after the first */
		uint32_t backoff_initial_ms;      /* 1000 */
		uint32_t backoff_max_ms;          /* 60000 */
		uint32_t queue_size;              /* 256 bundles waiting */
		bool delete_after_upload;         /* false */
		uint32_t connect_timeout_sec;     /* 10 */
		uint32_t timeout_sec;             /* 300: one request, start to end */
	} upload;
};

/* Where the error came from: file:line:col and the key path. */
struct aod_config_error {
	char msg[AOD_CONFIG_ERR_LEN];
};

/* Fill every default (the embedded defaults, no rules). */
void aod_config_defaults(struct aod_config *cfg);

/*
 * Load and validate. Returns 0, or -EINVAL (bad content) / -errno (I/O)
 * with err->msg set to one line: "FILE:LINE:COL: KEY.PATH: what was
 * expected[; did you mean 'x'?]".
 */
int aod_config_load_file(struct aod_config *cfg, const char *path,
			 struct aod_config_error *err);
int aod_config_load_buffer(struct aod_config *cfg, const char *name,
			   const char *buf, size_t len,
			   struct aod_config_error *err);

/* aod_config_load_file(path), or the embedded default config if path is NULL. */
int aod_config_load(struct aod_config *cfg, const char *path, struct aod_config_error *err);

/* The embedded default config (config/aod.yaml at build time). */
extern const char aod_default_config_yaml[];
extern const size_t aod_default_config_yaml_len;

/*
 * Reload: the keys a running agent cannot change (sized or bound at start)
 * that differ between fresh and running get the running values back in
 * fresh; keys gets their names ("agent.ringbuf_mb, ..."). Returns how many.
 */
size_t aod_config_keep_restart_keys(struct aod_config *fresh, const struct aod_config *running,
				    char *keys, size_t len);

/*
 * Replace http.listen (aod agent --http-listen) and check it against the
 * rest of the http section, as loading does. Returns 0 or -EINVAL with
 * err->msg "--http-listen: ...".
 */
int aod_config_set_http_listen(struct aod_config *cfg, const char *listen,
			       struct aod_config_error *err);
/* The store's effective limits: store.max_mb (default a quarter of the
 * budget) and store.max_age_days (default cleanup.max_log_age_days). */
uint64_t aod_config_store_max_bytes(const struct aod_config *cfg);
uint64_t aod_config_store_max_age_ns(const struct aod_config *cfg);

/*
 * Shared configs (the agent's): allocated zeroed with one reference, read
 * only once published, freed by the last aod_config_unref. Only a config
 * from aod_config_new_shared may be passed to ref/unref; unref(NULL) is a
 * no-op.
 */
struct aod_config *aod_config_new_shared(void);
const struct aod_config *aod_config_ref(const struct aod_config *cfg);
void aod_config_unref(const struct aod_config *cfg);

/* Print the effective config as YAML with every default filled. */
int aod_config_print(const struct aod_config *cfg, FILE *out);

/* Built-in actions and their default timeouts (seconds). */
struct aod_builtin_timeout {
	const char *name;
	uint32_t sec;
};
extern const struct aod_builtin_timeout aod_builtin_timeouts[AOD_BUILTIN_COUNT];
/* Effective timeout of built-in name (cfg NULL: its default); 0 if not built in. */
uint32_t aod_config_builtin_timeout(const struct aod_config *cfg, const char *name);

/* Lookup tables shared by config, detector, and decoders. */
const char *aod_smb_cmd_name(unsigned cmd);          /* "SMB2_READ"; NULL if out of range */
int aod_smb_cmd_from_name(const char *name);         /* opcode, or -1 */
const char *aod_ntstatus_name(uint32_t status);      /* "STATUS_ACCESS_DENIED"; NULL if unknown */
int aod_ntstatus_from_name(const char *name, uint32_t *status);
int aod_ntstatus_to_errno(uint32_t status);          /* cifs client's errno, 0 if unknown */
const char *aod_errno_name(int err);                 /* positive errno -> "EACCES"; NULL if unknown */
int aod_errno_from_name(const char *name);           /* "EACCES" -> 13, or -1 */
bool aod_ntstatus_is_benign(uint32_t status);        /* the default-ignored statuses */
/* A track_codes entry: errno name, NTSTATUS name or hex; 0 with code set, or -1. */
int aod_code_from_name(const char *text, struct aod_code *code);
const char *aod_tool_name(enum aod_tool tool);
const char *aod_mode_name(enum aod_mode mode);

/*
 * Does an error event count for this rule? Shared by the detector and the
 * code that fills the BPF error-verdict maps, so the kernel pre-filter and
 * the user-space rule can never disagree. For SMB: status and rc (negative
 * errno); for block: status 0 and rc = error.
 */
bool aod_rule_error_tracked(const struct aod_rule *rule, uint32_t status, int32_t rc);

/* Effective latency threshold for a key; false if the key never counts. */
bool aod_rule_smb_threshold(const struct aod_rule *rule, unsigned cmd, uint64_t *threshold_ns);
bool aod_rule_blk_threshold(const struct aod_rule *rule, const char *disk, uint64_t *threshold_ns);
bool aod_rule_tcp_threshold(const struct aod_rule *rule, unsigned port, uint64_t *threshold_ns);
/* Is the process probe wanted: probes.proc on, or auto with a procexit rule. */
bool aod_config_proc_needed(const struct aod_config *cfg);
/* procexit: does the exit of a process named comm (its comm, up to 16 bytes)
 * with this code and signal (0 = exited) count? An exit 0 never does. */
bool aod_rule_proc_exit_counts(const struct aod_rule *rule, const char *comm, int32_t exit_code,
			       int32_t signal);
const char *aod_probe_enable_name(enum aod_probe_enable e); /* "auto", "on", "off" */

#endif /* AOD_CONFIG_H */
