// SPDX-License-Identifier: MIT
/*
 * Controller: loads the config, checks privileges, starts the probes and
 * the workers, then waits for signals: TERM/INT stop, HUP reloads the
 * config (a bad one is logged and the running one stays), USR1 asks for a
 * snapshot bundle. Under systemd it reports READY=1 and pets the watchdog.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/anomaly_queue.h"
#include "agent/collector.h"
#include "agent/control.h"
#include "agent/event_queue.h"
#include "agent/flight_recorder.h"
#include "agent/privileges.h"
#include "agent/store_writer.h"
#include "upload/upload.h"
#include "collect/action.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "health/latest.h"
#include "probe/probes.h"
#include "probe/proc_cache.h"
#include "probe/smb_shares.h"
#include "serve/http.h"

/*
 * Dispatcher -> detector. Each slot is a 120-byte event and a busy host
 * writes every slot of a ring, so these are resident memory: the detector
 * drains over a million events a second (make bench), so 8 batches of 1024
 * cover its pauses (a reload, a bundle's start) with room to spare, and
 * overflows are counted. (16384 slots and 4096-event batches cost 1.3 MiB
 * more in an anomaly storm for no loss measured.)
 */
#define EVENT_QUEUE_CAP 8192
#define ANOMALY_QUEUE_CAP 256
#define DISPATCH_BATCH 1024
#define STOP_JOIN_GRACE_MS 5000
#define MMAP_THRESHOLD_BYTES (128 * 1024) /* glibc's initial value, kept fixed */

void aod_dispatcher_on_raw(void *ctx, const struct aod_raw_event *raw);
void aod_dispatcher_on_proc(void *ctx, const struct aod_proc_event *ev);

void aod_agent_request_stop(struct aod_agent *agent, int exit_code)
{
	uint64_t one = 1;

	if (exit_code)
		atomic_store(&agent->exit_code, exit_code);
	if (atomic_exchange(&agent->stopping, true))
		return;
	if (write(agent->stop_eventfd, &one, sizeof(one)) < 0)
		log_warn("stop eventfd: %s", strerror(errno));
	if (agent->events)
		aod_event_queue_wake(agent->events);
	if (agent->anomalies)
		aod_anomaly_queue_close(agent->anomalies);
	if (agent->pool)
		aod_action_pool_cancel(agent->pool);
}

bool aod_agent_sleep(struct aod_agent *agent, unsigned ms)
{
	struct pollfd pfd = { .fd = agent->stop_eventfd, .events = POLLIN };

	if (aod_agent_stopping(agent))
		return true;
	poll(&pfd, 1, (int)ms);
	return aod_agent_stopping(agent);
}

bool aod_agent_config_refresh(struct aod_agent *agent, const struct aod_config **cfg,
			      uint64_t *gen)
{
	const struct aod_config *old = *cfg;

	if (old && atomic_load(&agent->cfg_gen) == *gen)
		return false;
	pthread_mutex_lock(&agent->cfg_lock);
	*cfg = aod_config_ref(agent->cfg);
	*gen = atomic_load(&agent->cfg_gen);
	pthread_mutex_unlock(&agent->cfg_lock);
	aod_config_unref(old);
	return *cfg != old;
}

int aod_agent_request_snapshot(struct aod_agent *agent, const char *why)
{
	struct aod_anomaly a = { .source = AOD_SOURCE_MANUAL, .type = AOD_RULE_MANUAL };
	uint64_t now = aod_wall_ns();

	a.id = now;
	a.window_start_ns = a.window_end_ns = now;
	snprintf(a.rule, sizeof(a.rule), "snapshot");
	atomic_fetch_add(&agent->counters.snapshots_requested, 1);
	log_notice("snapshot requested (%s)", why);
	return aod_anomaly_queue_push(agent->anomalies, &a);
}

static int load_config(struct aod_agent *agent, struct aod_config *cfg)
{
	struct aod_config_error err;
	int rc;

	rc = aod_config_load(cfg, agent->config_path[0] ? agent->config_path : NULL, &err);
	if (!rc && agent->http_listen_set)
		rc = aod_config_set_http_listen(cfg, agent->http_listen, &err);
	if (rc)
		log_err("%s", err.msg);
	return rc;
}

/*
 * SIGHUP. A config that fails to load is rejected; keys that cannot change
 * at runtime keep their running values (and status says so); new
 * thresholds that cannot all be written to the kernel are rolled back there
 * too, so that kernel and user space never disagree.
 */
static void reload_config(struct aod_agent *agent)
{
	struct aod_config *fresh = aod_config_new_shared(), *old;
	char keys[sizeof(agent->restart_needed)];
	int err, rollback;

	if (!fresh) {
		log_err("config reload: out of memory; keeping the running config");
		return;
	}
	err = load_config(agent, fresh);
	if (err) {
		atomic_fetch_add(&agent->counters.reloads_failed, 1);
		log_err("config reload failed; keeping the running config");
		aod_config_unref(fresh);
		return;
	}
	aod_config_keep_restart_keys(fresh, agent->cfg, keys, sizeof(keys));
	err = aod_probes_apply_config(agent->probes, fresh);
	if (err) {
		rollback = aod_probes_apply_config(agent->probes, agent->cfg);
		atomic_fetch_add(&agent->counters.reloads_failed, 1);
		log_err("config reload failed: the new thresholds could not be written to the kernel "
			"(%s); %s", strerror(-err),
			rollback ? "rolling back failed too: kernel thresholds may be mixed"
				 : "rolled back: the running config stays, in the kernel too");
		aod_config_unref(fresh);
		return;
	}
	pthread_mutex_lock(&agent->cfg_lock);
	old = agent->cfg;
	agent->cfg = fresh; /* readers holding the old generation keep it until they refresh */
	snprintf(agent->restart_needed, sizeof(agent->restart_needed), "%s", keys);
	atomic_fetch_add(&agent->cfg_gen, 1);
	pthread_mutex_unlock(&agent->cfg_lock);
	aod_event_queue_wake(agent->events);
	atomic_fetch_add(&agent->counters.reloads_ok, 1);
	aod_config_unref(old);
	log_notice("config reloaded from %s (hash %016llx)", fresh->source_path,
		   (unsigned long long)fresh->hash);
	if (keys[0])
		log_warn("config reload: %s changed; they take effect only after a restart, the "
			 "running values are kept", keys);
}

static int make_output_dir(const char *dir)
{
	char path[PATH_MAX];

	/* mkdir -p, each level 0700: bundles are for root's eyes only. */
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Attached probes log themselves; say why the others are not attached. */
static void log_unattached_probes(struct aod_agent *agent)
{
	for (int id = 0; id < AOD_PROBE_COUNT; id++) {
		struct aod_probe_status st;

		aod_probes_status(agent->probes, (enum aod_probe_id)id, &st);
		if (st.state != AOD_PROBE_ATTACHED)
			log_info("probe %s: %s%s%s", aod_probe_name((enum aod_probe_id)id),
				 aod_probe_state_name(st.state), st.reason[0] ? ": " : "", st.reason);
	}
}

static int agent_init(struct aod_agent *agent, const struct aod_agent_opts *opts)
{
	struct aod_probes_opts popts = { 0 };
	char missing[128];
	int err;

	agent->control.fd = agent->control.lock_fd = -1;
	agent->spacewatch_kick = -1;
	agent->stop_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&agent->cfg_lock, NULL);
	agent->start_mono_ns = aod_mono_ns();
	agent->start_wall_ns = aod_wall_ns();
	if (opts->config_path)
		snprintf(agent->config_path, sizeof(agent->config_path), "%s", opts->config_path);
	agent->http_listen_set = opts->http_listen;
	if (opts->http_listen)
		snprintf(agent->http_listen, sizeof(agent->http_listen), "%s", opts->http_listen);
	aod_series_init(&agent->series.anomalies, 0);
	aod_series_init(&agent->series.actions_timed_out, 0);
	aod_series_init(&agent->series.smb_reconnects, 0);
	aod_series_init(&agent->series.smb_stuck, 0);
	/* A fixed mmap threshold: glibc raises it to the size of each large
	 * block freed (libbpf's 5 MiB BTF copy at load), after which every
	 * bundle's transient buffers come from the thread arenas, stay
	 * resident when freed, and calloc must clear them page by page. */
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
	agent->cfg = aod_config_new_shared();
	if (!agent->cfg || agent->stop_eventfd < 0)
		return -ENOMEM;
	err = load_config(agent, agent->cfg);
	if (err)
		return 2;
	atomic_store(&agent->cfg_gen, 1);

	err = aod_check_privileges(missing, sizeof(missing));
	if (err) {
		log_err("aod needs %s to load its BPF probes; run it as root or grant them "
			"(AmbientCapabilities= in the unit)", missing);
		return 1;
	}
	err = make_output_dir(agent->cfg->output_dir);
	if (err) {
		log_err("cannot create aod_output_dir %s: %s", agent->cfg->output_dir,
			strerror(-err));
		return 1;
	}
	/* before any probe: a second agent on the same socket must change nothing */
	if (aod_control_listen(agent->cfg->agent.control_socket, &agent->control) < 0)
		return 1;
	agent->events = aod_event_queue_new(EVENT_QUEUE_CAP);
	agent->anomalies = aod_anomaly_queue_new(ANOMALY_QUEUE_CAP);
	agent->recorder = aod_flight_recorder_new(
		agent->cfg->watcher.flight_recorder_max_events,
		(uint64_t)agent->cfg->watcher.flight_recorder_sec * AOD_NSEC_PER_SEC);
	agent->pool = aod_action_pool_new(agent->cfg->watcher.max_concurrent_tasks);
	agent->batch_cap = DISPATCH_BATCH;
	agent->batch = calloc(agent->batch_cap, sizeof(*agent->batch));
	if (!agent->events || !agent->anomalies || !agent->recorder || !agent->pool ||
	    !agent->batch)
		return -ENOMEM;
	aod_decoder_init(&agent->decoder);
	agent->collector = aod_collector_new(agent);
	agent->shares = aod_smb_shares_new(AOD_DEBUGDATA_PATH);
	if (aod_config_proc_needed(agent->cfg) &&
	    !(agent->procs = aod_proc_cache_new(AOD_AGENT_PROC_CACHE)))
		return -ENOMEM;
	agent->store = aod_store_writer_new(agent);
	agent->spacewatch_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!agent->collector || !agent->shares || !agent->store || agent->spacewatch_kick < 0)
		return -ENOMEM;
	if (!(agent->health = aod_health_latest_new()))
		return -ENOMEM;
	err = aod_uploader_new(agent, &agent->uploader);
	if (err)
		return err;

	popts.ringbuf_mb = agent->cfg->agent.ringbuf_mb;
	popts.inflight_timeout_ns =
		(uint64_t)agent->cfg->agent.smb_inflight_timeout_sec * AOD_NSEC_PER_SEC;
	popts.proc_fn = aod_dispatcher_on_proc;
	popts.proc_ctx = agent;
	agent->probes = aod_probes_new(agent->cfg, &popts, aod_dispatcher_on_raw, agent);
	if (!agent->probes)
		return -ENOMEM;
	err = aod_probes_start(agent->probes);
	if (err) {
		log_err("probes: %s", strerror(-err));
		return 1;
	}
	agent->probes_attach_ns = aod_mono_ns() - agent->start_mono_ns;
	/* libbpf parsed the kernel's BTF (tens of MiB) to load the probes and has
	 * freed it: give those pages back instead of keeping them for the agent's life. */
	malloc_trim(0);
	log_unattached_probes(agent);
	return 0;
}

static int start_workers(struct aod_agent *agent)
{
	static const struct {
		enum aod_worker_id id;
		const char *name;
		int (*fn)(struct aod_agent *);
	} table[] = {
		{ AOD_W_DISPATCHER, "EventDispatcher", aod_dispatcher_main },
		{ AOD_W_DETECTOR, "AnomalyWatcher", aod_detector_main },
		{ AOD_W_COLLECTOR, "LogCollector", aod_collector_main },
		{ AOD_W_SPACEWATCH, "SpaceWatcher", aod_spacewatch_main },
		{ AOD_W_MAINTENANCE, "ProbeKeeper", aod_maintenance_main },
		{ AOD_W_CONTROL, "Control", aod_control_main },
		{ AOD_W_HTTP, "HttpServer", aod_http_main },
		{ AOD_W_STORE, "StoreWriter", aod_store_writer_main },
		{ AOD_W_HEALTH, "HealthReport", aod_health_main },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		int err = aod_worker_start(&agent->workers[table[i].id], agent, table[i].name,
					   table[i].fn);
		if (err)
			return err;
	}
	if (agent->uploader)
		return aod_worker_start(&agent->workers[AOD_W_UPLOAD], agent, "Uploader",
					aod_uploader_main);
	return 0;
}

static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	/* Blocked before any thread exists, so every thread inherits the mask. */
	if (pthread_sigmask(SIG_BLOCK, set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, set, SFD_CLOEXEC);
}

static void controller_loop(struct aod_agent *agent, int sfd)
{
	uint64_t watchdog_usec = 0;
	int timeout_ms = -1;

	if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
		timeout_ms = (int)(watchdog_usec / 2000);
	while (!aod_agent_stopping(agent)) {
		struct pollfd pfd[2] = { { .fd = sfd, .events = POLLIN },
					 { .fd = agent->stop_eventfd, .events = POLLIN } };
		struct signalfd_siginfo si;

		if (timeout_ms > 0)
			sd_notify(0, "WATCHDOG=1");
		if (poll(pfd, 2, timeout_ms) <= 0 || !(pfd[0].revents & POLLIN))
			continue;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_notice("signal %s: stopping", strsignal((int)si.ssi_signo));
			aod_agent_request_stop(agent, 0);
			break;
		case SIGHUP:
			reload_config(agent);
			break;
		case SIGUSR1:
			aod_agent_request_snapshot(agent, "SIGUSR1");
			break;
		}
	}
}

static void agent_shutdown(struct aod_agent *agent)
{
	sd_notify(0, "STOPPING=1");
	aod_agent_request_stop(agent, 0);
	for (int i = 0; i < AOD_W_COUNT; i++)
		if (i != AOD_W_STORE)
			aod_worker_join(&agent->workers[i]);
	aod_store_writer_finish(agent->store); /* no producer left: write the rest, close */
	aod_worker_join(&agent->workers[AOD_W_STORE]);
	aod_http_free(agent->http);
	aod_probes_free(agent->probes); /* detaches every BPF link */
	aod_control_unlisten(&agent->control);
	aod_collector_free(agent->collector);
	aod_smb_shares_free(agent->shares);
	aod_proc_cache_free(agent->procs);
	aod_store_writer_free(agent->store);
	aod_uploader_free(agent->uploader);
	aod_health_latest_free(agent->health);
	if (agent->spacewatch_kick >= 0)
		close(agent->spacewatch_kick);
	aod_action_pool_free(agent->pool);
	aod_flight_recorder_free(agent->recorder);
	aod_anomaly_queue_free(agent->anomalies);
	aod_event_queue_free(agent->events);
	free(agent->batch);
	aod_decoder_destroy(&agent->decoder);
	aod_series_destroy(&agent->series.anomalies);
	aod_series_destroy(&agent->series.actions_timed_out);
	aod_series_destroy(&agent->series.smb_reconnects);
	aod_series_destroy(&agent->series.smb_stuck);
	aod_config_unref(agent->cfg);
	if (agent->stop_eventfd >= 0)
		close(agent->stop_eventfd);
	pthread_mutex_destroy(&agent->cfg_lock);
	log_notice("stopped");
}

int aod_agent_run(const struct aod_agent_opts *opts)
{
	struct aod_agent *agent = calloc(1, sizeof(*agent));
	sigset_t set;
	int sfd, rc;

	if (!agent)
		return 1;
	sfd = block_signals(&set);
	openlog("aod", LOG_PID, LOG_DAEMON);
	rc = sfd < 0 ? 1 : agent_init(agent, opts);
	if (rc < 0) {
		log_err("agent start: %s", strerror(-rc));
		rc = 1;
	}
	if (!rc && start_workers(agent))
		rc = 1;
	if (!rc) {
		log_notice("aod %s running: config %s, output %s, control socket %s, probes "
			   "attached in %.1f ms", AOD_VERSION, agent->cfg->source_path,
			   agent->cfg->output_dir, agent->cfg->agent.control_socket,
			   agent->probes_attach_ns / 1e6);
		sd_notify(0, "READY=1");
		controller_loop(agent, sfd);
		rc = atomic_load(&agent->exit_code);
	}
	if (agent->events && agent->anomalies) {
		agent_shutdown(agent);
	} else { /* failed before the queues existed (e.g. a bad config) */
		aod_control_unlisten(&agent->control);
		aod_config_unref(agent->cfg);
	}
	if (sfd >= 0)
		close(sfd);
	closelog();
	free(agent);
	return rc;
}
