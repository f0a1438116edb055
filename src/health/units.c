// SPDX-License-Identifier: MIT
/*
 * The units part: each unit judged from its properties (pure), device-unit
 * aliases de-duplicated as the seed did, units held back by a failed
 * dependency found in this boot's journal, and the last journal lines of
 * every problem unit.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "health/health_int.h"
#include "health/hjson.h"
#include "health/units.h"

static const char *const problem_names[AOD_P_N] = {
	"failed", "flapping", "socket", "timer", "state", "dependency",
};
static const char *const list_keys[AOD_P_N] = {
	"failed", "flapping", "sockets", "timers", "states", "dependency_failed",
};

const char *aod_problem_name(enum aod_problem p)
{
	return p < AOD_P_N ? problem_names[p] : "?";
}

const char *aod_problem_list_key(enum aod_problem p)
{
	return p < AOD_P_N ? list_keys[p] : "?";
}

static bool eq(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

static bool ok_result(const char *r)
{
	return !r || !*r || !strcmp(r, "success");
}

static void set_reason(struct aod_unit_verdict *v, enum aod_problem p, const char *fmt, const char *a,
		       const char *b)
{
	if (v->mask & (1u << p))
		return;
	v->mask |= 1u << p;
	snprintf(v->reason[p], sizeof(v->reason[p]), fmt, a ? a : "", b ? b : "");
}

static const char *failed_why(const char *result)
{
	static const struct { const char *result, *why; } map[] = {
		{ "oom-kill", "killed by the OOM killer" },
		{ "core-dump", "a process dumped core" },
		{ "signal", "a process was killed by a signal" },
		{ "exit-code", "a process exited with a non-zero status" },
		{ "timeout", "timed out" },
		{ "start-limit-hit", "started too often (start limit hit)" },
		{ "watchdog", "the watchdog fired" },
		{ "resources", "out of resources" },
		{ "protocol", "protocol violation" },
		{ "service-start-limit-hit", "its service hit its start limit" },
		{ "trigger-limit-hit", "triggered too often (trigger limit hit)" },
	};

	for (size_t i = 0; result && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(result, map[i].result))
			return map[i].why;
	return "failed";
}

static void judge_socket(const struct aod_unit *u, struct aod_unit_verdict *v)
{
	char n[24];

	if (u->has_refused && u->n_refused > 0) {
		snprintf(n, sizeof(n), "%u", u->n_refused);
		set_reason(v, AOD_P_SOCKET, "refused %s connection(s) (NRefused)%s", n, "");
	} else if (!ok_result(u->result)) {
		set_reason(v, AOD_P_SOCKET, "result '%s': %s", u->result, failed_why(u->result));
	} else if (!eq(u->active, "inactive") &&
		   !(eq(u->active, "active") && (eq(u->sub, "listening") || eq(u->sub, "running")))) {
		set_reason(v, AOD_P_SOCKET, "socket in a problematic state: %s/%s", u->active, u->sub);
	}
}

static void judge_timer(const struct aod_unit *u, const struct aod_units *all,
			struct aod_unit_verdict *v)
{
	const struct aod_unit *t = all && u->timer_unit ? aod_units_find(all, u->timer_unit) : NULL;

	if (!ok_result(u->result))
		set_reason(v, AOD_P_TIMER, "timer's last result is '%s'%s", u->result, "");
	else if (t && eq(t->active, "failed"))
		set_reason(v, AOD_P_TIMER, "the unit it triggers, %s, failed (result '%s')", t->name,
			   t->result ? t->result : "?");
	else if (!eq(u->active, "inactive") &&
		 !(eq(u->active, "active") &&
		   (eq(u->sub, "waiting") || eq(u->sub, "running") || eq(u->sub, "elapsed"))))
		set_reason(v, AOD_P_TIMER, "timer in a problematic state: %s/%s", u->active, u->sub);
}

static void judge_state(const struct aod_unit *u, uint64_t now, struct aod_unit_verdict *v)
{
	char secs[24];

	if (eq(u->load, "error") || eq(u->load, "bad-setting")) {
		set_reason(v, AOD_P_STATE, "load state '%s'%s", u->load, "");
		return;
	}
	if (!(eq(u->active, "activating") || eq(u->active, "deactivating") || eq(u->active, "reloading")) ||
	    eq(u->sub, "auto-restart") || !u->state_change || now < u->state_change ||
	    now - u->state_change < AOD_STUCK_SEC * 1000000ULL)
		return;
	snprintf(secs, sizeof(secs), "%llu", (unsigned long long)((now - u->state_change) / 1000000));
	set_reason(v, AOD_P_STATE, "%s for %s s", u->active, secs);
}

void aod_unit_judge(const struct aod_unit *u, const struct aod_units *all, uint32_t flapping_restarts,
		    uint64_t now_mono_usec, struct aod_unit_verdict *v)
{
	char n[24];

	memset(v, 0, sizeof(*v));
	if (eq(u->active, "failed"))
		set_reason(v, AOD_P_FAILED, "failed (result '%s'): %s", u->result ? u->result : "?",
			   failed_why(u->result));
	if (aod_unit_is(u, ".service") && u->has_restarts && u->n_restarts >= flapping_restarts) {
		snprintf(n, sizeof(n), "%u", u->n_restarts);
		set_reason(v, AOD_P_FLAPPING, "restarted %s times (NRestarts), now %s", n, u->sub);
	}
	if (aod_unit_is(u, ".socket"))
		judge_socket(u, v);
	if (aod_unit_is(u, ".timer"))
		judge_timer(u, all, v);
	judge_state(u, now_mono_usec, v);
}

/* ---- device-unit de-duplication ---- */

static const char *const dev_suffixes[] = { ".device", ".swap", ".target", ".service", ".mount" };

/* systemd's path unescaping: '-' is '/', \xNN is a byte. */
static bool unescape_path(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	if (len < 2)
		return false;
	out[o++] = '/';
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (o + 1 >= len)
			return false;
		if (s[i] == '-') {
			out[o++] = '/';
		} else if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
			   sscanf(s + i + 2, "%2x", &v) == 1) {
			out[o++] = (char)v;
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return true;
}

static void escape_name(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == ':' || (c == '.' && o))
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

static const char *dev_suffix(const char *name, size_t *stem)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(dev_suffixes) / sizeof(dev_suffixes[0]); i++) {
		size_t s = strlen(dev_suffixes[i]);

		if (n > s && !strcmp(name + n - s, dev_suffixes[i])) {
			*stem = n - s;
			return dev_suffixes[i];
		}
	}
	return NULL;
}

bool aod_unit_dev_canonical(const char *name, aod_resolve_fn resolve, char *out, size_t len)
{
	/* the seed's [\w\\x2d-], plus ':' and '.' that by-path names carry (pci-0000:00:04.0) */
	static const char word[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_\\-:.";
	const char *at = strchr(name, '@'), *dev = at ? at + 1 : name, *suffix;
	char path[PATH_MAX], real[PATH_MAX], esc[PATH_MAX];
	size_t stem, plen = at ? (size_t)(at - name) + 1 : 0;
	const char *base;

	suffix = dev_suffix(name, &stem);
	if (!suffix || strncmp(dev, "dev-", 4) || stem <= plen + 4 ||
	    strspn(dev, word) < stem - plen ||
	    !unescape_path(dev, stem - plen, path, sizeof(path)) || !resolve(path, real, sizeof(real)))
		return false;
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	if (!*base)
		return false;
	escape_name(base, esc, sizeof(esc));
	return snprintf(out, len, "%.*sdev-%s%s", (int)plen, name, esc, suffix) < (int)len;
}

bool aod_resolve_realpath(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];

	if (!realpath(path, buf) || strlen(buf) >= len)
		return false;
	memcpy(out, buf, strlen(buf) + 1);
	return true;
}

/* canon[i]: unit i's canonical name, or its own. */
static char **canonical_names(const struct aod_units *t, aod_resolve_fn resolve)
{
	char **canon = calloc(t->n ? t->n : 1, sizeof(*canon)), buf[PATH_MAX];

	for (size_t i = 0; canon && i < t->n; i++) {
		canon[i] = strdup(aod_unit_dev_canonical(t->u[i].name, resolve, buf, sizeof(buf)) ? buf :
				  t->u[i].name);
		if (!canon[i]) {
			for (size_t k = 0; k < i; k++)
				free(canon[k]);
			free(canon);
			return NULL;
		}
	}
	return canon;
}

static bool claimed(char **canon, const unsigned char *keep, size_t n, size_t i)
{
	for (size_t k = 0; k < n; k++)
		if (k != i && keep[k] && !strcmp(canon[k], canon[i]))
			return true;
	return false;
}

size_t aod_units_dedup(struct aod_units *t, aod_resolve_fn resolve)
{
	char **canon = canonical_names(t, resolve);
	unsigned char *keep = calloc(t->n ? t->n : 1, 1);
	size_t o = 0, dropped = 0;

	if (!canon || !keep) {
		free(keep);
		free(canon);
		return 0;
	}
	for (size_t i = 0; i < t->n; i++)   /* the canonically named ones first */
		keep[i] = !strcmp(canon[i], t->u[i].name) && !claimed(canon, keep, t->n, i);
	for (size_t i = 0; i < t->n; i++)
		if (!keep[i])
			keep[i] = !claimed(canon, keep, t->n, i);
	for (size_t i = 0; i < t->n; i++) {
		free(canon[i]);
		if (!keep[i]) {
			aod_unit_clear(&t->u[i]);
			dropped++;
			continue;
		}
		t->u[o++] = t->u[i];
	}
	t->n = o;
	free(canon);
	free(keep);
	return dropped;
}

/* ---- the part ---- */

static json_t *problem_logs(struct aod_health_ctx *c, const char *unit)
{
	json_t *lines = json_object_get(c->problem_logs, unit);

	if (!lines) {
		lines = c->journal ? aod_journal_unit_lines(c->journal, c->boot_id, unit,
							    c->cfg->journal_lines) : json_array();
		json_object_set_new(c->problem_logs, unit, lines ? lines : json_array());
		lines = json_object_get(c->problem_logs, unit);
	}
	return json_incref(lines);
}

json_t *aod_health_unit_states(const struct aod_health_ctx *c, const struct aod_unit *u)
{
	json_t *o = json_object();

	hj_set(o, "name", hj_str(u->name));
	hj_set(o, "description", hj_str(u->description));
	hj_set(o, "load_state", hj_str(u->load));
	hj_set(o, "active_state", hj_str(u->active));
	hj_set(o, "sub_state", hj_str(u->sub));
	hj_set(o, "result", hj_str(u->result));
	hj_set(o, "n_restarts", u->has_restarts ? json_integer(u->n_restarts) : NULL);
	hj_set(o, "n_refused", u->has_refused ? json_integer(u->n_refused) : NULL);
	hj_set(o, "main_pid", u->main_pid ? json_integer(u->main_pid) : NULL);
	hj_set(o, "state_since", aod_health_mono_iso(c, u->state_change));
	return o;
}

static json_t *unit_entry(struct aod_health_ctx *c, const struct aod_unit *u, enum aod_problem p,
			  const char *reason)
{
	json_t *o = aod_health_unit_states(c, u);

	hj_set(o, "problem", json_string(aod_problem_name(p)));
	hj_set(o, "reason", hj_str(reason));
	hj_set(o, "recent_logs", problem_logs(c, u->name));
	return o;
}

static bool wants_details(const struct aod_unit *u)
{
	return eq(u->active, "failed") || aod_unit_is(u, ".service") || aod_unit_is(u, ".socket") ||
	       aod_unit_is(u, ".timer") ||
	       (!eq(u->active, "inactive") && (aod_unit_is(u, ".scope") || aod_unit_is(u, ".mount") ||
					       aod_unit_is(u, ".swap")));
}

/* The type properties of every unit judged on them, in one pipelined batch. */
static void details(struct aod_health_ctx *c)
{
	struct aod_unit **want = calloc(c->units.n + 1, sizeof(*want));
	size_t n = 0;

	for (size_t i = 0; want && i < c->units.n; i++)
		if (wants_details(&c->units.u[i]))
			want[n++] = &c->units.u[i];
	if (want && aod_sd_units_details(c->bus, want, n) < 0)
		log_debug("health: some unit properties could not be read");
	free(want);
}

static void judge_all(struct aod_health_ctx *c, json_t *lists[AOD_P_N])
{
	for (size_t i = 0; i < c->units.n; i++) {
		struct aod_unit_verdict v;

		aod_unit_judge(&c->units.u[i], &c->units, c->cfg->flapping_restarts, c->now_mono_usec, &v);
		for (int p = 0; p < AOD_P_N; p++)
			if (v.mask & (1u << p))
				hj_push(lists[p], unit_entry(c, &c->units.u[i], (enum aod_problem)p,
							     v.reason[p]));
	}
}

/* Units the journal says were not started because a dependency failed, still not active. */
static void dependency_failed(struct aod_health_ctx *c, json_t *list)
{
	json_t *names = c->journal ? aod_journal_dependency_failed(c->journal, c->boot_id) : NULL;
	size_t i;
	json_t *n;

	json_array_foreach(names, i, n) {
		const struct aod_unit *u = aod_units_find(&c->units, json_string_value(n));

		if (u && !eq(u->active, "active") && !eq(u->active, "activating") &&
		    !eq(u->active, "failed"))
			hj_push(list, unit_entry(c, u, AOD_P_DEPENDENCY,
						 "not started: a dependency failed (JOB_RESULT=dependency)"));
	}
	json_decref(names);
}

int aod_health_units(struct aod_health_ctx *c, json_t *s)
{
	json_t *lists[AOD_P_N];
	int err = 0;

	for (int p = 0; p < AOD_P_N; p++)
		lists[p] = json_array();
	if (!c->systemd) {
		hj_set(s, "skipped", json_string(c->no_systemd));
	} else if (!c->have_units) {
		err = aod_health_error(c, "units", c->units_err, "cannot list units over D-Bus");
		hj_set(s, "error", json_string(strerror(-c->units_err)));
	} else {
		uint64_t t0 = aod_mono_ns();

		details(c);
		log_debug("health: unit details in %.1f ms", (aod_mono_ns() - t0) / 1e6);
		judge_all(c, lists);
		log_debug("health: judged, with journal lines, in %.1f ms", (aod_mono_ns() - t0) / 1e6);
		dependency_failed(c, lists[AOD_P_DEPENDENCY]);
		log_debug("health: dependency failures in %.1f ms", (aod_mono_ns() - t0) / 1e6);
	}
	hj_set(s, "total", json_integer((json_int_t)c->units.n));
	hj_set(s, "listed", json_integer((json_int_t)c->units.listed));
	hj_set(s, "duplicates_dropped", json_integer((json_int_t)(c->units.listed - c->units.n)));
	for (int p = 0; p < AOD_P_N; p++)
		hj_set(s, aod_problem_list_key((enum aod_problem)p), lists[p]);
	return err;
}
