// SPDX-License-Identifier: MIT
/*
 * sd-bus client for the health report: connect to PID 1, list units, read
 * the properties it needs and the Manager's boot timestamps into plain
 * structs. Properties are read with Get, pipelined (up to WINDOW calls in
 * flight), never GetAll: GetAll on a unit makes PID 1 compute every property,
 * UnitFileState (a scan of the unit directories) and NeedDaemonReload (a stat
 * of every fragment and drop-in) among them -- measured in the TCG guest, 73 s
 * for 169 units on the first call; the pipelined Gets take a few seconds.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "health/systemd.h"

#define DEST "org.freedesktop.systemd1"
#define MGR_PATH "/org/freedesktop/systemd1"
#define IFACE(x) "org.freedesktop.systemd1." x
#define PROPS "org.freedesktop.DBus.Properties"

bool aod_sd_running(char *reason, size_t len)
{
	char *comm = NULL;
	size_t n;

	if (sd_booted() > 0)
		return true;
	if (aod_read_text("/proc/1/comm", 256, &comm, NULL) == 0) {
		n = strcspn(comm, "\n");
		comm[n] = '\0';
	}
	snprintf(reason, len, "no systemd: PID 1 is '%s', not systemd (/run/systemd/system is missing)",
		 comm ? comm : "?");
	free(comm);
	return false;
}

int aod_sd_connect(sd_bus **bus)
{
	int r;

	*bus = NULL;
	if (geteuid() == 0 && access("/run/systemd/private", F_OK) == 0) {
		r = sd_bus_new(bus);
		if (r >= 0)
			r = sd_bus_set_address(*bus, "unix:path=/run/systemd/private");
		if (r >= 0)
			r = sd_bus_start(*bus);
		if (r >= 0)
			return 0;
		*bus = sd_bus_flush_close_unref(*bus);
	}
	r = sd_bus_open_system(bus);
	return r < 0 ? r : 0;
}

void aod_sd_close(sd_bus *bus)
{
	sd_bus_flush_close_unref(bus);
}

static const char *const dep_names[AOD_DEP_N] = {
	"Requires", "Requisite", "BindsTo", "PartOf", "Wants", "After",
};

const char *aod_dep_name(enum aod_dep_type t)
{
	return t < AOD_DEP_N ? dep_names[t] : "?";
}

bool aod_unit_is(const struct aod_unit *u, const char *suffix)
{
	size_t n = strlen(u->name), s = strlen(suffix);

	return n > s && !strcmp(u->name + n - s, suffix);
}

/* ---- properties ---- */

enum prop_kind { P_STR, P_U32, P_U64, P_STRV };

struct prop {
	const char *name;
	enum prop_kind kind;
	size_t off;
};

#define PS(n, f) { n, P_STR, offsetof(struct aod_unit, f) }
#define PU(n, f) { n, P_U32, offsetof(struct aod_unit, f) }
#define PT(n, f) { n, P_U64, offsetof(struct aod_unit, f) }
#define PV(n, i) { n, P_STRV, offsetof(struct aod_unit, deps) + (i) * sizeof(char **) }

static const struct prop state_props[] = {
	PS("Description", description), PS("LoadState", load), PS("ActiveState", active),
	PS("SubState", sub), { NULL, P_STR, 0 },
};

static const struct prop unit_props[] = {
	PV("Requires", AOD_DEP_REQUIRES), PV("Requisite", AOD_DEP_REQUISITE),
	PV("BindsTo", AOD_DEP_BINDS_TO), PV("PartOf", AOD_DEP_PART_OF),
	PV("Wants", AOD_DEP_WANTS), PV("After", AOD_DEP_AFTER),
	PT("InactiveExitTimestampMonotonic", inactive_exit),
	PT("ActiveEnterTimestampMonotonic", active_enter),
	PT("ActiveExitTimestampMonotonic", active_exit),
	PT("InactiveEnterTimestampMonotonic", inactive_enter),
	PT("StateChangeTimestampMonotonic", state_change),
	{ NULL, P_STR, 0 },
};

static const struct prop service_props[] = {
	PS("Result", result), PS("ControlGroup", cgroup), PU("MainPID", main_pid),
	PU("NRestarts", n_restarts), { NULL, P_STR, 0 },
};
static const struct prop socket_props[] = {
	PS("Result", result), PS("ControlGroup", cgroup), PU("NRefused", n_refused), { NULL, P_STR, 0 },
};
static const struct prop timer_props[] = { PS("Result", result), PS("Unit", timer_unit), { NULL, P_STR, 0 } };
static const struct prop cgroup_props[] = { PS("Result", result), PS("ControlGroup", cgroup), { NULL, P_STR, 0 } };
static const struct prop slice_props[] = { PS("ControlGroup", cgroup), { NULL, P_STR, 0 } };
static const struct prop path_props[] = { PS("Result", result), { NULL, P_STR, 0 } };

static const char *const kind_sig[] = { "s", "u", "t", "as" };

static int read_prop(sd_bus_message *m, const struct prop *p, struct aod_unit *u)
{
	char *base = (char *)u + p->off;
	const char *s;
	int r;

	switch (p->kind) {
	case P_STR:
		r = sd_bus_message_read_basic(m, 's', &s);
		if (r >= 0) {
			free(*(char **)base);
			*(char **)base = strdup(s);
			r = *(char **)base ? r : -ENOMEM;
		}
		return r;
	case P_U32:
		r = sd_bus_message_read_basic(m, 'u', base);
		if (r >= 0 && p->off == offsetof(struct aod_unit, n_restarts))
			u->has_restarts = true;
		if (r >= 0 && p->off == offsetof(struct aod_unit, n_refused))
			u->has_refused = true;
		return r;
	case P_U64:
		return sd_bus_message_read_basic(m, 't', base);
	case P_STRV:
		for (char **v = *(char ***)base; v && *v; v++)
			free(*v);
		free(*(char ***)base);
		*(char ***)base = NULL;
		return sd_bus_message_read_strv(m, (char ***)base);
	}
	return -EINVAL;
}

#define WINDOW 128

struct prop_batch {
	sd_bus *bus;
	size_t pending, sent;
	int err;                      /* first transport error (not a missing property) */
};

struct prop_call {
	struct prop_batch *b;
	struct aod_unit *u;
	const struct prop *p;
};

static int on_prop(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct prop_call *call = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	int r = 0;

	(void)ret_error;
	call->b->pending--;
	/* an unknown property (older systemd) or a vanished unit: leave the field unset */
	if (!e) {
		r = sd_bus_message_enter_container(m, 'v', kind_sig[call->p->kind]);
		if (r >= 0)
			r = read_prop(m, call->p, call->u);
		if (r == -ENOMEM && !call->b->err)
			call->b->err = r;
	}
	free(call);
	return 0;
}

static int send_get(struct prop_batch *b, struct aod_unit *u, const char *iface, const struct prop *p)
{
	struct prop_call *call = malloc(sizeof(*call));
	int r;

	if (!call)
		return -ENOMEM;
	*call = (struct prop_call){ b, u, p };
	r = sd_bus_call_method_async(b->bus, NULL, DEST, u->object, PROPS, "Get", on_prop, call, "ss", iface,
				     p->name);
	if (r < 0) {
		free(call);
		return r;
	}
	b->pending++;
	b->sent++;
	return 0;
}

/* Run the bus until at most max calls are pending. */
static int drain(struct prop_batch *b, size_t max)
{
	while (b->pending > max) {
		int r = sd_bus_process(b->bus, NULL);

		if (r < 0)
			return r;
		if (r == 0 && (r = sd_bus_wait(b->bus, 30 * 1000000ULL)) < 0)
			return r;
	}
	return b->err;
}

/* The properties table_of(u, &iface) names, for each unit (a NULL table skips u). */
static int get_props(sd_bus *bus, struct aod_unit *const *units, size_t n,
		     const struct prop *(*table_of)(const struct aod_unit *u, const char **iface))
{
	struct prop_batch b = { .bus = bus };
	int r = 0;

	for (size_t i = 0; r >= 0 && i < n; i++) {
		const char *iface = NULL;
		const struct prop *table = table_of(units[i], &iface);

		for (const struct prop *p = table; table && r >= 0 && p->name; p++) {
			r = drain(&b, WINDOW);
			if (r >= 0)
				r = send_get(&b, units[i], iface, p);
		}
	}
	if (r >= 0)
		r = drain(&b, 0);
	else
		drain(&b, 0);
	return r < 0 ? r : 0;
}

static const struct prop *unit_table(const struct aod_unit *u, const char **iface)
{
	(void)u;
	*iface = IFACE("Unit");
	return unit_props;
}

static const struct prop *state_table(const struct aod_unit *u, const char **iface)
{
	(void)u;
	*iface = IFACE("Unit");
	return state_props;
}

/* The type interface's properties, for units whose details are not read yet. */
static const struct prop *details_table(const struct aod_unit *u, const char **iface)
{
	static const struct { const char *suffix, *iface; const struct prop *props; } map[] = {
		{ ".service", IFACE("Service"), service_props }, { ".socket", IFACE("Socket"), socket_props },
		{ ".timer", IFACE("Timer"), timer_props }, { ".mount", IFACE("Mount"), cgroup_props },
		{ ".swap", IFACE("Swap"), cgroup_props }, { ".scope", IFACE("Scope"), cgroup_props },
		{ ".slice", IFACE("Slice"), slice_props }, { ".path", IFACE("Path"), path_props },
	};

	for (size_t i = 0; !u->has_details && i < sizeof(map) / sizeof(map[0]); i++)
		if (aod_unit_is(u, map[i].suffix)) {
			*iface = map[i].iface;
			return map[i].props;
		}
	return NULL;
}

int aod_sd_units_details(sd_bus *bus, struct aod_unit *const *units, size_t n)
{
	int r = get_props(bus, units, n, details_table);

	for (size_t i = 0; r >= 0 && i < n; i++)
		units[i]->has_details = true;
	return r;
}

int aod_sd_unit_details(sd_bus *bus, struct aod_unit *u)
{
	return aod_sd_units_details(bus, &u, 1);
}

/* ---- the table ---- */

static int set_str(char **dst, const char *s)
{
	*dst = strdup(s ? s : "");
	return *dst ? 0 : -ENOMEM;
}

static int read_list_entry(sd_bus_message *m, struct aod_unit *u)
{
	const char *name, *desc, *load, *active, *sub, *following, *path, *jtype, *jpath;
	uint32_t jid;
	int r = sd_bus_message_read(m, "(ssssssouso)", &name, &desc, &load, &active, &sub, &following,
				    &path, &jid, &jtype, &jpath);

	if (r <= 0)
		return r;
	memset(u, 0, sizeof(*u));
	if (set_str(&u->name, name) || set_str(&u->description, desc) || set_str(&u->load, load) ||
	    set_str(&u->active, active) || set_str(&u->sub, sub) || set_str(&u->object, path))
		return -ENOMEM;
	return 1;
}

static int grow(struct aod_units *t, size_t *cap)
{
	struct aod_unit *u;

	if (t->n < *cap)
		return 0;
	*cap = *cap ? 2 * *cap : 256;
	u = realloc(t->u, *cap * sizeof(*u));
	if (!u)
		return -ENOMEM;
	t->u = u;
	return 0;
}

static int cmp_unit(const void *a, const void *b)
{
	return strcmp(((const struct aod_unit *)a)->name, ((const struct aod_unit *)b)->name);
}

static int list_units(sd_bus *bus, struct aod_units *t)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	size_t cap = 0;
	int r = sd_bus_call_method(bus, DEST, MGR_PATH, IFACE("Manager"), "ListUnits", &error, &reply,
				   NULL);

	if (r >= 0)
		r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
	while (r >= 0 && !(r = grow(t, &cap)) && (r = read_list_entry(reply, &t->u[t->n])) > 0)
		t->n++;
	if (r < 0 && t->n < cap)
		aod_unit_clear(&t->u[t->n]);
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 0;
}

int aod_sd_list_units(sd_bus *bus, struct aod_units *t)
{
	int r;

	struct aod_unit **all;

	memset(t, 0, sizeof(*t));
	r = list_units(bus, t);
	all = r >= 0 ? malloc((t->n + 1) * sizeof(*all)) : NULL;
	if (r >= 0 && !all)
		r = -ENOMEM;
	for (size_t i = 0; all && i < t->n; i++)
		all[i] = &t->u[i];
	if (r >= 0)
		r = get_props(bus, all, t->n, unit_table);
	free(all);
	if (r < 0) {
		aod_units_free(t);
		return r;
	}
	qsort(t->u, t->n, sizeof(*t->u), cmp_unit);
	t->listed = t->n;
	return 0;
}

int aod_sd_load_unit(sd_bus *bus, const char *name, struct aod_unit *u)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path;
	int r = sd_bus_call_method(bus, DEST, MGR_PATH, IFACE("Manager"), "LoadUnit", &error, &reply,
				   "s", name);

	memset(u, 0, sizeof(*u));
	if (r >= 0)
		r = sd_bus_message_read(reply, "o", &path);
	if (r >= 0)
		r = set_str(&u->object, path) ? -ENOMEM : 0;
	if (r >= 0)
		r = set_str(&u->name, name) ? -ENOMEM : 0;
	if (r >= 0)
		r = get_props(bus, &u, 1, state_table);
	if (r >= 0)
		r = get_props(bus, &u, 1, unit_table);
	if (r >= 0)
		r = aod_sd_unit_details(bus, u);
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	if (r < 0)
		aod_unit_clear(u);
	return r < 0 ? r : 0;
}

static int manager_u64(sd_bus *bus, const char *prop, uint64_t *v)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r = sd_bus_get_property_trivial(bus, DEST, MGR_PATH, IFACE("Manager"), prop, &error, 't', v);

	sd_bus_error_free(&error);
	return r;
}

int aod_sd_manager(sd_bus *bus, struct aod_manager *m)
{
	static const struct { const char *prop; size_t off; } props[] = {
		{ "FirmwareTimestampMonotonic", offsetof(struct aod_manager, firmware) },
		{ "LoaderTimestampMonotonic", offsetof(struct aod_manager, loader) },
		{ "KernelTimestampMonotonic", offsetof(struct aod_manager, kernel) },
		{ "InitRDTimestampMonotonic", offsetof(struct aod_manager, initrd) },
		{ "UserspaceTimestampMonotonic", offsetof(struct aod_manager, userspace) },
		{ "FinishTimestampMonotonic", offsetof(struct aod_manager, finish) },
		{ "UserspaceTimestamp", offsetof(struct aod_manager, userspace_realtime) },
	};
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	char *s = NULL;
	int r = 0;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; r >= 0 && i < sizeof(props) / sizeof(props[0]); i++)
		r = manager_u64(bus, props[i].prop, (uint64_t *)((char *)m + props[i].off));
	if (r >= 0 && sd_bus_get_property_string(bus, DEST, MGR_PATH, IFACE("Manager"), "Version",
						 &error, &s) >= 0) {
		snprintf(m->version, sizeof(m->version), "%s", s);
		free(s);
	}
	sd_bus_error_free(&error);
	if (r >= 0 && sd_bus_call_method(bus, DEST, MGR_PATH, IFACE("Manager"), "GetDefaultTarget",
					 &error, &reply, NULL) >= 0 &&
	    sd_bus_message_read(reply, "s", &s) >= 0)
		snprintf(m->default_target, sizeof(m->default_target), "%s", s);
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 0;
}

const struct aod_unit *aod_units_find(const struct aod_units *t, const char *name)
{
	struct aod_unit key = { .name = (char *)name };

	return t->n ? bsearch(&key, t->u, t->n, sizeof(*t->u), cmp_unit) : NULL;
}

void aod_unit_clear(struct aod_unit *u)
{
	free(u->name);
	free(u->description);
	free(u->load);
	free(u->active);
	free(u->sub);
	free(u->object);
	free(u->result);
	free(u->cgroup);
	free(u->timer_unit);
	for (int d = 0; d < AOD_DEP_N; d++) {
		for (char **p = u->deps[d]; p && *p; p++)
			free(*p);
		free(u->deps[d]);
	}
	memset(u, 0, sizeof(*u));
}

void aod_units_free(struct aod_units *t)
{
	for (size_t i = 0; i < t->n; i++)
		aod_unit_clear(&t->u[i]);
	free(t->u);
	memset(t, 0, sizeof(*t));
}
