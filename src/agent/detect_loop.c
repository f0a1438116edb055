// SPDX-License-Identifier: MIT
/*
 * Detector thread: feeds decoded events to the pure detector, which fires
 * rules as the events arrive; wakes for anomalies due at the end of a quiet
 * period (detector.h).
 * Each anomaly is logged as one line (control characters escaped), sent to
 * syslog at LOG_ALERT, appended to <aod_output_dir>/anomalies.jsonl
 * (anomaly_log.h) and queued for the collector.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/anomaly_log.h"
#include "agent/anomaly_queue.h"
#include "agent/event_queue.h"
#include "agent/evjson.h"
#include "agent/store_writer.h"
#include "common/log.h"
#include "common/text.h"
#include "common/timeutil.h"
#include "detect/detector.h"
#include "probe/smb_shares.h"

#define DRAIN_MAX 1024
#define STATS_INTERVAL_NS AOD_NSEC_PER_SEC
/* Events reach the detector some time after they happened (ring polls
 * every 50 ms, then the queue): an anomaly due at t fires once events up
 * to t can be expected to have arrived. */
#define EVENT_LATENESS_NS (200 * AOD_NSEC_PER_MSEC)

struct detect_loop {
	struct aod_agent *agent;
	const struct aod_config *cfg;
	uint64_t cfg_gen;
	struct aod_detector *det;
	struct aod_event *buf;
	struct aod_anomaly_log log;
};

#define MIB (1024.0 * 1024.0)

/* The share of each SMB event in the anomaly's worst list, where known. */
static void add_shares(struct aod_agent *agent, const struct aod_anomaly *a, json_t *obj)
{
	json_t *worst = json_object_get(obj, "worst");
	char name[AOD_SHARE_NAME_LEN], esc[AOD_SHARE_NAME_LEN * 4];

	for (uint32_t i = 0; i < a->nworst && a->source == AOD_SOURCE_SMB; i++) {
		const struct aod_event *ev = &a->worst[i];

		if (ev->kind == AOD_EVENT_SMB_RECONNECT ||
		    aod_smb_share_name(agent->shares, ev->smb.sesid, ev->smb.tid, name, sizeof(name)))
			continue;
		aod_text_escape(name, sizeof(name), esc, sizeof(esc), false); /* JSON wants UTF-8 */
		json_object_set_new(json_array_get(worst, i), "share", json_string(esc));
	}
}

/* When the live detector saw the condition, as opposed to "id", the event
 * time at which it held: the difference is the detection delay (a quiet
 * period, a backlog in the event queue). Replay has no such time. */
static void add_detected(json_t *obj, uint64_t detected_ns)
{
	char iso[64];

	aod_format_wall(detected_ns, iso, sizeof(iso));
	json_object_set_new(obj, "detected_ns", json_integer((json_int_t)detected_ns));
	json_object_set_new(obj, "detected", json_string(iso));
}

static int append_anomaly_log(struct detect_loop *dl, const struct aod_anomaly *a,
			      uint64_t detected_ns)
{
	json_t *obj = aod_anomaly_to_json(a);
	char *line;
	int err;

	if (obj) {
		add_shares(dl->agent, a, obj);
		add_detected(obj, detected_ns);
	}
	line = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (!line)
		return -ENOMEM;
	aod_anomaly_log_configure(&dl->log, dl->cfg->output_dir,
				  (uint64_t)(dl->cfg->cleanup.max_anomaly_log_mb * MIB));
	err = aod_anomaly_log_append(&dl->log, line, strlen(line));
	if (err)
		log_warn("cannot append to %s/%s: %s", dl->cfg->output_dir, AOD_ANOMALY_LOG,
			 strerror(-err));
	free(line);
	return err;
}

static void on_anomaly(const struct aod_anomaly *a, void *ctx)
{
	struct detect_loop *dl = ctx;
	struct aod_agent *agent = dl->agent;
	uint64_t detected_ns = aod_wall_ns();
	char line[4096], safe[sizeof(line) * 4];

	atomic_fetch_add(&agent->counters.anomalies, 1);
	aod_series_add(&agent->series.anomalies, a->rule, aod_source_name(a->source),
		       aod_rule_type_name(a->type), 1);
	aod_anomaly_format_line(a, line, sizeof(line));
	aod_text_escape(line, sizeof(line), safe, sizeof(safe), false);
	log_notice("%s", safe);
	syslog(LOG_ALERT, "AOD detected anomaly: %s", safe);
	if (append_anomaly_log(dl, a, detected_ns))
		atomic_fetch_add(&agent->counters.anomaly_log_errors, 1);
	aod_store_writer_anomaly(agent->store, a);
	if (aod_anomaly_queue_push(agent->anomalies, a) == -ENOSPC)
		log_warn("anomaly queue full: anomaly %llu not collected",
			 (unsigned long long)a->id);
}

static void publish_stats(struct detect_loop *dl)
{
	struct aod_detector_stats st;

	aod_detector_get_stats(dl->det, &st);
	atomic_store(&dl->agent->det_stats.events_in, st.events_in);
	atomic_store(&dl->agent->det_stats.events_counted, st.events_counted);
	atomic_store(&dl->agent->det_stats.events_dropped, st.events_dropped);
	atomic_store(&dl->agent->det_stats.events_late, st.events_late);
	atomic_store(&dl->agent->det_stats.stuck_ops, st.stuck_ops);
}

/* When to stop waiting for events: the next due anomaly (plus the lateness
 * allowance) or the stats interval, whichever is first. */
static uint64_t wake_at(const struct detect_loop *dl, uint64_t now)
{
	uint64_t due = aod_detector_next_due(dl->det);
	uint64_t wake = now + STATS_INTERVAL_NS;

	if (due != UINT64_MAX && due + EVENT_LATENESS_NS < wake)
		wake = due + EVENT_LATENESS_NS;
	return wake;
}

static int detect_loop_run(struct detect_loop *dl)
{
	struct aod_agent *agent = dl->agent;

	while (!aod_agent_stopping(agent)) {
		uint64_t now = aod_mono_ns();
		size_t n = aod_event_queue_pop(agent->events, dl->buf, DRAIN_MAX, wake_at(dl, now));

		for (size_t i = 0; i < n; i++)
			aod_detector_add(dl->det, &dl->buf[i]);
		aod_detector_flush(dl->det); /* a sweep's stuck ops arrive in one push */
		now = aod_mono_ns();
		if (now > EVENT_LATENESS_NS)
			aod_detector_advance(dl->det, now - EVENT_LATENESS_NS);
		publish_stats(dl);
		if (aod_agent_config_refresh(agent, &dl->cfg, &dl->cfg_gen) &&
		    aod_detector_set_config(dl->det, dl->cfg))
			log_err("detector: out of memory applying the new rules; keeping the old ones");
	}
	return 0;
}

int aod_detector_main(struct aod_agent *agent)
{
	struct detect_loop dl = { .agent = agent };
	int err = -ENOMEM;

	aod_anomaly_log_init(&dl.log);
	dl.buf = malloc(DRAIN_MAX * sizeof(*dl.buf));
	if (!dl.buf)
		goto out;
	aod_agent_config_refresh(agent, &dl.cfg, &dl.cfg_gen);
	dl.det = aod_detector_new(dl.cfg, on_anomaly, &dl);
	if (!dl.det)
		goto out;
	err = detect_loop_run(&dl);
out:
	if (err)
		log_err("detector: %s", strerror(-err));
	aod_detector_free(dl.det);
	aod_anomaly_log_close(&dl.log);
	free(dl.buf);
	aod_config_unref(dl.cfg);
	return err;
}
