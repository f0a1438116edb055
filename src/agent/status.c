// SPDX-License-Identifier: MIT
/* The agent's status as JSON: probes, loss counters, detector, anomalies. */
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/anomaly_queue.h"
#include "agent/collector.h"
#include "agent/event_queue.h"
#include "agent/flight_recorder.h"
#include "agent/store_writer.h"
#include "upload/upload.h"
#include "collect/action.h"
#include "common/timeutil.h"
#include "probe/probes.h"
#include "serve/http.h"
#include "probe/tcp_status.h"

static const char *const counter_names[AOD_CNT_MAX] = {
	[AOD_CNT_OPS] = "ops",
	[AOD_CNT_EVENTS] = "events",
	[AOD_CNT_RB_DROPS] = "ringbuf_drops",
	[AOD_CNT_INFLIGHT_FULL] = "inflight_full",
	[AOD_CNT_UNMATCHED] = "unmatched",
	[AOD_CNT_HIST_FULL] = "hist_full",
};

static json_t *probe_json(struct aod_agent *agent, enum aod_probe_id id)
{
	struct aod_probe_status st;
	json_t *o, *c;

	aod_probes_status(agent->probes, id, &st);
	o = json_pack("{s:s, s:s, s:s, s:s, s:f}", "name", aod_probe_name(id), "state",
		      aod_probe_state_name(st.state), "mode", st.mode, "reason", st.reason,
		      "attach_ms", st.attach_ns / 1e6);
	c = json_object();
	for (int i = 0; i < AOD_CNT_MAX; i++)
		json_object_set_new(c, counter_names[i], json_integer((json_int_t)st.counters[i]));
	json_object_set_new(c, "inflight_expired", json_integer((json_int_t)st.inflight_expired));
	json_object_set_new(c, "stuck_reported", json_integer((json_int_t)st.stuck_reported));
	json_object_set_new(c, "late_matched", json_integer((json_int_t)st.late_matched));
	json_object_set_new(c, "late_unmatched", json_integer((json_int_t)st.late_unmatched));
	json_object_set_new(c, "expired_forgotten", json_integer((json_int_t)st.tracked_evicted));
	json_object_set_new(c, "recursion_misses", json_integer((json_int_t)st.recursion_misses));
	json_object_set_new(o, "counters", c);
	return o;
}

static json_t *config_json(struct aod_agent *agent)
{
	json_t *o;
	char hash[32];

	pthread_mutex_lock(&agent->cfg_lock);
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)agent->cfg->hash);
	o = json_pack("{s:s, s:s, s:s, s:i, s:s}", "path", agent->cfg->source_path, "hash", hash,
		      "output_dir", agent->cfg->output_dir, "rules", (int)agent->cfg->nrules,
		      "restart_needed", agent->restart_needed);
	pthread_mutex_unlock(&agent->cfg_lock);
	return o;
}

static json_t *workers_json(struct aod_agent *agent)
{
	json_t *arr = json_array();

	for (int i = 0; i < AOD_W_COUNT; i++) {
		struct aod_worker *w = &agent->workers[i];

		if (!w->name)
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:b, s:i, s:i}", "name", w->name,
						     "running", w->started, "restarts",
						     (int)atomic_load(&w->restarts), "last_error",
						     atomic_load(&w->last_error)));
	}
	return arr;
}

char *aod_agent_status_json(struct aod_agent *agent)
{
	struct aod_agent_counters *c = &agent->counters;
	json_t *root, *probes = json_array();
	char *text;

	for (int id = 0; id < AOD_PROBE_COUNT; id++)
		json_array_append_new(probes, probe_json(agent, (enum aod_probe_id)id));
	root = json_pack(
		"{s:s, s:i, s:f, s:f, s:o, s:o, s:o,"
		" s:{s:I, s:I, s:I, s:I},"
		" s:{s:I, s:I, s:I, s:I, s:I},"
		" s:{s:I, s:I, s:i, s:I},"
		" s:{s:I, s:I, s:I}}",
		"version", AOD_VERSION, "pid", (int)getpid(), "uptime_s",
		(aod_mono_ns() - agent->start_mono_ns) / 1e9, "probes_attach_ms",
		agent->probes_attach_ns / 1e6, "config", config_json(agent), "probes", probes,
		"workers", workers_json(agent),
		"dispatcher", "events_decoded", (json_int_t)atomic_load(&c->events_decoded),
		"events_bad", (json_int_t)atomic_load(&c->events_bad), "event_queue_overflows",
		(json_int_t)aod_event_queue_overflows(agent->events), "flight_recorder_overwritten",
		(json_int_t)aod_flight_recorder_overwritten(agent->recorder),
		"detector", "events_in", (json_int_t)atomic_load(&agent->det_stats.events_in),
		"events_counted", (json_int_t)atomic_load(&agent->det_stats.events_counted),
		"window_dropped", (json_int_t)atomic_load(&agent->det_stats.events_dropped),
		"late_dropped", (json_int_t)atomic_load(&agent->det_stats.events_late),
		"stuck_ops", (json_int_t)atomic_load(&agent->det_stats.stuck_ops),
		"anomalies", "total", (json_int_t)atomic_load(&c->anomalies), "queue_overflows",
		(json_int_t)aod_anomaly_queue_overflows(agent->anomalies), "queue_depth",
		(int)aod_anomaly_queue_depth(agent->anomalies), "log_errors",
		(json_int_t)atomic_load(&c->anomaly_log_errors),
		"config_reloads", "ok", (json_int_t)atomic_load(&c->reloads_ok), "failed",
		(json_int_t)atomic_load(&c->reloads_failed), "snapshots_requested",
		(json_int_t)atomic_load(&c->snapshots_requested));
	if (!root)
		return NULL;
	if (agent->collector)
		json_object_set_new(root, "collector", aod_collector_status_json(agent->collector));
	json_object_set_new(root, "http",
			    aod_http_status_json(__atomic_load_n(&agent->http, __ATOMIC_ACQUIRE)));
	if (agent->store)
		json_object_set_new(root, "store", aod_store_writer_status_json(agent->store));
	json_object_set_new(root, "tcp", aod_tcp_status_json(agent->probes));
	if (agent->uploader)
		json_object_set_new(root, "upload", aod_uploader_status_json(agent->uploader));
	text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	return text;
}
