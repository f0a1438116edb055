// SPDX-License-Identifier: MIT
/*
 * Detector thread: feeds decoded events to the pure detector, evaluates
 * every watch_interval_sec, and at once when an event is an emergency.
 * Each anomaly is logged as one line, sent to syslog at LOG_ALERT,
 * appended to <aod_output_dir>/anomalies.jsonl and queued for the collector.
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
#include "agent/anomaly_queue.h"
#include "agent/event_queue.h"
#include "agent/evjson.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "detect/detector.h"

#define DRAIN_MAX 1024

struct detect_loop {
	struct aod_agent *agent;
	struct aod_config *cfg;
	uint64_t cfg_gen;
	struct aod_detector *det;
	struct aod_event *buf;
};

static int append_anomaly_log(const struct aod_config *cfg, const struct aod_anomaly *a)
{
	char path[PATH_MAX + 32];
	json_t *obj = aod_anomaly_to_json(a);
	char *line = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	ssize_t len, written;
	int fd, err = 0;

	json_decref(obj);
	if (!line)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/anomalies.jsonl", cfg->output_dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	len = (ssize_t)strlen(line);
	line[len] = '\n';
	written = write(fd, line, (size_t)len + 1);
	if (written != len + 1)
		err = written < 0 ? -errno : -EIO;
	close(fd);
out:
	if (err)
		log_warn("cannot append to %s: %s", path, strerror(-err));
	free(line);
	return err;
}

static void on_anomaly(const struct aod_anomaly *a, void *ctx)
{
	struct detect_loop *dl = ctx;
	struct aod_agent *agent = dl->agent;
	char line[4096];

	atomic_fetch_add(&agent->counters.anomalies, 1);
	aod_series_add(&agent->series.anomalies, a->rule, aod_source_name(a->source),
		       aod_rule_type_name(a->type), 1);
	aod_anomaly_format_line(a, line, sizeof(line));
	log_notice("%s", line);
	syslog(LOG_ALERT, "AOD detected anomaly: %s", line);
	if (append_anomaly_log(dl->cfg, a))
		atomic_fetch_add(&agent->counters.anomaly_log_errors, 1);
	if (aod_anomaly_queue_push(agent->anomalies, a) == -ENOSPC)
		log_warn("anomaly queue full: anomaly %llu not collected",
			 (unsigned long long)a->id);
}

static uint64_t window_ns(const struct aod_config *cfg)
{
	return (uint64_t)cfg->watch_interval_sec * AOD_NSEC_PER_SEC;
}

static void publish_stats(struct detect_loop *dl)
{
	struct aod_detector_stats st;

	aod_detector_get_stats(dl->det, &st);
	atomic_store(&dl->agent->det_stats.events_in, st.events_in);
	atomic_store(&dl->agent->det_stats.events_counted, st.events_counted);
	atomic_store(&dl->agent->det_stats.events_dropped, st.events_dropped);
}

static int detect_loop_run(struct detect_loop *dl)
{
	struct aod_agent *agent = dl->agent;
	uint64_t next_tick = aod_mono_ns() + window_ns(dl->cfg);

	while (!aod_agent_stopping(agent)) {
		size_t n = aod_event_queue_pop(agent->events, dl->buf, DRAIN_MAX, next_tick);
		bool emergency = false;
		uint64_t now;

		for (size_t i = 0; i < n; i++)
			emergency |= aod_detector_add(dl->det, &dl->buf[i]);
		now = aod_mono_ns();
		if (emergency)
			aod_detector_evaluate_emergency(dl->det, now, aod_wall_ns(), on_anomaly, dl);
		if (now >= next_tick) {
			aod_detector_evaluate(dl->det, now, aod_wall_ns(), on_anomaly, dl);
			next_tick += window_ns(dl->cfg);
			if (next_tick <= now) /* fell behind (suspend): realign */
				next_tick = now + window_ns(dl->cfg);
			publish_stats(dl);
		}
		if (aod_agent_config_refresh(agent, dl->cfg, &dl->cfg_gen)) {
			aod_detector_set_config(dl->det, dl->cfg);
			next_tick = now + window_ns(dl->cfg);
		}
	}
	return 0;
}

int aod_detector_main(struct aod_agent *agent)
{
	struct detect_loop dl = { .agent = agent };
	int err = -ENOMEM;

	dl.cfg = malloc(sizeof(*dl.cfg));
	dl.buf = malloc(DRAIN_MAX * sizeof(*dl.buf));
	if (!dl.cfg || !dl.buf)
		goto out;
	aod_agent_config_refresh(agent, dl.cfg, &dl.cfg_gen);
	dl.det = aod_detector_new(dl.cfg);
	if (!dl.det)
		goto out;
	err = detect_loop_run(&dl);
out:
	if (err)
		log_err("detector: %s", strerror(-err));
	aod_detector_free(dl.det);
	free(dl.buf);
	free(dl.cfg);
	return err;
}
