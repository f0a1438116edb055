// SPDX-License-Identifier: MIT
#include "collect/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/evjson.h"
#include "common/timeutil.h"

/* Every json_object_set_new() below steals its value; a NULL value makes
 * the call fail, which ok() turns into a failed build. */
struct builder {
	bool ok;
};

static void set(struct builder *b, json_t *obj, const char *key, json_t *val)
{
	if (!val || json_object_set_new(obj, key, val) < 0)
		b->ok = false;
}

static void append(struct builder *b, json_t *arr, json_t *val)
{
	if (!val || json_array_append_new(arr, val) < 0)
		b->ok = false;
}

static json_t *json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* A JSON string even for bytes that are not UTF-8 (an argv, a path):
 * those bytes become '?' rather than failing the whole manifest. */
static json_t *json_text(const char *s)
{
	json_t *str = json_string(s);
	char *copy;

	if (str || !s)
		return str;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	str = json_string(copy);
	free(copy);
	return str;
}

static json_t *json_str_or_null(const char *s)
{
	return s && s[0] ? json_text(s) : json_null();
}

static json_t *json_time(uint64_t wall_ns)
{
	char iso[40];

	if (!wall_ns)
		return json_null();
	aod_format_wall(wall_ns, iso, sizeof(iso));
	return json_string(iso);
}

static json_t *anomaly_list(struct builder *b, const struct aod_anomaly *list, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		append(b, arr, aod_anomaly_to_json(&list[i]));
	return arr;
}

static void add_spec(struct builder *b, json_t *obj, const struct aod_action_spec *spec)
{
	json_t *argv;

	switch (spec->kind) {
	case AOD_ACTION_EXEC:
		set(b, obj, "kind", json_string("exec"));
		argv = json_array();
		for (uint32_t i = 0; argv && i < spec->argc && i < AOD_MAX_ARGV; i++)
			append(b, argv, json_text(spec->argv[i]));
		set(b, obj, "argv", argv);
		break;
	case AOD_ACTION_COPY:
		set(b, obj, "kind", json_string("copy"));
		set(b, obj, "path", json_text(spec->path));
		break;
	case AOD_ACTION_FUNC:
		set(b, obj, "kind", json_string("function"));
		break;
	}
	set(b, obj, "timeout_sec", json_integer(spec->timeout_sec));
	set(b, obj, "max_bytes", json_u64(spec->max_bytes));
}

static json_t *action_json(struct builder *b, const struct aod_bundle_input *in,
			   const struct aod_bundle_plan *plan, size_t i)
{
	const struct aod_action_result *r = &in->results[i];
	const struct aod_bundle_file_plan *fp = &plan->actions[i];
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	set(b, obj, "name", json_text(r->name));
	set(b, obj, "file", json_str_or_null(r->file));
	set(b, obj, "in_bundle", json_boolean(fp->present));
	set(b, obj, "command", json_text(r->desc));
	if (in->specs)
		add_spec(b, obj, &in->specs[i]);
	set(b, obj, "exit_code", json_integer(r->exit_code));
	set(b, obj, "signal", json_integer(r->term_signal));
	set(b, obj, "start", json_time(r->start_wall_ns));
	set(b, obj, "start_ns", json_u64(r->start_wall_ns));
	set(b, obj, "duration_ms", json_u64((r->duration_ns + AOD_NSEC_PER_MSEC / 2) / AOD_NSEC_PER_MSEC));
	set(b, obj, "duration_ns", json_u64(r->duration_ns));
	set(b, obj, "bytes", json_u64(r->bytes));
	set(b, obj, "bytes_dropped", json_u64(r->bytes_dropped));
	set(b, obj, "truncated", json_boolean(r->truncated));
	set(b, obj, "timed_out", json_boolean(r->timed_out));
	set(b, obj, "skipped", json_boolean(r->skipped));
	set(b, obj, "error", json_str_or_null(r->error));
	set(b, obj, "problem", json_str_or_null(fp->problem));
	set(b, obj, "bundle_cut_bytes", json_u64(fp->cut));
	set(b, obj, "bytes_in_bundle", json_u64(fp->present ? fp->size - fp->cut : 0));
	return obj;
}

static json_t *cut_entry(struct builder *b, const char *file, const struct aod_bundle_file_plan *fp)
{
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	set(b, obj, "file", json_text(file));
	set(b, obj, "size", json_u64(fp->size));
	set(b, obj, "cut", json_u64(fp->cut));
	set(b, obj, "kept", json_u64(fp->size - fp->cut));
	return obj;
}

static json_t *budget_json(struct builder *b, const struct aod_bundle_input *in,
			   const struct aod_bundle_plan *plan)
{
	json_t *obj = json_object(), *cut = json_array();

	if (!obj || !cut) {
		json_decref(obj);
		json_decref(cut);
		return NULL;
	}
	set(b, obj, "max_bundle_bytes", json_u64(plan->max_bytes));
	set(b, obj, "data_budget_bytes", json_u64(plan->data_budget));
	set(b, obj, "files_cut", json_u64(plan->ncut));
	set(b, obj, "bytes_cut", json_u64(plan->cut_bytes));
	if (plan->events.cut)
		append(b, cut, cut_entry(b, "events.jsonl", &plan->events));
	for (size_t i = 0; i < in->nresults; i++)
		if (plan->actions[i].cut)
			append(b, cut, cut_entry(b, in->results[i].file, &plan->actions[i]));
	set(b, obj, "cut", cut);
	return obj;
}

static json_t *events_json(struct builder *b, const struct aod_bundle_input *in,
			   const struct aod_bundle_plan *plan)
{
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	set(b, obj, "file", json_string("events.jsonl"));
	set(b, obj, "recorded", json_u64(in->nevents));
	set(b, obj, "written", json_u64(plan->events_written));
	set(b, obj, "cut_by_size_cap", json_u64(in->nevents - plan->events_written));
	set(b, obj, "lost_in_recorder", json_u64(in->events_lost));
	return obj;
}

static json_t *suppressed_json(struct builder *b, const struct aod_bundle_input *in)
{
	json_t *obj = json_object();
	uint64_t count = in->suppressed_count > in->nsuppressed ? in->suppressed_count
								 : in->nsuppressed;

	if (!obj)
		return NULL;
	set(b, obj, "count", json_u64(count));
	set(b, obj, "listed", anomaly_list(b, in->suppressed, in->nsuppressed));
	return obj;
}

json_t *aod_manifest_build(const struct aod_bundle_input *in, const struct aod_bundle_plan *plan)
{
	struct builder b = { .ok = true };
	json_t *m = json_object(), *config, *actions;
	char id[24], hash[24];

	if (!m)
		return NULL;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)in->anomaly->id);
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)in->cfg->hash);
	set(&b, m, "format", json_integer(AOD_BUNDLE_MANIFEST_FORMAT));
	set(&b, m, "bundle", json_string(plan->stem));
	set(&b, m, "id", json_string(id));
	set(&b, m, "aod_version", json_string(AOD_VERSION));
	set(&b, m, "created", json_time(plan->created_ns));
	set(&b, m, "created_ns", json_u64(plan->created_ns));
	set(&b, m, "hostname", json_text(plan->hostname));
	set(&b, m, "kernel", json_text(plan->kernel));
	set(&b, m, "partial", json_boolean(in->partial));

	config = json_object();
	if (config) {
		set(&b, config, "path", json_text(in->cfg->source_path));
		set(&b, config, "hash", json_string(hash));
	}
	set(&b, m, "config", config);
	set(&b, m, "anomaly", aod_anomaly_to_json(in->anomaly));
	set(&b, m, "coalesced", anomaly_list(&b, in->coalesced, in->ncoalesced));
	set(&b, m, "suppressed", suppressed_json(&b, in));
	set(&b, m, "events", events_json(&b, in, plan));
	set(&b, m, "status_file", in->status_json ? json_string("aod-status.json") : json_null());

	actions = json_array();
	for (size_t i = 0; actions && i < in->nresults; i++)
		append(&b, actions, action_json(&b, in, plan, i));
	set(&b, m, "actions", actions);
	set(&b, m, "budget", budget_json(&b, in, plan));
	if (!b.ok) {
		json_decref(m);
		return NULL;
	}
	return m;
}
