// SPDX-License-Identifier: MIT
/*
 * LogCollector thread: anomalies from the detector go through admission
 * (collect/admission.c: coalesce into the source's running collection,
 * suppress while the rule is held off, or start one); each collection runs
 * its actions in its own thread and writes the bundle. At creation it
 * claims the output dir: kills what an earlier agent's actions left and
 * removes its staging leftovers, before any collection can start.
 */
#include "probe/proc_cache.h"
#include "agent/collector.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/anomaly_queue.h"
#include "agent/flight_recorder.h"
#include "agent/store_writer.h"
#include "upload/upload.h"
#include "collect/action.h"
#include "collect/admission.h"
#include "collect/bundle.h"
#include "collect/events_file.h"
#include "collect/retention.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "probe/smb_shares.h"

#define MAX_COALESCED 64
#define MAX_SPECS (AOD_MAX_ACTIONS + AOD_MAX_CUSTOM_ACTIONS + 16)
#define POP_TIMEOUT_MS 500

/* One running collection (at most one per source). */
struct collection {
	struct aod_collector *owner;
	pthread_t thread;
	bool joinable;
	struct aod_anomaly primary;
	struct aod_anomaly coalesced[MAX_COALESCED];
	size_t ncoalesced;
	struct aod_admit_handoff held; /* its rule's suppressed anomalies */
	const struct aod_config *cfg;  /* the generation it started under (a reference) */
};

struct aod_collector {
	struct aod_agent *agent;
	pthread_mutex_t lock;
	struct collection slots[AOD_SOURCE_COUNT];
	struct aod_admission adm; /* under lock */
	struct {
		uint64_t bundles_written, bundles_failed, bundles_partial, coalesced, suppressed,
			actions_run, actions_timed_out, actions_failed, actions_truncated,
			bytes_written, last_bundle_ms;
	} stats;
	char last_bundle[PATH_MAX];
};

/*
 * Before any collection (the workers have not started): nothing of an
 * earlier agent's collection may still run or write, then its staging dirs
 * go. Done here, synchronously: in the SpaceWatcher thread it raced with
 * the first collection, whose fresh staging dir it could delete.
 */
static void claim_output_dir(struct aod_agent *agent)
{
	int removed;

	aod_action_pool_claim(agent->pool, agent->cfg->output_dir);
	removed = aod_retention_clean_staging(agent->cfg->output_dir);
	if (removed > 0)
		log_notice("removed %d staging leftovers of an earlier run", removed);
}

struct aod_collector *aod_collector_new(struct aod_agent *agent)
{
	struct aod_collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->agent = agent;
	pthread_mutex_init(&c->lock, NULL);
	aod_admission_init(&c->adm);
	for (int i = 0; i < AOD_SOURCE_COUNT; i++)
		c->slots[i].owner = c;
	claim_output_dir(agent);
	return c;
}

void aod_collector_free(struct aod_collector *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void aod_collector_bundle_counts(struct aod_collector *c, struct aod_bundle_counts *out)
{
	pthread_mutex_lock(&c->lock);
	out->written = c->stats.bundles_written;
	out->partial = c->stats.bundles_partial;
	out->failed = c->stats.bundles_failed;
	pthread_mutex_unlock(&c->lock);
}

json_t *aod_collector_status_json(struct aod_collector *c)
{
	json_t *o;

	pthread_mutex_lock(&c->lock);
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:i}",
		      "bundles_written", (json_int_t)c->stats.bundles_written, "bundles_failed",
		      (json_int_t)c->stats.bundles_failed, "bundles_partial",
		      (json_int_t)c->stats.bundles_partial, "coalesced",
		      (json_int_t)c->stats.coalesced, "suppressed", (json_int_t)c->stats.suppressed,
		      "actions_run", (json_int_t)c->stats.actions_run, "actions_timed_out",
		      (json_int_t)c->stats.actions_timed_out, "actions_failed",
		      (json_int_t)c->stats.actions_failed, "actions_truncated",
		      (json_int_t)c->stats.actions_truncated, "bytes_written",
		      (json_int_t)c->stats.bytes_written, "last_bundle_ms",
		      (json_int_t)c->stats.last_bundle_ms, "last_bundle", c->last_bundle,
		      "max_concurrent_peak", (int)aod_action_pool_peak(c->agent->pool));
	pthread_mutex_unlock(&c->lock);
	return o;
}

static const struct aod_rule *find_rule(const struct aod_config *cfg, const char *name)
{
	for (uint32_t i = 0; i < cfg->nrules; i++)
		if (!strcmp(cfg->rules[i].name, name))
			return &cfg->rules[i];
	return NULL;
}

/* Actions for an anomaly: its rule's list, else watcher.actions; snapshots get everything. */
static int resolve_actions(const struct aod_config *cfg, const struct aod_anomaly *a,
			   struct aod_action_spec *specs, size_t max)
{
	static const char builtins[][AOD_ACTION_NAME_LEN] = {
		"dmesg", "journalctl", "debugdata", "stats", "mounts", "smbinfo", "syslogs",
	};
	char (*names)[AOD_ACTION_NAME_LEN] = NULL;
	const struct aod_rule *rule = find_rule(cfg, a->rule);
	size_t n = 0;
	int rc;

	names = calloc(AOD_MAX_ACTIONS + AOD_MAX_CUSTOM_ACTIONS + 8, sizeof(*names));
	if (!names)
		return -ENOMEM;
	if (a->source == AOD_SOURCE_MANUAL) {
		for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
			memcpy(names[n++], builtins[i], AOD_ACTION_NAME_LEN);
		for (uint32_t i = 0; i < cfg->watcher.ncustom; i++)
			memcpy(names[n++], cfg->watcher.custom[i].name, AOD_ACTION_NAME_LEN);
	} else if (rule && rule->nactions) {
		memcpy(names, rule->actions, rule->nactions * sizeof(*names));
		n = rule->nactions;
	} else {
		memcpy(names, cfg->watcher.actions, cfg->watcher.nactions * sizeof(*names));
		n = cfg->watcher.nactions;
	}
	rc = aod_actions_resolve(cfg, (const char(*)[AOD_ACTION_NAME_LEN])names, n, specs, max);
	free(names);
	return rc;
}

static void count_results(struct aod_collector *c, const struct aod_action_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		c->stats.actions_run++;
		c->stats.actions_timed_out += r[i].timed_out;
		if (r[i].timed_out)
			aod_series_add(&c->agent->series.actions_timed_out, r[i].name, NULL, NULL, 1);
		c->stats.actions_truncated += r[i].truncated;
		c->stats.actions_failed += r[i].error[0] && !r[i].skipped;
	}
}

#define MAX_RECONNECTS_LISTED 32

/* events.jsonl, streamed from the flight recorder into the staging dir. */
struct event_stream {
	struct aod_events_file file;
	struct aod_event reconnects[MAX_RECONNECTS_LISTED];
	size_t nreconnects;
};

static int stream_one(void *ctx, const struct aod_event *ev)
{
	struct event_stream *es = ctx;

	aod_events_file_add(&es->file, ev);
	if (ev->kind == AOD_EVENT_SMB_RECONNECT && es->nreconnects < MAX_RECONNECTS_LISTED)
		es->reconnects[es->nreconnects++] = *ev;
	return 0;
}

/* The range: flight_recorder_sec before the anomaly fired, up to now. */
static int stream_events(struct aod_agent *agent, const struct collection *col,
			 const char *staging, struct event_stream *es, struct aod_bundle_input *in)
{
	uint64_t now_mono = aod_mono_ns(), now_wall = aod_wall_ns();
	uint64_t span = (uint64_t)col->cfg->watcher.flight_recorder_sec * AOD_NSEC_PER_SEC;
	uint64_t age = now_wall > col->primary.id ? now_wall - col->primary.id : 0;
	uint64_t fired_mono = now_mono > age ? now_mono - age : 0;
	int dfd = open(staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	long n;
	int err;

	if (dfd < 0)
		return -errno;
	err = aod_events_file_open(&es->file, dfd);
	close(dfd);
	if (err)
		return err;
	n = aod_flight_recorder_foreach(agent->recorder, fired_mono > span ? fired_mono - span : 0,
					now_mono, stream_one, es, &in->events_lost);
	err = aod_events_file_close(&es->file);
	in->nevents = es->file.written;
	in->reconnects = es->reconnects;
	in->nreconnects = es->nreconnects;
	return n < 0 ? (int)n : err;
}

static void share_of(void *ctx, uint64_t sesid, uint32_t tid, char *buf, size_t len)
{
	aod_smb_share_name(ctx, sesid, tid, buf, len);
}

static bool proc_chain_of(void *ctx, FILE *f, uint32_t tgid, uint64_t wall_ns)
{
	return aod_proc_cache_chain_fput(ctx, f, tgid, wall_ns);
}

static void kick_spacewatch(struct aod_agent *agent)
{
	uint64_t one = 1;

	if (write(agent->spacewatch_kick, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("space watcher kick: %s", strerror(errno));
}

static uint32_t holdoff_of(const struct collection *col)
{
	const struct aod_rule *rule = find_rule(col->cfg, col->primary.rule);

	return rule ? rule->holdoff_sec : 0;
}

static int write_bundle(struct collection *col, struct aod_action_spec *specs,
			struct aod_action_result *results, size_t n, const char *staging,
			bool partial)
{
	struct aod_collector *c = col->owner;
	struct aod_bundle_input in = {
		.cfg = col->cfg, .staging_dir = staging, .anomaly = &col->primary,
		.specs = specs, .results = results, .nresults = n, .partial = partial,
	};
	struct aod_bundle_info info;
	struct event_stream *es = calloc(1, sizeof(*es));
	char *status = aod_agent_status_json(c->agent);
	int err;

	err = es ? stream_events(c->agent, col, staging, es, &in) : -ENOMEM;
	if (err)
		log_warn("bundle for anomaly %llu: events.jsonl: %s", (unsigned long long)col->primary.id,
			 strerror(-err));
	in.status_json = status;
	in.share_name = share_of;
	in.share_ctx = c->agent->shares;
	in.proc_chain = proc_chain_of;
	in.proc_ctx = c->agent->procs;
	/* Coalesced anomalies keep arriving until the bundle is written: freeze them now. */
	pthread_mutex_lock(&c->lock);
	in.coalesced = col->coalesced;
	in.ncoalesced = col->ncoalesced;
	in.suppressed = col->held.suppressed;
	in.nsuppressed = col->held.nsuppressed;
	in.suppressed_count = col->held.suppressed_count;
	/* From here on an anomaly of this source starts a new collection, unless
	 * its rule is held off: both take effect in this one step. */
	aod_admission_finish(&c->adm, &col->primary, holdoff_of(col), aod_mono_ns());
	pthread_mutex_unlock(&c->lock);

	err = aod_bundle_write(&in, &info);
	pthread_mutex_lock(&c->lock);
	if (err) {
		c->stats.bundles_failed++;
	} else {
		c->stats.bundles_written++;
		c->stats.bundles_partial += partial;
		c->stats.bytes_written += info.size;
		atomic_fetch_add(&c->agent->counters.output_bytes, info.size);
		snprintf(c->last_bundle, sizeof(c->last_bundle), "%s", info.path);
	}
	pthread_mutex_unlock(&c->lock);
	if (err)
		log_err("bundle for anomaly %llu failed: %s", (unsigned long long)col->primary.id,
			strerror(-err));
	else
		log_notice("bundle %s written: %llu bytes%s%s", info.path,
			   (unsigned long long)info.size, partial ? " (partial: aod stopping)" : "",
			   info.ncut ? ", outputs cut to fit max_bundle_mb" : "");
	aod_store_writer_bundle(c->agent->store, &col->primary, info.path, info.size, partial, err);
	if (!err) {
		kick_spacewatch(c->agent);
		aod_uploader_bundle(c->agent->uploader, col->primary.id, info.path);
	}
	free(status);
	free(es);
	return err;
}

static void *collection_thread(void *arg)
{
	struct collection *col = arg;
	struct aod_collector *c = col->owner;
	struct aod_action_spec *specs = calloc(MAX_SPECS, sizeof(*specs));
	struct aod_action_result *results = calloc(MAX_SPECS, sizeof(*results));
	uint64_t t0 = aod_mono_ns();
	char staging[PATH_MAX];
	int n = -ENOMEM, dirfd = -1, err = 0;

	prctl(PR_SET_NAME, "Collect", 0, 0, 0);
	if (specs && results)
		n = resolve_actions(col->cfg, &col->primary, specs, MAX_SPECS);
	if (n >= 0)
		dirfd = aod_bundle_staging_create(col->cfg->output_dir, col->primary.id, staging,
						  sizeof(staging));
	if (n < 0 || dirfd < 0) {
		log_err("collection for anomaly %llu: %s", (unsigned long long)col->primary.id,
			strerror(n < 0 ? -n : -dirfd));
		aod_store_writer_bundle(c->agent->store, &col->primary, NULL, 0, false,
					n < 0 ? n : dirfd);
		pthread_mutex_lock(&c->lock);
		c->stats.bundles_failed++;
		aod_admission_finish(&c->adm, &col->primary, 0, aod_mono_ns());
		pthread_mutex_unlock(&c->lock);
		goto out;
	}
	err = aod_actions_run(c->agent->pool, specs, (size_t)n, dirfd, results);
	close(dirfd);
	pthread_mutex_lock(&c->lock);
	count_results(c, results, (size_t)n);
	pthread_mutex_unlock(&c->lock);
	if (write_bundle(col, specs, results, (size_t)n, staging, err == -ECANCELED))
		aod_bundle_staging_remove(staging); /* never leave half a bundle behind */
	pthread_mutex_lock(&c->lock);
	c->stats.last_bundle_ms = (aod_mono_ns() - t0) / AOD_NSEC_PER_MSEC;
	pthread_mutex_unlock(&c->lock);
out:
	free(specs);
	free(results);
	return NULL;
}

static void join_collection(struct collection *col)
{
	pthread_join(col->thread, NULL);
	col->joinable = false;
	aod_config_unref(col->cfg);
	col->cfg = NULL;
}

/* Admitted (the source is marked running): start its collection thread. */
static void start_collection(struct aod_collector *c, struct collection *col,
			     const struct aod_anomaly *a, const struct aod_config *cfg,
			     const struct aod_admit_handoff *held)
{
	int err;

	if (col->joinable) /* the previous collection of this source has finished */
		join_collection(col);
	pthread_mutex_lock(&c->lock);
	col->primary = *a;
	col->ncoalesced = 0;
	col->cfg = aod_config_ref(cfg);
	aod_admit_handoff_copy(&col->held, held);
	pthread_mutex_unlock(&c->lock);
	err = pthread_create(&col->thread, NULL, collection_thread, col);
	if (err) {
		log_err("cannot start a collection thread: %s", strerror(err));
		aod_config_unref(col->cfg);
		col->cfg = NULL;
		pthread_mutex_lock(&c->lock);
		aod_admission_finish(&c->adm, a, 0, aod_mono_ns());
		c->stats.bundles_failed++;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	col->joinable = true;
}

static void handle_anomaly(struct aod_collector *c, const struct aod_anomaly *a,
			   const struct aod_config *cfg)
{
	struct collection *col = &c->slots[a->source < AOD_SOURCE_COUNT ? a->source : 0];
	struct aod_admit_handoff *held = malloc(sizeof(*held));
	enum aod_admit verdict;

	if (!held) {
		log_err("anomaly %llu: out of memory", (unsigned long long)a->id);
		return;
	}
	pthread_mutex_lock(&c->lock);
	verdict = aod_admission_offer(&c->adm, a, aod_mono_ns(), held);
	if (verdict == AOD_ADMIT_COALESCE) {
		if (col->ncoalesced < MAX_COALESCED)
			col->coalesced[col->ncoalesced++] = *a;
		c->stats.coalesced++;
	}
	c->stats.suppressed += verdict == AOD_ADMIT_SUPPRESS;
	pthread_mutex_unlock(&c->lock);
	if (verdict == AOD_ADMIT_COALESCE)
		log_info("anomaly %llu coalesced into the running %s collection",
			 (unsigned long long)a->id, aod_source_name(a->source));
	else if (verdict == AOD_ADMIT_SUPPRESS)
		log_info("anomaly %llu of rule %s suppressed (holdoff)", (unsigned long long)a->id,
			 a->rule);
	if (verdict == AOD_ADMIT_START)
		start_collection(c, col, a, cfg, held);
	free(held);
}

int aod_collector_main(struct aod_agent *agent)
{
	struct aod_collector *c = agent->collector;
	const struct aod_config *cfg = NULL;
	uint64_t gen = 0;
	struct aod_anomaly a;

	while (!aod_agent_stopping(agent)) {
		int err = aod_anomaly_queue_pop(agent->anomalies, &a, POP_TIMEOUT_MS);

		aod_agent_config_refresh(agent, &cfg, &gen);
		if (err == -EPIPE)
			break;
		if (!err)
			handle_anomaly(c, &a, cfg);
	}
	/* Stopping: actions were cancelled; wait for each bundle to be finished as partial. */
	for (int i = 0; i < AOD_SOURCE_COUNT; i++)
		if (c->slots[i].joinable)
			join_collection(&c->slots[i]);
	aod_config_unref(cfg);
	return 0;
}
