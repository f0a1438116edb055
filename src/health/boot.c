// SPDX-License-Identifier: MIT
/*
 * The boot part: boot phase times from the Manager's timestamps, blame and
 * the critical chain from the unit table (pure functions), and the section.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "health/boot.h"
#include "health/health_int.h"
#include "health/hjson.h"

#define BLAME_MAX_JSON 100

void aod_boot_times(const struct aod_manager *m, struct aod_boot_times *t)
{
	memset(t, 0, sizeof(*t));
	if (m->firmware > m->loader)
		t->firmware = m->firmware - m->loader;
	t->loader = m->loader;
	if (m->initrd > 0) {
		t->kernel = m->initrd;
		t->initrd = m->userspace > m->initrd ? m->userspace - m->initrd : 0;
	} else {
		t->kernel = m->userspace;
	}
	t->finished = m->finish > 0;
	if (t->finished && m->finish > m->userspace)
		t->userspace = m->finish - m->userspace;
	t->total = t->firmware + t->loader + t->kernel + t->initrd + t->userspace;
}

/* systemd-analyze's time of a unit: activated - activating (or deactivated - activating). */
static uint64_t unit_time(const struct aod_unit *u)
{
	if (!u->inactive_exit)
		return 0;
	if (u->active_enter >= u->inactive_exit)
		return u->active_enter - u->inactive_exit;
	if (u->inactive_enter >= u->inactive_exit)
		return u->inactive_enter - u->inactive_exit;
	return 0;
}

static int longest_first(const void *a, const void *b)
{
	const struct aod_blame *x = a, *y = b;

	if (x->usec != y->usec)
		return x->usec > y->usec ? -1 : 1;
	return strcmp(x->unit, y->unit);
}

size_t aod_boot_blame(const struct aod_units *t, struct aod_blame **out)
{
	struct aod_blame *b = malloc((t->n ? t->n : 1) * sizeof(*b));
	size_t n = 0;

	*out = b;
	if (!b)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		uint64_t us = unit_time(&t->u[i]);

		if (us > 0)
			b[n++] = (struct aod_blame){ t->u[i].name, us };
	}
	qsort(b, n, sizeof(*b), longest_first);
	return n;
}

static bool visited(const struct aod_chain_link *out, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(out[i].unit, name))
			return true;
	return false;
}

/* The After= dependency of u that became active last, before finish. */
static const struct aod_unit *latest_after(const struct aod_units *t, const struct aod_unit *u,
					   uint64_t finish)
{
	const struct aod_unit *best = NULL;

	for (char **d = u->deps[AOD_DEP_AFTER]; d && *d; d++) {
		const struct aod_unit *v = aod_units_find(t, *d);

		if (!v || !v->inactive_exit || !v->active_enter || v->active_enter > finish)
			continue;
		if (!best || v->active_enter > best->active_enter ||
		    (v->active_enter == best->active_enter && strcmp(v->name, best->name) < 0))
			best = v;
	}
	return best;
}

static struct aod_chain_link link_of(const struct aod_unit *u, uint64_t userspace, unsigned level)
{
	struct aod_chain_link l = { .unit = u->name, .level = level };
	uint64_t at;

	/* as systemd-analyze prints it: "@" when it started if it took time, else when active */
	if (u->inactive_exit && u->active_enter > u->inactive_exit)
		l.delta_usec = u->active_enter - u->inactive_exit;
	at = l.delta_usec ? u->inactive_exit : u->active_enter;
	if (at > userspace)
		l.at_usec = at - userspace;
	return l;
}

size_t aod_boot_critical_chain(const struct aod_units *t, const char *target, uint64_t userspace,
			       uint64_t finish, struct aod_chain_link *out, size_t max)
{
	const struct aod_unit *u = target ? aod_units_find(t, target) : NULL;
	size_t n = 0;

	if (!finish)
		finish = UINT64_MAX;
	while (u && n < max && !visited(out, n, u->name)) {
		out[n] = link_of(u, userspace, (unsigned)n);
		n++;
		u = latest_after(t, u, finish);
	}
	return n;
}

/* ---- the part ---- */

static json_t *times_json(const struct aod_health_ctx *c, const struct aod_boot_times *t)
{
	json_t *o = json_object();

	hj_set(o, "firmware_usec", c->mgr.firmware ? hj_u64(t->firmware) : NULL);
	hj_set(o, "loader_usec", c->mgr.loader ? hj_u64(t->loader) : NULL);
	hj_set(o, "kernel_usec", hj_u64(t->kernel));
	hj_set(o, "initrd_usec", c->mgr.initrd ? hj_u64(t->initrd) : NULL);
	hj_set(o, "userspace_usec", t->finished ? hj_u64(t->userspace) : NULL);
	hj_set(o, "total_usec", t->finished ? hj_u64(t->total) : NULL);
	hj_set(o, "finished", json_boolean(t->finished));
	hj_set(o, "userspace_started", aod_health_wall_iso(c->mgr.userspace_realtime));
	return o;
}

static json_t *blame_json(const struct aod_units *t)
{
	struct aod_blame *b;
	size_t n = aod_boot_blame(t, &b);
	json_t *arr = json_array();

	for (size_t i = 0; i < n && i < BLAME_MAX_JSON; i++) {
		json_t *o = json_object();

		hj_set(o, "unit", hj_str(b[i].unit));
		hj_set(o, "usec", hj_u64(b[i].usec));
		hj_push(arr, o);
	}
	free(b);
	return arr;
}

static json_t *chain_json(const struct aod_health_ctx *c)
{
	struct aod_chain_link links[AOD_CHAIN_MAX];
	size_t n = aod_boot_critical_chain(&c->units, c->mgr.default_target, c->mgr.userspace,
					   c->mgr.finish, links, AOD_CHAIN_MAX);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		hj_set(o, "unit", hj_str(links[i].unit));
		hj_set(o, "at_usec", links[i].at_usec ? hj_u64(links[i].at_usec) : NULL);
		hj_set(o, "delta_usec", links[i].delta_usec ? hj_u64(links[i].delta_usec) : NULL);
		hj_set(o, "level", json_integer(links[i].level));
		hj_push(arr, o);
	}
	return arr;
}

int aod_health_boot(struct aod_health_ctx *c, json_t *s)
{
	struct aod_boot_times t;
	int err = 0;

	hj_set(s, "systemd_version", NULL);
	hj_set(s, "default_target", NULL);
	if (!c->systemd) {
		hj_set(s, "skipped", json_string(c->no_systemd));
	} else if (!c->have_mgr || !c->have_units) {
		err = aod_health_error(c, "boot", c->units_err ? c->units_err : -EIO,
				       "cannot read systemd's timestamps over D-Bus");
		hj_set(s, "error", json_string(strerror(-err)));
	}
	if (err || !c->systemd) {
		hj_set(s, "times", NULL);
		hj_set(s, "blame", json_array());
		hj_set(s, "critical_chain", json_array());
		return err;
	}
	aod_boot_times(&c->mgr, &t);
	hj_set(s, "systemd_version", hj_str(c->mgr.version));
	hj_set(s, "default_target", c->mgr.default_target[0] ? hj_str(c->mgr.default_target) : NULL);
	hj_set(s, "times", times_json(c, &t));
	hj_set(s, "blame", blame_json(&c->units));
	hj_set(s, "critical_chain", chain_json(c));
	return 0;
}
