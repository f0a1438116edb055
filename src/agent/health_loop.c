// SPDX-License-Identifier: MIT
/*
 * HealthReport thread: with health.interval_sec > 0 (off by default) it makes
 * the full health report (src/health/) every interval, scored against the
 * history, saves it there (and as latest.json, which Health bundles copy),
 * keeps it as the agent's latest report (for the metrics endpoint:
 * aod_health_metrics_write), and raises an anomaly for every `type: Health`
 * rule it trips (health/rule.h): the collector makes the bundle, which holds
 * the report. Health anomalies are logged here (one line, syslog) but not
 * written to anomalies.jsonl, which the detector thread owns. The interval is re-read
 * from the config every second, so a reload turns it on, off or changes it.
 * A report takes about sample_ms plus a few D-Bus round trips per unit, so
 * this thread never holds anything the probes, detector or collector need.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "agent/agent.h"
#include "agent/anomaly_queue.h"
#include "agent/evjson.h"
#include "common/text.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "health/health.h"
#include "health/history.h"
#include "health/hjson.h"
#include "health/latest.h"
#include "health/rule.h"

#define POLL_MS 1000

static bool agent_sleep(void *agent, unsigned ms)
{
	return aod_agent_sleep(agent, ms);
}

static void save(const struct aod_config *cfg, json_t *report, int *last_err)
{
	size_t deleted = 0;
	int err = aod_history_save(cfg->health.history_dir, report, cfg->health.max_files,
				   cfg->watcher.zstd_level, &deleted);

	/* logged when it starts failing and when it works again, not at every report */
	if (err && err != *last_err)
		log_warn("health: cannot save reports in %s: %s", cfg->health.history_dir, strerror(-err));
	else if (!err && *last_err)
		log_notice("health: reports are saved in %s again", cfg->health.history_dir);
	*last_err = err;
}

static void raise_anomaly(struct aod_agent *agent, const struct aod_anomaly *a)
{
	char line[4096], safe[sizeof(line) * 4];

	atomic_fetch_add(&agent->counters.anomalies, 1);
	aod_anomaly_format_line(a, line, sizeof(line));
	aod_text_escape(line, sizeof(line), safe, sizeof(safe), false);
	log_notice("%s", safe);
	syslog(LOG_ALERT, "AOD detected anomaly: %s", safe);
	if (aod_anomaly_queue_push(agent->anomalies, a) == -ENOSPC)
		log_warn("anomaly queue full: anomaly %llu not collected", (unsigned long long)a->id);
}

/* Every Health rule against this report and the one before it. */
static void check_rules(struct aod_agent *agent, const struct aod_config *cfg, const json_t *report,
			const json_t *prev)
{
	struct aod_anomaly a;

	for (uint32_t i = 0; i < cfg->nrules; i++)
		if (aod_health_rule_eval(&cfg->rules[i], report, prev, aod_wall_ns(), &a))
			raise_anomaly(agent, &a);
}

static void run_once(struct aod_agent *agent, const struct aod_config *cfg, bool *told, int *save_err,
		     json_t **prev)
{
	struct aod_health_opts o = { .cfg = &cfg->health, .parts = AOD_HP_ALL, .score = true,
				     .sleep = agent_sleep, .sleep_arg = agent };
	uint64_t t0 = aod_mono_ns();
	json_t *report = aod_health_report(&o);

	if (!report) {
		log_err("health: out of memory making a report");
		return;
	}
	if (aod_agent_stopping(agent)) {   /* cut short: not a report to keep */
		json_decref(report);
		return;
	}
	if (!*told && !json_is_true(hj_path(report, "systemd.available"))) {
		log_notice("health: %s; units, boot and dependencies are skipped",
			   json_string_value(hj_path(report, "systemd.reason")));
		*told = true;
	}
	save(cfg, report, save_err);
	if (aod_history_write_latest(cfg->health.history_dir, report) < 0)
		log_debug("health: cannot write %s/" AOD_HEALTH_LATEST_FILE, cfg->health.history_dir);
	check_rules(agent, cfg, report, *prev);
	json_decref(*prev);
	*prev = json_incref(report);
	log_info("health: report %s: %s, %.0f failed, %.0f anomalies, %.0f errors (%.1f s)",
		 hj_gets(report, "id"), json_string_value(hj_path(report, "summary.status")),
		 hj_getn(hj_path(report, "summary"), "failed", 0), hj_getn(hj_path(report, "summary"), "anomalies", 0),
		 hj_getn(hj_path(report, "summary"), "errors", 0), (aod_mono_ns() - t0) / 1e9);
	aod_health_latest_set(agent->health, report);
}

int aod_health_main(struct aod_agent *agent)
{
	const struct aod_config *cfg = NULL;
	uint64_t gen = 0, next = 0;
	json_t *prev = NULL;
	bool told = false;
	int save_err = 0;

	while (!aod_agent_stopping(agent)) {
		uint64_t now = aod_mono_ns();

		aod_agent_config_refresh(agent, &cfg, &gen);
		if (cfg->health.interval_sec && agent->health && now >= next) {
			run_once(agent, cfg, &told, &save_err, &prev);
			next = now + (uint64_t)cfg->health.interval_sec * AOD_NSEC_PER_SEC;
			continue;
		}
		aod_agent_sleep(agent, POLL_MS);
	}
	json_decref(prev);
	aod_config_unref(cfg);
	return 0;
}
