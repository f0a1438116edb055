/* SPDX-License-Identifier: MIT */
/*
 * The agent context: every piece of mutable state of a running agent lives
 * here, owned by the controller (main thread) and shared with the workers.
 *
 *   dispatcher  ring buffer -> decode -> flight recorder + event queue
 *   detector    event queue -> windowed rules -> anomaly log + anomaly queue
 *   collector   anomaly queue -> actions -> bundle        (src/agent/collector.c)
 *   spacewatch  bundle retention                           (src/agent/spacewatch.c)
 *   maintenance probe attach retries, in-flight expiry, clock sync
 *   store       store queue -> batched SQLite transactions    (src/agent/store_writer.c)
 *   control     unix socket: status, snapshot
 *   http        /metrics and /api/v1/status from snapshots  (src/serve/)
 *   health      health reports every health.interval_sec  (src/agent/health_loop.c)
 *   upload      finished bundles to S3-compatible storage   (src/upload/, when configured)
 */
#ifndef AOD_AGENT_AGENT_H
#define AOD_AGENT_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/control.h"
#include "agent/decode.h"
#include "agent/worker.h"
#include "common/series.h"
#include "config/config.h"

struct aod_probes;
struct aod_event_queue;
struct aod_anomaly_queue;
struct aod_flight_recorder;
struct aod_action_pool;
struct aod_collector;
struct aod_smb_shares;
struct aod_proc_cache;
struct aod_http;
struct aod_store_writer;
struct aod_health_latest;
struct aod_uploader;

enum aod_worker_id {
	AOD_W_DISPATCHER,
	AOD_W_DETECTOR,
	AOD_W_COLLECTOR,
	AOD_W_SPACEWATCH,
	AOD_W_MAINTENANCE,
	AOD_W_CONTROL,
	AOD_W_HTTP,
	AOD_W_STORE,       /* joined last: it writes what the others left */
	AOD_W_HEALTH,
	AOD_W_UPLOAD,      /* only with an upload: section */
	AOD_W_COUNT,
};

struct aod_agent_counters {
	_Atomic uint64_t events_decoded;
	_Atomic uint64_t events_bad;          /* records of unknown kind */
	_Atomic uint64_t anomalies;
	_Atomic uint64_t anomaly_log_errors;  /* anomalies.jsonl write failures */
	_Atomic uint64_t reloads_ok;
	_Atomic uint64_t reloads_failed;
	_Atomic uint64_t snapshots_requested;
	_Atomic uint64_t output_bytes;        /* finished bundles: last space-watcher
					       * check + bundles written since */
};

/* Per-label counters for metrics, bounded (common/series.h). */
struct aod_agent_series {
	struct aod_series_table anomalies;         /* rule, source, type */
	struct aod_series_table actions_timed_out; /* action */
	struct aod_series_table smb_reconnects;    /* server */
	struct aod_series_table smb_stuck;         /* share, command */
};

struct aod_agent {
	/* Config: shared and immutable once published. The controller swaps
	 * the pointer under cfg_lock and bumps cfg_gen; workers take a
	 * reference when they see a new generation (aod_agent_config_refresh).
	 * Read without the lock only by the controller thread. */
	pthread_mutex_t cfg_lock;
	struct aod_config *cfg;
	_Atomic uint64_t cfg_gen;
	char config_path[4096];             /* "" = embedded default */
	char restart_needed[512];           /* keys a reload could not apply (under cfg_lock) */

	struct aod_probes *probes;
	struct aod_decoder decoder;
	/* Events decoded during one poll, pushed to the queue as one batch
	 * (dispatcher thread only). */
	struct aod_event *batch;
	size_t batch_len, batch_cap;
	struct aod_event_queue *events;
	struct aod_anomaly_queue *anomalies;
	struct aod_flight_recorder *recorder;
	struct aod_action_pool *pool;
	struct aod_collector *collector;
	struct aod_smb_shares *shares;      /* SMB tree id -> share name (thread-safe) */
	struct aod_proc_cache *procs;       /* recent processes for bundles, when probes.proc
					     * is on at start; NULL otherwise (thread-safe) */
	struct aod_store_writer *store;     /* event store writer (store_writer.h) */
	struct aod_health_latest *health;   /* the latest health report (health/latest.h) */
	struct aod_uploader *uploader;      /* NULL without upload: (upload/upload.h) */
	int spacewatch_kick;                /* eventfd: a bundle was published, check now */
	struct aod_detector_stats_shared {
		_Atomic uint64_t events_in, events_counted, events_dropped, events_late,
			stuck_ops;
	} det_stats;

	struct aod_worker workers[AOD_W_COUNT];
	struct aod_agent_counters counters;
	struct aod_agent_series series;
	struct aod_http *http;               /* NULL until the http worker runs */
	atomic_bool stopping;
	_Atomic int exit_code;               /* set by a fatal worker */
	int stop_eventfd;                    /* readable once stopping */
	struct aod_control_socket control;   /* the control socket, ours alone */
	uint64_t start_wall_ns, start_mono_ns;
	uint64_t probes_attach_ns;           /* start -> all available probes attached */
	bool http_listen_set;                /* --http-listen, applied at every (re)load */
	char http_listen[AOD_HTTP_LISTEN_LEN];
};

struct aod_agent_opts {
	const char *config_path;    /* NULL: embedded default */
	const char *http_listen;    /* NULL: the config's http.listen */
};

/* Run until SIGTERM/SIGINT; returns the process exit code. */
int aod_agent_run(const struct aod_agent_opts *opts);

/* Ask every worker to stop (idempotent, async-signal-unsafe: call from threads). */
void aod_agent_request_stop(struct aod_agent *agent, int exit_code);
static inline bool aod_agent_stopping(struct aod_agent *agent)
{
	return atomic_load(&agent->stopping);
}
/* Sleep up to ms, returning early (true) if the agent is stopping. */
bool aod_agent_sleep(struct aod_agent *agent, unsigned ms);

/*
 * Point *cfg at the current config if its generation differs from *gen (or
 * *cfg is NULL): takes a reference to it and drops the one to the previous
 * *cfg. Returns true if *cfg changed. The holder drops its last reference
 * with aod_config_unref(*cfg).
 */
bool aod_agent_config_refresh(struct aod_agent *agent, const struct aod_config **cfg,
			      uint64_t *gen);

/* Queue a manual snapshot (SIGUSR1, `aod snapshot`). */
int aod_agent_request_snapshot(struct aod_agent *agent, const char *why);

/* Worker bodies (each in its own file). */
int aod_dispatcher_main(struct aod_agent *agent);
int aod_detector_main(struct aod_agent *agent);
int aod_maintenance_main(struct aod_agent *agent);
int aod_control_main(struct aod_agent *agent);
int aod_collector_main(struct aod_agent *agent);
int aod_spacewatch_main(struct aod_agent *agent);
int aod_http_main(struct aod_agent *agent);       /* src/serve/http.c */
int aod_health_main(struct aod_agent *agent);

/* Status report as JSON text (malloc'd), used by `aod status` and bundles. */
char *aod_agent_status_json(struct aod_agent *agent);

#endif /* AOD_AGENT_AGENT_H */
