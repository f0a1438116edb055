// SPDX-License-Identifier: MIT
/*
 * StoreWriter thread: queue -> batched transactions into the event store,
 * probe state changes, store retention, loss accounting (store_writer.h).
 */
#include "agent/store_writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "common/cgroup_unit.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "probe/probes.h"
#include "probe/smb_shares.h"
#include "store/store.h"

#define POP_MAX 512
#define COVER_SLOTS 1024        /* > 2 * POP_MAX: an open-addressing set of a batch's processes */
#define BATCH_MAX 8192          /* records per transaction at most */
#define REOPEN_NS (10 * AOD_NSEC_PER_SEC)
#define TICK_NS AOD_NSEC_PER_SEC /* probe states, size check */
#define CGROUP_RELOAD_NS AOD_NSEC_PER_SEC /* at most one hierarchy walk a second */

struct aod_store_writer {
	struct aod_agent *agent;
	struct aod_store_queue *queue;
	bool enabled;
	char path[PATH_MAX];
	atomic_bool finishing;
	_Atomic uint64_t written, events_written, write_lost, write_errors, batches,
		retention_deleted, bytes, max_bytes;
	_Atomic uint64_t unit_reloads, unit_misses; /* cgroup id -> unit (write_one) */
	pthread_mutex_t lock;           /* state, last_error, run_id */
	char state[16];
	char last_error[256];
	int64_t run_id;
};

/* The writer thread's own state. */
struct writer_loop {
	struct aod_store_writer *w;
	struct aod_store *st;
	const struct aod_config *cfg;
	uint64_t cfg_gen;
	uint64_t txn_start_ns, pending;  /* records in the open transaction */
	uint64_t pending_events;          /* ... of which events */
	bool failing;                     /* a write failed; logged once */
	bool retention_failing;           /* retention failed; logged once */
	uint64_t lost_at_failure;
	uint64_t next_open_ns, next_tick_ns, next_age_ns;
	struct aod_probe_status probes[AOD_PROBE_COUNT];
	bool probes_known;
	/* cgroup id -> unit for process rows: walked at the first lookup, then
	 * again on a miss, at most once per CGROUP_RELOAD_NS */
	struct aod_cgroups cgroups;
	uint64_t cgroups_loaded_ns;       /* 0 = never walked */
	bool cgroups_failing;             /* the walk failed; logged once */
	struct aod_store_rec buf[POP_MAX];
};

struct aod_store_writer *aod_store_writer_new(struct aod_agent *agent)
{
	struct aod_store_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->agent = agent;
	w->enabled = agent->cfg->store.enabled;
	snprintf(w->path, sizeof(w->path), "%s", agent->cfg->store.path);
	snprintf(w->state, sizeof(w->state), "%s", w->enabled ? "opening" : "disabled");
	pthread_mutex_init(&w->lock, NULL);
	if (w->enabled && !(w->queue = aod_store_queue_new(agent->cfg->store.queue_size))) {
		aod_store_writer_free(w);
		return NULL;
	}
	return w;
}

void aod_store_writer_free(struct aod_store_writer *w)
{
	if (!w)
		return;
	aod_store_queue_free(w->queue);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static bool active(const struct aod_store_writer *w)
{
	return w && w->enabled;
}

void aod_store_writer_finish(struct aod_store_writer *w)
{
	if (!w)
		return;
	atomic_store(&w->finishing, true);
	if (w->queue)
		aod_store_queue_wake(w->queue);
}

void aod_store_writer_events(struct aod_store_writer *w, const struct aod_event *evs, size_t n)
{
	if (active(w) && n)
		aod_store_queue_push_events(w->queue, evs, n);
}

int aod_store_writer_push(struct aod_store_writer *w, struct aod_store_rec *rec)
{
	if (!active(w)) {
		aod_store_rec_release(rec);
		return 0;
	}
	return aod_store_queue_push(w->queue, rec);
}

void aod_store_writer_anomaly(struct aod_store_writer *w, const struct aod_anomaly *a)
{
	struct aod_store_rec rec;

	if (!active(w))
		return;
	if (aod_store_rec_anomaly(&rec, a))
		atomic_fetch_add(&w->write_lost, 1);
	else
		aod_store_queue_push(w->queue, &rec);
}

void aod_store_writer_bundle(struct aod_store_writer *w, const struct aod_anomaly *a,
			     const char *path, uint64_t size, bool partial, int err)
{
	uint64_t now = aod_wall_ns();
	struct aod_store_bundle b = {
		.anomaly_id = a->id, .wall_ns = now, .rule = a->rule, .source = a->source,
		.type = a->type, .path = err ? NULL : path, .size = size,
		.result = err ? AOD_STORE_BUNDLE_FAILED
			      : partial ? AOD_STORE_BUNDLE_PARTIAL : AOD_STORE_BUNDLE_OK,
		.error = err ? strerror(-err) : NULL,
		.duration_ms = now > a->id ? (now - a->id) / AOD_NSEC_PER_MSEC : 0,
	};
	struct aod_store_rec rec;

	if (!active(w))
		return;
	if (aod_store_rec_bundle(&rec, &b))
		atomic_fetch_add(&w->write_lost, 1);
	else
		aod_store_queue_push(w->queue, &rec);
}

static void set_state(struct aod_store_writer *w, const char *state, const char *error)
{
	pthread_mutex_lock(&w->lock);
	snprintf(w->state, sizeof(w->state), "%s", state);
	if (error)
		snprintf(w->last_error, sizeof(w->last_error), "%.*s", (int)sizeof(w->last_error) - 1,
			 error);
	pthread_mutex_unlock(&w->lock);
}

/* ---- writing ---- */

/* A transaction failed: everything in it is lost; say so once. */
static void write_failed(struct writer_loop *l, int err, uint64_t lost)
{
	struct aod_store_writer *w = l->w;
	char msg[sizeof(w->last_error)];

	if (l->st)
		aod_store_rollback(l->st);
	atomic_fetch_add(&w->write_lost, lost);
	atomic_fetch_add(&w->write_errors, 1);
	l->pending = l->pending_events = 0;
	snprintf(msg, sizeof(msg), "%.200s (%.40s)", l->st ? aod_store_errmsg(l->st) : "",
		 strerror(-err));
	set_state(w, "failing", msg);
	if (l->failing)
		return;
	l->failing = true;
	l->lost_at_failure = atomic_load(&w->write_lost) - lost;
	log_err("store %s: cannot write: %s; what cannot be written is counted as lost "
		"(aod status), the agent goes on (logged once until writing works again)",
		w->path, msg);
}

static void commit(struct writer_loop *l)
{
	struct aod_store_writer *w = l->w;
	int err;

	if (!l->st || !aod_store_in_transaction(l->st))
		return;
	err = aod_store_commit(l->st);
	if (err) {
		write_failed(l, err, l->pending);
		return;
	}
	atomic_fetch_add(&w->written, l->pending);
	atomic_fetch_add(&w->events_written, l->pending_events);
	atomic_fetch_add(&w->batches, 1);
	l->pending = l->pending_events = 0;
	if (l->failing) {
		l->failing = false;
		log_notice("store %s: writing again; %llu records were lost meanwhile", w->path,
			   (unsigned long long)(atomic_load(&w->write_lost) - l->lost_at_failure));
		set_state(w, "open", NULL);
	}
}

/* Did this error take the transaction with it? (SQLite may roll back on a
 * full disk, an I/O error, no memory, busy.) */
static bool batch_broken(struct aod_store *st, int err)
{
	return !aod_store_in_transaction(st) || err == -ENOSPC || err == -EIO || err == -ENOMEM ||
	       err == -EBUSY || err == -EINTR;
}

/* Walk the cgroup2 hierarchy again, unless it was walked less than
 * CGROUP_RELOAD_NS ago (a storm of short-lived cgroups must not make every
 * record walk it). true if the table changed. */
static bool cgroups_reload(struct writer_loop *l, uint64_t now)
{
	struct aod_cgroups fresh = { 0 };
	int err;

	if (l->cgroups_loaded_ns && now - l->cgroups_loaded_ns < CGROUP_RELOAD_NS)
		return false;
	l->cgroups_loaded_ns = now;
	atomic_fetch_add(&l->w->unit_reloads, 1);
	err = aod_cgroups_load(&fresh);
	if (err) {
		if (!l->cgroups_failing)
			log_warn("store: cannot map cgroups to units (%s); process rows keep "
				 "unit NULL (logged once until it works)", strerror(-err));
		l->cgroups_failing = true;
		aod_cgroups_free(&fresh);
		return false;
	}
	l->cgroups_failing = false;
	aod_cgroups_free(&l->cgroups);
	l->cgroups = fresh;
	return true;
}

/* The unit of a process record's cgroup: NULL if it is in none, or if the
 * cgroup is gone before the writer could see it (counted as a miss). */
static const char *proc_unit(struct writer_loop *l, uint64_t cgroup_id)
{
	const struct aod_cgroup *g;

	if (!cgroup_id)
		return NULL;
	g = aod_cgroups_find(&l->cgroups, cgroup_id);
	if (!g && cgroups_reload(l, aod_mono_ns()))
		g = aod_cgroups_find(&l->cgroups, cgroup_id);
	if (!g)
		atomic_fetch_add(&l->w->unit_misses, 1);
	return g ? g->unit : NULL;
}

static void write_one(struct writer_loop *l, const struct aod_store_rec *rec)
{
	struct aod_agent *agent = l->w->agent;
	char share[AOD_SHARE_NAME_LEN] = "";
	int err;

	if (!aod_store_in_transaction(l->st)) {
		if ((err = aod_store_begin(l->st))) {
			write_failed(l, err, 1);
			return;
		}
		l->txn_start_ns = aod_mono_ns();
	}
	if (rec->kind == AOD_STORE_REC_EVENT && aod_event_source(&rec->event) == AOD_SOURCE_SMB &&
	    rec->event.kind != AOD_EVENT_SMB_RECONNECT)
		aod_smb_share_name(agent->shares, rec->event.smb.sesid, rec->event.smb.tid, share,
				   sizeof(share));
	if ((rec->kind == AOD_STORE_REC_PROC_START || rec->kind == AOD_STORE_REC_PROC_EXEC) &&
	    !rec->proc.unit) {
		/* a shallow copy: the unit string is the table's, rec keeps its own parts */
		struct aod_store_rec with_unit = *rec;

		with_unit.proc.unit = proc_unit(l, rec->proc.cgroup_id);
		err = aod_store_write_rec(l->st, l->w->run_id, &with_unit, share);
	} else {
		err = aod_store_write_rec(l->st, l->w->run_id, rec, share);
	}
	if (err && batch_broken(l->st, err)) {
		write_failed(l, err, l->pending + 1);
		return;
	}
	if (err) { /* this record only: the transaction goes on */
		atomic_fetch_add(&l->w->write_lost, 1);
		atomic_fetch_add(&l->w->write_errors, 1);
		return;
	}
	l->pending++;
	l->pending_events += rec->kind == AOD_STORE_REC_EVENT;
}

/*
 * Does exec's upsert leave the row exactly as start's followed by exec's
 * would? Exec overwrites with every value it has and start only fills what
 * is unknown, so yes, unless start knows something exec does not, or marks
 * what exec never writes (seeded).
 */
static bool exec_covers(const struct aod_store_proc *start, const struct aod_store_proc *exec)
{
	return !start->seeded && start->in_tree == exec->in_tree &&
	       (exec->parent.tgid || !start->parent.tgid) && (exec->uid >= 0 || start->uid < 0) &&
	       (exec->cgroup_id || !start->cgroup_id) && (exec->comm[0] || !start->comm[0]) &&
	       (exec->start_wall_ns || !start->start_wall_ns) && (exec->cwd || !start->cwd) &&
	       (exec->filename || !start->filename) && (exec->argv || !start->argv) &&
	       (exec->unit || !start->unit);
}

static size_t id_slot(const struct aod_proc_id *id)
{
	uint64_t h = (id->start_ns ^ ((uint64_t)id->tgid << 32)) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 54) & (COVER_SLOTS - 1);
}

/*
 * Mark the process starts of this batch that an exec of the same process,
 * later in the batch, covers (exec_covers): a short-lived process then
 * costs two statements instead of three. In an exec storm the writer's
 * SQLite work is most of the agent's CPU (perf: 88 %), and every process
 * is a fork, an exec and an exit, most of them in one batch.
 */
static void mark_covered_starts(struct writer_loop *l, size_t n, bool *skip)
{
	int32_t slot[COVER_SLOTS]; /* index into buf of the last exec seen, -1 */

	memset(slot, -1, sizeof(slot));
	for (size_t i = n; i-- > 0;) {
		const struct aod_store_rec *r = &l->buf[i];
		size_t h;

		skip[i] = false;
		if (r->kind != AOD_STORE_REC_PROC_EXEC && r->kind != AOD_STORE_REC_PROC_START)
			continue;
		for (h = id_slot(&r->proc.id); slot[h] >= 0; h = (h + 1) & (COVER_SLOTS - 1)) {
			const struct aod_proc_id *o = &l->buf[slot[h]].proc.id;

			if (o->start_ns == r->proc.id.start_ns && o->tgid == r->proc.id.tgid)
				break;
		}
		if (r->kind == AOD_STORE_REC_PROC_EXEC)
			slot[h] = (int32_t)i; /* the earliest exec after any start before it */
		else if (slot[h] >= 0 && exec_covers(&r->proc, &l->buf[slot[h]].proc))
			skip[i] = true;
	}
}

/* Write (or, with no store open, count as lost) and release each record. */
static void write_records(struct writer_loop *l, size_t n)
{
	bool skip[POP_MAX];

	mark_covered_starts(l, n, skip);
	for (size_t i = 0; i < n; i++) {
		if (l->st && skip[i])
			l->pending++; /* written with the exec's row, counted with its batch */
		else if (l->st)
			write_one(l, &l->buf[i]);
		else
			atomic_fetch_add(&l->w->write_lost, 1);
		aod_store_rec_release(&l->buf[i]);
		if (l->pending >= BATCH_MAX)
			commit(l);
	}
}

/* ---- opening, probe states, retention ---- */

static void open_store(struct writer_loop *l)
{
	struct aod_store_writer *w = l->w;
	struct aod_store_run run = { .kind = "agent", .started_wall_ns = w->agent->start_wall_ns,
				     .config_path = l->cfg->source_path,
				     .config_hash = l->cfg->hash };
	char err[AOD_STORE_ERR_LEN];
	int64_t run_id;
	int rc = aod_store_open(w->path, &l->st, err, sizeof(err));

	if (!rc && (rc = aod_store_run_begin(l->st, &run, &run_id))) {
		snprintf(err, sizeof(err), "%.200s: %.280s", w->path, aod_store_errmsg(l->st));
		aod_store_close(l->st);
		l->st = NULL;
	}
	if (rc) {
		l->next_open_ns = aod_mono_ns() + REOPEN_NS;
		if (!l->failing)
			log_err("store: %s; records are counted as lost until it opens (retried "
				"every %llu s)", err, (unsigned long long)(REOPEN_NS / AOD_NSEC_PER_SEC));
		l->failing = true;
		set_state(w, "failed", err);
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->run_id = run_id;
	pthread_mutex_unlock(&w->lock);
	set_state(w, "open", NULL);
	log_info("store %s open (run %lld)", w->path, (long long)run_id);
	l->failing = false;
	l->probes_known = false;
}

static bool probe_changed(const struct aod_probe_status *a, const struct aod_probe_status *b)
{
	return a->state != b->state || strcmp(a->mode, b->mode) || strcmp(a->reason, b->reason);
}

static void record_probe_states(struct writer_loop *l)
{
	struct aod_probes *probes = l->w->agent->probes;
	int err;

	for (int id = 0; probes && id < AOD_PROBE_COUNT; id++) {
		struct aod_probe_status st;
		struct aod_store_probe_state ps;

		aod_probes_status(probes, (enum aod_probe_id)id, &st);
		if (l->probes_known && !probe_changed(&st, &l->probes[id]))
			continue;
		l->probes[id] = st;
		ps = (struct aod_store_probe_state){
			.wall_ns = aod_wall_ns(), .probe = aod_probe_name((enum aod_probe_id)id),
			.state = aod_probe_state_name(st.state), .mode = st.mode, .reason = st.reason,
		};
		if (!aod_store_in_transaction(l->st) && (err = aod_store_begin(l->st))) {
			write_failed(l, err, 1);
			continue;
		}
		if ((err = aod_store_put_probe_state(l->st, l->w->run_id, &ps)))
			write_failed(l, err, l->pending + 1);
		else
			l->pending++;
	}
	l->probes_known = true;
}

static void retention(struct writer_loop *l, bool age)
{
	struct aod_store_writer *w = l->w;
	uint64_t max = aod_config_store_max_bytes(l->cfg);
	struct aod_store_retention_stats rs;
	int err;

	if (atomic_exchange(&w->max_bytes, max) != max)
		aod_store_set_limit(l->st, max);
	atomic_store(&w->bytes, aod_store_disk_bytes(w->path));
	if (!age && atomic_load(&w->bytes) <= max)
		return;
	commit(l);
	err = aod_store_retention(l->st, max, age ? aod_config_store_max_age_ns(l->cfg) : 0,
				  aod_wall_ns(), w->run_id, &rs);
	if (err) {
		if (!l->retention_failing)
			log_warn("store %s: retention: %s (%s); logged once until it works again",
				 w->path, aod_store_errmsg(l->st), strerror(-err));
		l->retention_failing = true;
		return;
	}
	l->retention_failing = false;
	atomic_fetch_add(&w->retention_deleted, rs.deleted);
	atomic_store(&w->bytes, rs.bytes_after);
	if (rs.deleted)
		log_info("store retention: deleted %llu rows (%s); %llu -> %llu bytes",
			 (unsigned long long)rs.deleted, rs.size_pruned ? "size" : "age",
			 (unsigned long long)rs.bytes_before, (unsigned long long)rs.bytes_after);
}

/* Once a second: reopen, probe states, the size limit; the age limit at
 * every cleanup_interval_sec. */
static void tick(struct writer_loop *l, uint64_t now)
{
	aod_agent_config_refresh(l->w->agent, &l->cfg, &l->cfg_gen);
	if (!l->st && now >= l->next_open_ns)
		open_store(l);
	if (!l->st || now < l->next_tick_ns)
		return;
	l->next_tick_ns = now + TICK_NS;
	record_probe_states(l);
	retention(l, now >= l->next_age_ns);
	if (now >= l->next_age_ns)
		l->next_age_ns = now + (uint64_t)l->cfg->cleanup.cleanup_interval_sec * AOD_NSEC_PER_SEC;
}

static void writer_run(struct writer_loop *l)
{
	struct aod_store_writer *w = l->w;
	uint64_t batch_ns;

	while (!atomic_load(&w->finishing)) {
		uint64_t now = aod_mono_ns();
		size_t n;

		batch_ns = (uint64_t)l->cfg->store.batch_ms * AOD_NSEC_PER_MSEC;
		n = aod_store_queue_pop(w->queue, l->buf, POP_MAX,
					now + (l->pending ? batch_ns / 4 : batch_ns));
		write_records(l, n);
		now = aod_mono_ns();
		if (l->pending && now - l->txn_start_ns >= batch_ns)
			commit(l);
		tick(l, now);
	}
	/* every producer has stopped: what is queued is all there will be */
	for (size_t n; (n = aod_store_queue_pop(w->queue, l->buf, POP_MAX, 0));)
		write_records(l, n);
	commit(l);
}

static void writer_close(struct writer_loop *l)
{
	struct aod_store_writer *w = l->w;

	if (!l->st)
		return;
	if (!aod_store_run_end(l->st, w->run_id, aod_wall_ns(), -1))
		atomic_store(&w->bytes, aod_store_disk_bytes(w->path));
	aod_store_close(l->st);
	l->st = NULL;
	set_state(w, "closed", NULL);
}

int aod_store_writer_main(struct aod_agent *agent)
{
	struct aod_store_writer *w = agent->store;
	struct writer_loop *l;

	if (!active(w)) {
		while (!(w && atomic_load(&w->finishing)) && !aod_agent_sleep(agent, 1000))
			;
		return 0;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->w = w;
	aod_agent_config_refresh(agent, &l->cfg, &l->cfg_gen);
	open_store(l);
	writer_run(l);
	writer_close(l);
	aod_cgroups_free(&l->cgroups);
	aod_config_unref(l->cfg);
	free(l);
	return 0;
}

json_t *aod_store_writer_status_json(struct aod_store_writer *w)
{
	uint64_t overflows = w->queue ? aod_store_queue_overflows(w->queue) : 0;
	json_t *o;

	pthread_mutex_lock(&w->lock);
	o = json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
		      " s:I, s:I, s:s}",
		      "enabled", w->enabled, "state", w->state, "path", w->path, "run_id",
		      (json_int_t)w->run_id, "written", (json_int_t)atomic_load(&w->written),
		      "events_written", (json_int_t)atomic_load(&w->events_written), "lost",
		      (json_int_t)(overflows + atomic_load(&w->write_lost)), "queue_overflows",
		      (json_int_t)overflows, "write_lost", (json_int_t)atomic_load(&w->write_lost),
		      "write_errors", (json_int_t)atomic_load(&w->write_errors), "batches",
		      (json_int_t)atomic_load(&w->batches), "queue_depth",
		      (json_int_t)(w->queue ? aod_store_queue_depth(w->queue) : 0), "bytes",
		      (json_int_t)atomic_load(&w->bytes), "max_bytes",
		      (json_int_t)atomic_load(&w->max_bytes), "retention_deleted",
		      (json_int_t)atomic_load(&w->retention_deleted), "unit_reloads",
		      (json_int_t)atomic_load(&w->unit_reloads), "unit_misses",
		      (json_int_t)atomic_load(&w->unit_misses), "last_error", w->last_error);
	pthread_mutex_unlock(&w->lock);
	return o;
}
