// SPDX-License-Identifier: MIT
/*
 * One health report: set up what the parts share (systemd connection and
 * unit table, cgroup hierarchy, boot id, journal), run the requested parts
 * in the seed's order (units, boot, resources, deps, logs), score against
 * the history, and sum it up. Also `aod health unit NAME` and the exit status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <systemd/sd-id128.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "health/health_int.h"
#include "health/history.h"
#include "health/hjson.h"
#include "health/processes.h"
#include "health/score.h"
#include "health/units.h"

#define SCHEMA_VERSION 1
#define UNIT_LOG_LINES 50

int aod_health_error(struct aod_health_ctx *c, const char *part, int err, const char *what)
{
	json_t *errors = json_object_get(c->report, "errors"), *o = json_object();
	char msg[512];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err < 0 ? -err : err));
	hj_set(o, "part", json_string(part));
	hj_set(o, "message", json_string(msg));
	hj_push(errors, o);
	return err;
}

bool aod_health_wait(struct aod_health_ctx *c, unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	if (c->sleep) {
		c->cancelled |= c->sleep(c->sleep_arg, ms);
		return !c->cancelled;
	}
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return true;
}

json_t *aod_health_section(void)
{
	json_t *s = json_object();

	hj_set(s, "skipped", NULL);
	hj_set(s, "error", NULL);
	return s;
}

json_t *aod_health_wall_iso(uint64_t wall_usec)
{
	char buf[40];

	if (!wall_usec)
		return json_null();
	aod_format_wall(wall_usec * 1000, buf, sizeof(buf));
	return json_string(buf);
}

json_t *aod_health_mono_iso(const struct aod_health_ctx *c, uint64_t mono_usec)
{
	if (!mono_usec || mono_usec > c->now_mono_usec)
		return json_null();
	return aod_health_wall_iso(c->now_wall_usec - (c->now_mono_usec - mono_usec));
}

/* "20251201T191200.123Z" */
static void report_id(uint64_t wall_usec, char *buf, size_t len)
{
	time_t t = (time_t)(wall_usec / 1000000);
	struct tm tm;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y%m%dT%H%M%S", &tm);
	snprintf(buf, len, "%s.%03uZ", base, (unsigned)(wall_usec / 1000 % 1000));
}

static void ctx_systemd(struct aod_health_ctx *c)
{
	int err;

	c->systemd = aod_sd_running(c->no_systemd, sizeof(c->no_systemd));
	if (!c->systemd || !(c->parts & (AOD_HP_UNITS | AOD_HP_BOOT | AOD_HP_DEPS | AOD_HP_RESOURCES)))
		return;
	err = aod_sd_connect(&c->bus);
	if (!err)
		err = aod_sd_list_units(c->bus, &c->units);
	if (err) {
		c->units_err = err;
		return;
	}
	c->have_units = true;
	aod_units_dedup(&c->units, aod_resolve_realpath);
	c->have_mgr = aod_sd_manager(c->bus, &c->mgr) == 0;
}

static void ctx_init(struct aod_health_ctx *c, const struct aod_health_opts *o)
{
	uint64_t t0 = aod_mono_ns();
	sd_id128_t boot;

	memset(c, 0, sizeof(*c));
	c->cfg = o->cfg;
	c->parts = o->parts;
	c->processes = o->processes;
	c->since_usec = o->since_usec;
	c->sleep = o->sleep;
	c->sleep_arg = o->sleep_arg;
	c->now_mono_usec = aod_mono_ns() / 1000;
	c->now_wall_usec = aod_wall_ns() / 1000;
	if (sd_id128_get_boot(&boot) >= 0)
		sd_id128_to_string(boot, c->boot_id);
	aod_cg_detect(&c->cg);
	ctx_systemd(c);
	log_debug("health: %zu units listed in %.1f ms", c->units.n, (aod_mono_ns() - t0) / 1e6);
	if (c->parts & (AOD_HP_UNITS | AOD_HP_LOGS | AOD_HP_DEPS))
		aod_journal_open(&c->journal);
	c->problem_logs = json_object();
	log_debug("health: set up in %.1f ms", (aod_mono_ns() - t0) / 1e6);
}

static void ctx_free(struct aod_health_ctx *c)
{
	aod_units_free(&c->units);
	aod_journal_close(c->journal);
	if (c->bus)
		aod_sd_close(c->bus);
	json_decref(c->problem_logs);
}

static json_t *systemd_json(const struct aod_health_ctx *c)
{
	json_t *o = json_object();

	hj_set(o, "available", json_boolean(c->systemd));
	hj_set(o, "reason", c->systemd ? NULL : hj_str(c->no_systemd));
	hj_set(o, "version", c->have_mgr && c->mgr.version[0] ? hj_str(c->mgr.version) : NULL);
	hj_set(o, "journal", json_boolean(c->journal != NULL));
	return o;
}

static json_t *header(const struct aod_health_ctx *c)
{
	json_t *r = json_object();
	char host[256] = "", id[AOD_HEALTH_ID_LEN];
	struct utsname u;

	gethostname(host, sizeof(host) - 1);
	report_id(c->now_wall_usec, id, sizeof(id));
	hj_set(r, "schema", json_integer(SCHEMA_VERSION));
	hj_set(r, "id", json_string(id));
	hj_set(r, "timestamp", aod_health_wall_iso(c->now_wall_usec));
	hj_set(r, "time_usec", hj_u64(c->now_wall_usec));
	hj_set(r, "hostname", hj_str(host));
	hj_set(r, "boot_id", c->boot_id[0] ? json_string(c->boot_id) : NULL);
	hj_set(r, "kernel", uname(&u) == 0 ? hj_str(u.release) : NULL);
	hj_set(r, "aod_version", json_string(AOD_VERSION));
	hj_set(r, "errors", json_array());
	return r;
}

struct part {
	unsigned bit;
	const char *key;
	int (*run)(struct aod_health_ctx *c, json_t *section);
};

static const struct part parts[] = {
	{ AOD_HP_UNITS, "units", aod_health_units },
	{ AOD_HP_BOOT, "boot", aod_health_boot },
	{ AOD_HP_RESOURCES, "resources", aod_health_resources },
	{ AOD_HP_DEPS, "deps", aod_health_deps },
	{ AOD_HP_LOGS, "logs", aod_health_logs },
};

static void run_parts(struct aod_health_ctx *c)
{
	json_t *names = json_array();

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		json_t *s;

		if (!(c->parts & parts[i].bit) || c->cancelled)
			continue;
		uint64_t t0 = aod_mono_ns();

		s = aod_health_section();
		parts[i].run(c, s);
		log_debug("health: %s took %.1f ms", parts[i].key, (aod_mono_ns() - t0) / 1e6);
		hj_set(c->report, parts[i].key, s);
		hj_push(names, json_string(parts[i].key));
	}
	hj_set(c->report, "parts", names);
}

static void score(struct aod_health_ctx *c)
{
	json_t **past = NULL;
	size_t n = 0, bad = 0;
	int err = aod_history_load_recent(c->cfg->history_dir, c->cfg->baseline_reports, &past, &n, &bad);

	if (err && err != -ENOENT) {
		json_t *s = json_object();

		hj_set(s, "error", json_string(strerror(-err)));
		hj_set(s, "units", json_array());
		hj_set(s, "anomalies", json_array());
		hj_set(c->report, "scores", s);
		return;
	}
	aod_health_score(c->report, past, n, c->cfg);
	hj_set(json_object_get(c->report, "scores"), "unreadable_reports", json_integer((json_int_t)bad));
	aod_history_free_reports(past, n);
}

static size_t list_len(const json_t *r, const char *path)
{
	return hj_len(hj_path(r, path));
}

static void summary(json_t *r)
{
	json_t *s = json_object(), *pats = hj_path(r, "logs.patterns"), *p;
	size_t i, nfailed = list_len(r, "units.failed"), nerr = list_len(r, "errors"), problems = 0;
	uint64_t matches = 0;
	static const char *const lists[] = { "flapping", "sockets", "timers", "states", "dependency_failed" };
	char path[64];

	hj_set(s, "failed", json_integer((json_int_t)nfailed));
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		snprintf(path, sizeof(path), "units.%s", lists[i]);
		problems += list_len(r, path);
		hj_set(s, lists[i], json_integer((json_int_t)list_len(r, path)));
	}
	json_array_foreach(pats, i, p)
		matches += (uint64_t)hj_getn(p, "count", 0);
	hj_set(s, "log_patterns", json_integer((json_int_t)hj_len(pats)));
	hj_set(s, "log_matches", hj_u64(matches));
	hj_set(s, "cycles", json_integer((json_int_t)hj_getn(hj_path(r, "deps"), "cycles_found", 0)));
	hj_set(s, "anomalies", json_integer((json_int_t)list_len(r, "scores.anomalies")));
	hj_set(s, "errors", json_integer((json_int_t)nerr));
	problems += hj_len(pats) + list_len(r, "scores.anomalies") +
		    (size_t)hj_getn(hj_path(r, "deps"), "cycles_found", 0);
	hj_set(s, "status", json_string(nfailed || nerr ? "failed" : problems ? "degraded" : "healthy"));
	hj_set(r, "summary", s);
}

/* The processes section: what the probe saw (traced since before the
 * other parts), or why nothing was traced. A probe that was asked for and
 * could not be loaded as root, or failed while reading, is an error of the
 * report; without root it is skipped. */
static void processes(struct aod_health_ctx *c, struct aod_health_procs *procs, int start_err,
		      const char *why)
{
	json_t *s, *err;

	if (!procs) {
		s = aod_health_procs_skipped(c->processes, c->processes ? why :
					     "not asked for (--processes)");
		if (c->processes && start_err != -EPERM) {
			hj_set(s, "error", hj_str(why));
			hj_set(s, "skipped", NULL);
		}
	} else {
		s = aod_health_procs_stop(procs, c->cfg->top_n);
		hj_push(json_object_get(c->report, "parts"), json_string("processes"));
	}
	if ((err = json_object_get(s, "error")) && json_is_string(err))
		hj_push(json_object_get(c->report, "errors"),
			json_pack("{s:s,s:O}", "part", "processes", "message", err));
	hj_set(c->report, "processes", s);
}

json_t *aod_health_report(const struct aod_health_opts *o)
{
	struct aod_health_procs *procs = NULL;
	struct aod_health_ctx c;
	char why[640] = "";
	int perr = 0;
	json_t *r;

	if (o->processes) /* before anything else: the whole analysis is traced */
		perr = aod_health_procs_start(&procs, why, sizeof(why));
	ctx_init(&c, o);
	r = c.report = header(&c);
	if (!r) {
		if (procs)
			json_decref(aod_health_procs_stop(procs, 0));
		ctx_free(&c);
		return NULL;
	}
	hj_set(r, "systemd", systemd_json(&c));
	run_parts(&c);
	if (o->score && (o->parts & AOD_HP_RESOURCES))
		score(&c);
	processes(&c, procs, perr, why);
	summary(r);
	ctx_free(&c);
	return r;
}

int aod_health_exit_status(const json_t *report)
{
	return list_len(report, "units.failed") || list_len(report, "errors") ? 1 : 0;
}

/* ---- one unit ---- */

static json_t *problems_json(const struct aod_health_ctx *c, const struct aod_unit *u)
{
	struct aod_unit_verdict v;
	json_t *arr = json_array();

	aod_unit_judge(u, &c->units, c->cfg->flapping_restarts, c->now_mono_usec, &v);
	for (int p = 0; p < AOD_P_N; p++) {
		if (!(v.mask & (1u << p)))
			continue;
		hj_push(arr, json_pack("{s:s,s:o}", "problem", aod_problem_name((enum aod_problem)p),
				       "reason", hj_str(v.reason[p])));
	}
	return arr;
}

static json_t *unit_props(const struct aod_health_ctx *c, const struct aod_unit *u)
{
	json_t *o = aod_health_unit_states(c, u);

	hj_set(o, "cgroup", hj_str(u->cgroup));
	hj_set(o, "triggers", hj_str(u->timer_unit));
	hj_set(o, "problems", problems_json(c, u));
	return o;
}

static void unit_body(struct aod_health_ctx *c, json_t *r, const char *name)
{
	struct aod_unit loaded = { 0 };
	const struct aod_unit *u = aod_units_find(&c->units, name);
	json_t *deps;
	int err = 0;

	if (u)
		err = aod_sd_unit_details(c->bus, (struct aod_unit *)u);
	else if (!(err = aod_sd_load_unit(c->bus, name, &loaded)))
		u = &loaded;
	if (!u) {
		aod_health_error(c, "unit", err, "cannot load the unit");
		return;
	}
	deps = aod_health_unit_deps(&c->units, u, "asked");
	hj_set(r, "unit", unit_props(c, u));
	hj_set(r, "dependencies", json_incref(json_object_get(deps, "dependencies")));
	json_decref(deps);
	hj_set(r, "resources", aod_health_unit_usage(c, u));
	hj_set(r, "recent_logs", c->journal ? aod_journal_unit_lines(c->journal, c->boot_id, name,
			c->cfg->journal_lines > UNIT_LOG_LINES ? c->cfg->journal_lines : UNIT_LOG_LINES) :
		json_array());
	aod_unit_clear(&loaded);
}

json_t *aod_health_unit_report(const struct aod_health_config *cfg, const char *name)
{
	struct aod_health_opts o = { .cfg = cfg, .parts = AOD_HP_UNITS };
	struct aod_health_ctx c;
	json_t *r;

	ctx_init(&c, &o);
	r = c.report = header(&c);
	hj_set(r, "systemd", systemd_json(&c));
	if (!c.systemd)
		hj_set(r, "skipped", hj_str(c.no_systemd));
	else if (!c.have_units)
		aod_health_error(&c, "unit", c.units_err, "cannot list units over D-Bus");
	else
		unit_body(&c, r, name);
	ctx_free(&c);
	return r;
}
