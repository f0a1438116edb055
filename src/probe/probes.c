// SPDX-License-Identifier: MIT
/*
 * Probe lifecycle: the shared ring, which probes are needed, attaching
 * with fallbacks (now or when the kernel side appears), knob updates, the
 * in-flight sweep, status. Every probe is one entry of probe_table (its
 * struct probe_ops); nothing here knows a probe by name.
 *
 * Threads: one mutex guards the slots (load state, knobs, counters that
 * other threads read). The poll thread alone consumes the ring and owns
 * each slot's tracked-ops table (stuck reports, expired entries), which
 * the sweep and the ring callback both use; the sweep runs in the poll
 * thread too, right after the ring was drained, so that a completion
 * already in the ring is never mistaken for an op still in flight.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/hist.bpf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "probe/hist.h"
#include "probe/probe_int.h"

#define DEFAULT_RINGBUF_MB 1
#define MAX_RINGBUF_MB 1024
#define MAX_WAKEUP_BYTES (64 * 1024)
#define DEFAULT_INFLIGHT_TIMEOUT_NS (30 * AOD_NSEC_PER_SEC)
#define DEFAULT_SWEEP_NS (250 * AOD_NSEC_PER_MSEC)
/* A stuck op gone from the kernel map is forgotten after this long: its
 * completion record, if any, has been consumed by then. */
#define STUCK_FORGET_NS AOD_NSEC_PER_SEC
#define TRACKED_MAX 16384 /* = the in-flight maps' size */

static const struct probe_ops *const probe_table[AOD_PROBE_COUNT] = {
	[AOD_PROBE_SMB] = &aod_smb_probe_ops,
	[AOD_PROBE_BLOCK] = &aod_blk_probe_ops,
	[AOD_PROBE_TCP] = &aod_tcp_probe_ops,
	[AOD_PROBE_PROC] = &aod_proc_probe_ops,
};

/* Latencies measured in user space (late completions), merged into the
 * kernel's histograms when they are read. */
struct late_hist {
	uint32_t n, cap;
	struct late_hist_entry {
		uint32_t a, b; /* SMB: cmd, 0; block: dev, op */
		struct aod_hist h;
	} *v;
};

struct probe_slot {
	const struct probe_ops *ops;
	enum aod_probe_state state;
	char mode[16];
	char reason[256];
	uint64_t attach_ns;
	unsigned failed_attempts;
	bool loaded;
	struct probe_obj po;
	void *knobs;                /* ops->knobs_size bytes */
	bool late_watch;            /* written to the kernel: expired entries exist */
	struct aod_tracked tracked; /* poll thread only */
	struct late_hist late;
	struct probe_scan_buf scan;  /* the sweep's copy of the in-flight map */
	uint64_t inflight_expired, stuck_reported; /* under the lock */
	_Atomic uint64_t late_matched, late_unmatched;
	/* SMB: commands in the kernel's in-flight map per (session, tree) at
	 * the last sweep (under the lock) */
	struct aod_smb_inflight inflight[AOD_SMB_INFLIGHT_TREES];
	uint32_t ninflight;
	uint64_t inflight_untallied; /* at the last sweep: ops whose tree did not fit */
};

struct aod_probes {
	pthread_mutex_t lock;
	aod_raw_event_fn fn;
	void *fn_ctx;
	struct aod_probes_opts opts;
	uint64_t inflight_timeout_ns;
	uint64_t sweep_ns;
	uint64_t next_sweep;
	uint32_t sweep_seq;
	const struct aod_config *cfg;       /* a reference: the config is shared and read only */
	const char *force[AOD_PROBE_COUNT]; /* from the environment, or NULL */
	int test_fail_knob_writes;          /* AOD_TEST_FAIL_KNOB_WRITES: tests only */
	int ring_fd;
	size_t ring_bytes;
	struct ring_buffer *rb;
	bool started;
	struct probe_slot slot[AOD_PROBE_COUNT];
};

const char *aod_probe_name(enum aod_probe_id id)
{
	return (unsigned)id < AOD_PROBE_COUNT ? probe_table[id]->name : "?";
}

const char *aod_probe_state_name(enum aod_probe_state state)
{
	switch (state) {
	case AOD_PROBE_DISABLED: return "disabled";
	case AOD_PROBE_WAITING: return "waiting";
	case AOD_PROBE_ATTACHED: return "attached";
	case AOD_PROBE_FAILED: return "failed";
	}
	return "?";
}

const char *aod_blk_op_name(enum aod_blk_op op)
{
	switch (op) {
	case AOD_BLK_READ: return "read";
	case AOD_BLK_WRITE: return "write";
	case AOD_BLK_FLUSH: return "flush";
	case AOD_BLK_DISCARD: return "discard";
	case AOD_BLK_OTHER: return "other";
	}
	return "?";
}

static bool probe_needed(const struct probe_slot *s)
{
	return s->ops->knobs_needed(s->knobs);
}

static void set_state(struct probe_slot *s, enum aod_probe_state state,
		      const char *reason)
{
	s->state = state;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

/* The config's probes.<name>: off, or no rule needs it (auto). */
static const char *why_disabled(const struct aod_probes *p, const struct probe_slot *s)
{
	enum aod_probe_enable e;

	memcpy(&e, (const char *)p->cfg + s->ops->enable_offset, sizeof(e));
	return e == AOD_PROBE_OFF ? "turned off (probes: off)" : "no rule needs it";
}

/* ---- configuration ------------------------------------------------------ */

static void compute_knobs(struct aod_probes *p)
{
	for (int id = 0; id < AOD_PROBE_COUNT; id++)
		p->slot[id].ops->compute_knobs(p->cfg, p->opts.record_all, p->slot[id].knobs);
}

static const char *env_mode(const char *var)
{
	const char *v = getenv(var);

	return v && *v ? v : NULL;
}

static uint64_t sec_or(uint64_t given_ns, uint32_t cfg_sec, uint64_t dflt_ns)
{
	if (given_ns)
		return given_ns;
	return cfg_sec ? cfg_sec * AOD_NSEC_PER_SEC : dflt_ns;
}

struct aod_probes *aod_probes_new(const struct aod_config *cfg,
				  const struct aod_probes_opts *opts,
				  aod_raw_event_fn fn, void *ctx)
{
	struct aod_probes *p = calloc(1, sizeof(*p));
	bool ok;

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->ring_fd = -1;
	ok = true;
	for (int id = 0; id < AOD_PROBE_COUNT; id++) {
		struct probe_slot *s = &p->slot[id];

		s->ops = probe_table[id];
		s->knobs = calloc(1, s->ops->knobs_size);
		ok &= s->knobs != NULL;
		aod_tracked_init(&s->tracked, TRACKED_MAX);
		p->force[id] = env_mode(s->ops->force_env);
	}
	if (!ok) {
		aod_probes_free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->fn = fn;
	p->fn_ctx = ctx;
	if (opts)
		p->opts = *opts;
	p->cfg = aod_config_ref(cfg);
	p->inflight_timeout_ns = sec_or(p->opts.inflight_timeout_ns,
					cfg->agent.smb_inflight_timeout_sec, DEFAULT_INFLIGHT_TIMEOUT_NS);
	p->sweep_ns = p->opts.sweep_ns ? p->opts.sweep_ns
		      : cfg->agent.stuck_sweep_ms ? cfg->agent.stuck_sweep_ms * AOD_NSEC_PER_MSEC
						  : DEFAULT_SWEEP_NS;
	if (getenv("AOD_TEST_FAIL_KNOB_WRITES"))
		p->test_fail_knob_writes = atoi(getenv("AOD_TEST_FAIL_KNOB_WRITES"));
	probe_libbpf_log_init();
	compute_knobs(p);
	return p;
}

/* ---- ring: records, as the poll thread sees them ------------------------ */

static int slot_of_kind(const struct aod_probes *p, uint32_t kind)
{
	for (int id = 0; id < AOD_PROBE_COUNT; id++) {
		const struct probe_ops *o = p->slot[id].ops;

		if (kind == o->kind_slow || kind == o->kind_err || kind == o->kind_unmatched)
			return id;
	}
	return -1;
}

static void late_hist_add(struct late_hist *lh, uint32_t a, uint32_t b, uint64_t latency_ns)
{
	struct late_hist_entry *e = NULL;
	unsigned slot = aod_hist_slot(latency_ns / 1000);

	for (uint32_t i = 0; i < lh->n && !e; i++)
		if (lh->v[i].a == a && lh->v[i].b == b)
			e = &lh->v[i];
	if (!e) {
		if (lh->n == lh->cap) {
			uint32_t cap = lh->cap ? lh->cap * 2 : 8;
			struct late_hist_entry *v = realloc(lh->v, cap * sizeof(*v));

			if (!v)
				return;
			lh->v = v;
			lh->cap = cap;
		}
		e = &lh->v[lh->n++];
		memset(e, 0, sizeof(*e));
		e->a = a;
		e->b = b;
	}
	e->h.slots[slot]++;
	e->h.sum_ns += latency_ns;
}

/*
 * A completion whose in-flight entry expired while it hung: measure it
 * from the start user space kept. Returns false if it is not one of ours
 * (an unmatched record then has nothing to say and is dropped).
 */
static bool match_late(struct aod_probes *p, struct probe_slot *s, struct aod_raw_event *rec)
{
	struct aod_op_id id;
	struct aod_tracked_op *op;
	uint64_t latency;
	uint32_t a, b;

	s->ops->record_id(rec, &id);
	op = aod_tracked_find(&s->tracked, id.a, id.b);
	if (!op || !(op->state & AOD_TRACKED_EXPIRED) || rec->h.ts_ns < op->id.start_ns)
		return false;
	latency = rec->h.ts_ns - op->id.start_ns;
	s->ops->fill_late(rec, &op->start);
	if (rec->h.kind == s->ops->kind_unmatched)
		rec->h.kind = s->ops->kind_slow;
	if (rec->h.kind == AOD_RAW_SMB_SLOW || rec->h.kind == AOD_RAW_SMB_ERR)
		rec->smb.latency_ns = latency;
	else
		rec->blk.latency_ns = latency;
	rec->h.flags |= AOD_RAWF_LATE;
	if (op->state & AOD_TRACKED_REPORTED)
		rec->h.flags |= AOD_RAWF_WAS_STUCK;
	s->ops->hist_key(rec, &a, &b);
	pthread_mutex_lock(&p->lock);
	late_hist_add(&s->late, a, b, latency);
	pthread_mutex_unlock(&p->lock);
	atomic_fetch_add(&s->late_matched, 1);
	aod_tracked_remove(&s->tracked, op);
	return true;
}

/* Flag the completion of an op reported stuck, or measure a late one.
 * Returns false for a record to drop. */
static bool annotate(struct aod_probes *p, struct aod_raw_event *rec)
{
	int id = slot_of_kind(p, rec->h.kind);
	struct probe_slot *s;
	struct aod_op_id oid;
	struct aod_tracked_op *op;

	if (id < 0)
		return true;
	s = &p->slot[id];
	if (rec->h.kind == s->ops->kind_unmatched) {
		if (match_late(p, s, rec))
			return true;
		atomic_fetch_add(&s->late_unmatched, 1);
		return false;
	}
	if (!s->tracked.n)
		return true;
	s->ops->record_id(rec, &oid);
	if (!oid.start_ns) { /* an error whose start the kernel did not have */
		if (s->tracked.nexpired)
			match_late(p, s, rec);
		return true;
	}
	op = aod_tracked_find(&s->tracked, oid.a, oid.b);
	if (op && (op->state & AOD_TRACKED_STUCK) && op->id.start_ns == oid.start_ns) {
		rec->h.flags |= AOD_RAWF_WAS_STUCK;
		aod_tracked_remove(&s->tracked, op);
	}
	return true;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct aod_probes *p = ctx;
	struct aod_raw_event rec;

	if (size < sizeof(struct aod_raw_event)) {
		log_debug("probe: short ring record (%zu bytes) skipped", size);
		return 0;
	}
	memcpy(&rec, data, sizeof(rec)); /* the ring's pages are read-only */
	if (annotate(p, &rec) && p->fn)
		p->fn(p->fn_ctx, &rec);
	return 0;
}

static size_t ring_size(const struct aod_probes *p)
{
	uint32_t mb = p->opts.ringbuf_mb ? p->opts.ringbuf_mb : p->cfg->agent.ringbuf_mb;
	uint32_t pow = 1;

	if (!mb)
		mb = DEFAULT_RINGBUF_MB;
	if (mb > MAX_RINGBUF_MB)
		mb = MAX_RINGBUF_MB;
	while (pow < mb)
		pow <<= 1; /* the kernel wants a power-of-2 size */
	return (size_t)pow << 20;
}

static int ring_create(struct aod_probes *p)
{
	int err;

	p->ring_bytes = ring_size(p);
	p->ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "aod_events", 0, 0,
				    (__u32)p->ring_bytes, NULL);
	if (p->ring_fd < 0) {
		err = -errno;
		log_err("probe: creating the %zu MiB event ring: %s",
			p->ring_bytes >> 20, strerror(-err));
		return err;
	}
	p->rb = ring_buffer__new(p->ring_fd, on_sample, p, NULL);
	if (!p->rb) {
		err = -errno;
		log_err("probe: ring consumer: %s", strerror(-err));
		close(p->ring_fd);
		p->ring_fd = -1;
		return err;
	}
	return 0;
}

/* ---- the in-flight sweep (poll thread) ---------------------------------- */

struct sweep {
	struct aod_probes *p;
	struct probe_slot *s;
	uint64_t now, stuck_ns;
	unsigned expired, reported;
	bool tally; /* SMB: count in flight per tree */
};

/* One more SMB command in flight on (sesid, tid), into s->inflight. */
static void tally_inflight(struct probe_slot *s, uint64_t sesid, uint32_t tid)
{
	uint32_t i;

	for (i = 0; i < s->ninflight; i++)
		if (s->inflight[i].sesid == sesid && s->inflight[i].tid == tid)
			break;
	if (i == s->ninflight) {
		if (i == AOD_SMB_INFLIGHT_TREES) {
			s->inflight_untallied++;
			return;
		}
		s->inflight[i].sesid = sesid;
		s->inflight[i].tid = tid;
		s->inflight[i].count = 0;
		s->ninflight++;
	}
	s->inflight[i].count++;
}

static void emit_stuck(struct sweep *w, struct aod_raw_event *rec, uint64_t age)
{
	rec->h.ts_ns = w->now;
	rec->h.batch = w->p->sweep_seq;
	if (rec->h.kind == AOD_RAW_SMB_STUCK)
		rec->smb.latency_ns = age;
	else
		rec->blk.latency_ns = age;
	w->reported++;
	if (w->p->fn)
		w->p->fn(w->p->fn_ctx, rec);
}

/* One in-flight entry: report it once when stuck, expire it when too old. */
static bool sweep_entry(void *ctx, const void *key, const void *value)
{
	struct sweep *w = ctx;
	struct aod_tracked *t = &w->s->tracked;
	struct aod_raw_event rec;
	struct aod_tracked_op *op;
	struct aod_op_id id;
	uint64_t age;

	w->s->ops->inflight_entry(key, value, &id, &rec);
	age = w->now > id.start_ns ? w->now - id.start_ns : 0;
	op = aod_tracked_find(t, id.a, id.b);
	if (op && op->id.start_ns != id.start_ns && !(op->state & AOD_TRACKED_EXPIRED)) {
		aod_tracked_remove(t, op); /* an older op under the same name completed */
		op = NULL;
	}
	if (age >= w->p->inflight_timeout_ns) {
		op = op ? op : aod_tracked_insert(t, &id, &rec, AOD_TRACKED_EXPIRED);
		if (op)
			aod_tracked_expire(t, op);
		w->expired++;
		return true; /* delete it from the kernel's map (and no longer tallied) */
	}
	if (w->tally)
		tally_inflight(w->s, rec.smb.sesid, rec.smb.tid);
	if (op) {
		op->last_seen_ns = w->now;
	} else if (w->stuck_ns != AOD_THRESH_OFF && age >= w->stuck_ns) {
		op = aod_tracked_insert(t, &id, &rec, AOD_TRACKED_STUCK);
		if (op) {
			op->last_seen_ns = w->now;
			emit_stuck(w, &rec, age);
		}
	}
	return false;
}

/* Under p->lock. */
static void sweep_slot(struct aod_probes *p, struct probe_slot *s, uint64_t now)
{
	struct sweep w = { .p = p, .s = s, .now = now,
			   .stuck_ns = s->ops->stuck_threshold_ns(s->knobs),
			   .tally = s == &p->slot[AOD_PROBE_SMB] };
	bool want;
	int n;

	s->ninflight = 0;
	s->inflight_untallied = 0;
	n = probe_scan_map(&s->scan, s->po.inflight_fd, s->po.inflight_key_size, s->po.inflight_value_size,
			   sweep_entry, &w);
	if (n < 0)
		log_debug("probe %s: in-flight scan: %s", s->ops->name, strerror(-n));
	aod_tracked_forget_unseen(&s->tracked, now > STUCK_FORGET_NS ? now - STUCK_FORGET_NS : 0);
	s->inflight_expired += w.expired;
	s->stuck_reported += w.reported;
	want = s->tracked.nexpired > 0;
	if (want != s->late_watch && !s->ops->write_knobs(&s->po, s->knobs, want))
		s->late_watch = want;
}

static void sweep_all(struct aod_probes *p, uint64_t now)
{
	pthread_mutex_lock(&p->lock);
	p->sweep_seq++;
	for (int id = 0; id < AOD_PROBE_COUNT; id++)
		if (p->slot[id].loaded && p->slot[id].ops->inflight_entry)
			sweep_slot(p, &p->slot[id], now);
	pthread_mutex_unlock(&p->lock);
}

int aod_probes_poll(struct aod_probes *p, int timeout_ms)
{
	uint64_t now;
	int n, m;

	if (!p->rb)
		return -EINVAL;
	n = ring_buffer__poll(p->rb, timeout_ms);
	if (n < 0 && n != -EINTR)
		return n;
	/* records submitted without a wakeup: epoll did not report them */
	m = ring_buffer__consume(p->rb);
	if (m < 0)
		return m;
	now = aod_mono_ns();
	if (now >= p->next_sweep) {
		p->next_sweep = now + p->sweep_ns;
		sweep_all(p, now);
	}
	return (n > 0 ? n : 0) + m;
}

/* ---- attach ------------------------------------------------------------- */

static int load_mode(struct aod_probes *p, struct probe_slot *s, const char *mode,
		     char *err, size_t len)
{
	struct probe_load_env env = {
		.ring_fd = p->ring_fd,
		.wakeup_bytes = p->ring_bytes / 8 < MAX_WAKEUP_BYTES
					? p->ring_bytes / 8 : MAX_WAKEUP_BYTES,
		.rb = p->rb,
		.proc_fn = p->opts.proc_fn,
		.proc_ctx = p->opts.proc_ctx,
	};

	return s->ops->load(&s->po, mode, &env, s->knobs, err, len);
}

/* Tries each mode in order (or the forced one). On failure the slot's
 * reason lists what every mode said; the caller decides the state. */
static int probe_attach(struct aod_probes *p, enum aod_probe_id id)
{
	struct probe_slot *s = &p->slot[id];
	const char *force = p->force[id];
	uint64_t t0 = aod_mono_ns();
	char all[sizeof(s->reason)] = "", one[PROBE_ERR_LEN];
	size_t used = 0;
	int err = -ENOENT;

	if (force && !probe_mode_valid(force, s->ops->modes)) {
		snprintf(s->reason, sizeof(s->reason), "%s=%s: unknown attach mode",
			 s->ops->force_env, force);
		return -EINVAL;
	}
	for (const char *const *m = s->ops->modes; *m; m++) {
		if (force && strcmp(force, *m))
			continue;
		err = load_mode(p, s, *m, one, sizeof(one));
		if (!err) {
			s->loaded = true;
			s->late_watch = false;
			s->attach_ns = aod_mono_ns() - t0;
			snprintf(s->mode, sizeof(s->mode), "%s%s", *m,
				 s->po.mode_suffix ? s->po.mode_suffix : "");
			set_state(s, AOD_PROBE_ATTACHED, "");
			log_info("probe %s: attached (%s) in %.1f ms", s->ops->name, s->mode,
				 (double)s->attach_ns / 1e6);
			return 0;
		}
		log_debug("probe %s: %s: %s", s->ops->name, *m, one);
		if (used < sizeof(all))
			used += (size_t)snprintf(all + used, sizeof(all) - used, "%s%s: %s",
						 used ? "; " : "", *m, one);
	}
	s->mode[0] = '\0';
	snprintf(s->reason, sizeof(s->reason), "%s", all);
	return err;
}

/*
 * Attach a needed probe if its kernel side is there. From a tick (the
 * kernel side appeared late) a failure is retried a few ticks: a module
 * may still be initialising.
 */
static void try_attach(struct aod_probes *p, enum aod_probe_id id, bool from_tick)
{
	struct probe_slot *s = &p->slot[id];
	char why[128] = "";

	if (s->ops->kernel_side_present && !s->ops->kernel_side_present(why, sizeof(why))) {
		set_state(s, AOD_PROBE_WAITING, why);
		return;
	}
	if (from_tick && s->ops->kernel_side_present)
		log_info("probe %s: kernel side appeared (%s); attaching", s->ops->name, why);
	if (!probe_attach(p, id))
		return;
	if (from_tick && ++s->failed_attempts < s->ops->attach_retries) {
		s->state = AOD_PROBE_WAITING;
		return;
	}
	s->state = AOD_PROBE_FAILED;
	log_warn("probe %s: failed: %s", s->ops->name, s->reason);
}

int aod_probes_start(struct aod_probes *p)
{
	int err;

	pthread_mutex_lock(&p->lock);
	if (p->started) {
		pthread_mutex_unlock(&p->lock);
		return -EALREADY;
	}
	probe_raise_memlock();
	err = ring_create(p);
	if (err) {
		pthread_mutex_unlock(&p->lock);
		return err;
	}
	p->started = true;
	for (int id = 0; id < AOD_PROBE_COUNT; id++) {
		if (!probe_needed(&p->slot[id])) {
			set_state(&p->slot[id], AOD_PROBE_DISABLED, why_disabled(p, &p->slot[id]));
			continue;
		}
		try_attach(p, id, false);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* ---- reload, tick ------------------------------------------------------- */

static int write_knobs(struct aod_probes *p, struct probe_slot *s)
{
	int err = s->ops->write_knobs(&s->po, s->knobs, s->late_watch);

	/* test hook (AOD_TEST_FAIL_KNOB_WRITES): a write that went in, then failed,
	 * as when a later map of the set cannot be written */
	if (!err && p->test_fail_knob_writes > 0) {
		p->test_fail_knob_writes--;
		err = -EIO;
	}
	return err;
}

int aod_probes_apply_config(struct aod_probes *p, const struct aod_config *cfg)
{
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	aod_config_unref(p->cfg);
	p->cfg = aod_config_ref(cfg);
	compute_knobs(p);
	for (int id = 0; id < AOD_PROBE_COUNT && p->started; id++) {
		struct probe_slot *s = &p->slot[id];
		int err;

		if (s->loaded) {
			err = write_knobs(p, s);
			if (err) {
				log_err("probe %s: writing knobs: %s", s->ops->name, strerror(-err));
				if (!ret)
					ret = err;
			}
		} else if (probe_needed(s) && s->state == AOD_PROBE_DISABLED) {
			s->failed_attempts = 0;
			set_state(s, AOD_PROBE_WAITING, "needed by the new config; "
				  "attaching at the next tick");
		} else if (!probe_needed(s)) {
			set_state(s, AOD_PROBE_DISABLED, why_disabled(p, s));
		}
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* Knobs that depend on the host (block devices appear): recompute. */
static int refresh_knobs(struct aod_probes *p, struct probe_slot *s)
{
	void *k = malloc(s->ops->knobs_size);
	int err = 0;

	if (!k)
		return -ENOMEM;
	s->ops->compute_knobs(p->cfg, p->opts.record_all, k);
	if (!s->ops->knobs_equal(k, s->knobs)) {
		memcpy(s->knobs, k, s->ops->knobs_size);
		err = write_knobs(p, s);
	}
	free(k);
	return err;
}

int aod_probes_tick(struct aod_probes *p, uint64_t now_mono_ns)
{
	int ret = 0, err;

	(void)now_mono_ns;
	pthread_mutex_lock(&p->lock);
	for (int id = 0; id < AOD_PROBE_COUNT && p->started; id++) {
		struct probe_slot *s = &p->slot[id];

		if (s->state == AOD_PROBE_WAITING && !s->loaded)
			try_attach(p, id, true);
		if (s->loaded && s->ops->refresh_each_tick && (err = refresh_knobs(p, s)) && !ret)
			ret = err;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* ---- status, histograms ------------------------------------------------- */

void aod_probes_status(struct aod_probes *p, enum aod_probe_id id,
		       struct aod_probe_status *out)
{
	struct probe_slot *s;

	memset(out, 0, sizeof(*out));
	if ((unsigned)id >= AOD_PROBE_COUNT)
		return;
	s = &p->slot[id];
	pthread_mutex_lock(&p->lock);
	out->state = s->state;
	if (!p->started && out->state == AOD_PROBE_DISABLED)
		snprintf(out->reason, sizeof(out->reason), "not started");
	else
		snprintf(out->reason, sizeof(out->reason), "%s", s->reason);
	snprintf(out->mode, sizeof(out->mode), "%s", s->mode);
	out->inflight_expired = s->inflight_expired;
	out->stuck_reported = s->stuck_reported;
	out->late_matched = atomic_load(&s->late_matched);
	out->late_unmatched = atomic_load(&s->late_unmatched);
	out->tracked_evicted = s->tracked.evicted;
	out->attach_ns = s->attach_ns;
	if (s->loaded) {
		probe_sum_counters(s->po.counters_fd, out->counters);
		out->recursion_misses = probe_recursion_misses(s->po.obj);
	}
	pthread_mutex_unlock(&p->lock);
}

/* Under p->lock: add the user-space latencies of (a, b) to h. */
static void merge_late(const struct probe_slot *s, uint32_t a, uint32_t b, struct aod_hist *h)
{
	for (uint32_t i = 0; i < s->late.n; i++)
		if (s->late.v[i].a == a && s->late.v[i].b == b)
			aod_hist_merge(h, &s->late.v[i].h);
}

int aod_probes_prog_stats(struct aod_probes *p, enum aod_probe_id id,
			  struct aod_prog_stats *out, int max)
{
	int n = 0;

	if ((unsigned)id >= AOD_PROBE_COUNT)
		return 0;
	pthread_mutex_lock(&p->lock);
	if (p->slot[id].loaded)
		n = probe_prog_stats(p->slot[id].po.obj, out, max);
	pthread_mutex_unlock(&p->lock);
	return n;
}

int aod_probes_smb_hist(struct aod_probes *p, unsigned cmd, struct aod_hist *out)
{
	struct probe_slot *s = &p->slot[AOD_PROBE_SMB];
	int err;

	if (cmd >= AOD_SMB_NCMDS)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	err = s->loaded ? smb_probe_hist(&s->po, cmd, out) : -ENOENT;
	if (!err)
		merge_late(s, cmd, 0, out);
	pthread_mutex_unlock(&p->lock);
	return err;
}

int aod_probes_smb_share_hists(struct aod_probes *p, struct aod_smb_share_hist *out, int max)
{
	struct probe_slot *s = &p->slot[AOD_PROBE_SMB];
	int n;

	pthread_mutex_lock(&p->lock);
	n = s->loaded ? smb_probe_share_hists(&s->po, out, max) : -ENOENT;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int aod_probes_smb_err_counts(struct aod_probes *p, struct aod_smb_err_count *out, int max)
{
	struct probe_slot *s = &p->slot[AOD_PROBE_SMB];
	int n;

	pthread_mutex_lock(&p->lock);
	n = s->loaded ? smb_probe_err_counts(&s->po, out, max) : -ENOENT;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int aod_probes_smb_inflight(struct aod_probes *p, struct aod_smb_inflight *out, int max,
			    uint64_t *untallied)
{
	struct probe_slot *s = &p->slot[AOD_PROBE_SMB];
	int n = -ENOENT;

	pthread_mutex_lock(&p->lock);
	if (s->loaded) {
		n = (int)s->ninflight < max ? (int)s->ninflight : max;
		memcpy(out, s->inflight, (size_t)n * sizeof(*out));
		*untallied = s->inflight_untallied;
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

struct blk_hist_entry {
	struct aod_blk_hist_key key;
	struct aod_hist hist;
};

/* Copies every histogram out of the map; returns the count or -errno. */
static int blk_hist_copy(int fd, struct blk_hist_entry **out)
{
	struct aod_blk_hist_key key, next;
	struct blk_hist_entry *v = NULL;
	int n = 0, cap = 0, err;

	err = bpf_map_get_next_key(fd, NULL, &next);
	while (!err) {
		key = next;
		if (n == cap) {
			struct blk_hist_entry *nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(v, (size_t)cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n].key = key;
		if (!bpf_map_lookup_elem(fd, &key, &v[n].hist))
			n++;
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	*out = v;
	return n;
}

int aod_probes_blk_hist_foreach(struct aod_probes *p, aod_blk_hist_fn fn, void *ctx)
{
	struct probe_slot *s = &p->slot[AOD_PROBE_BLOCK];
	struct blk_hist_entry *v = NULL;
	int n, i;

	pthread_mutex_lock(&p->lock);
	n = s->loaded ? blk_hist_copy(blk_probe_hist_map_fd(&s->po), &v) : -ENOENT;
	for (i = 0; i < n; i++)
		merge_late(s, v[i].key.dev, v[i].key.op, &v[i].hist);
	pthread_mutex_unlock(&p->lock);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		if (fn(ctx, v[i].key.dev, (enum aod_blk_op)v[i].key.op, &v[i].hist)) {
			i++;
			break;
		}
	free(v);
	return i;
}

#define TCP_HIST_COPY_MAX (AOD_TCP_NHISTS * AOD_TCP_PORTS_MAX)

int aod_probes_tcp_hist_foreach(struct aod_probes *p, aod_tcp_hist_fn fn, void *ctx)
{
	struct probe_slot *s = &p->slot[AOD_PROBE_TCP];
	struct tcp_hist_entry *v = malloc(TCP_HIST_COPY_MAX * sizeof(*v));
	int n = 0, i;

	if (!v)
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	if (!s->loaded)
		n = -ENOENT;
	for (int k = 0; k < AOD_TCP_NHISTS && n >= 0; k++) {
		int got = tcp_probe_hist_copy(&s->po, (enum aod_tcp_hist_kind)k, v + n,
					      TCP_HIST_COPY_MAX - n);

		n = got < 0 ? got : n + got;
	}
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n; i++)
		if (fn(ctx, v[i].kind, v[i].port, &v[i].hist)) {
			i++;
			break;
		}
	free(v);
	return n < 0 ? n : i;
}

int aod_probes_tcp_counters(struct aod_probes *p, uint64_t out[AOD_TCP_CNT_MAX])
{
	struct probe_slot *s = &p->slot[AOD_PROBE_TCP];
	int err;

	pthread_mutex_lock(&p->lock);
	err = s->loaded ? tcp_probe_counters(&s->po, out) : -ENOENT;
	pthread_mutex_unlock(&p->lock);
	return err;
}

/* ---- teardown ----------------------------------------------------------- */

void aod_probes_free(struct aod_probes *p)
{
	if (!p)
		return;
	for (int id = 0; id < AOD_PROBE_COUNT; id++) {
		struct probe_slot *s = &p->slot[id];

		if (s->loaded)
			s->ops->destroy(&s->po);
		aod_tracked_free(&s->tracked);
		probe_scan_buf_free(&s->scan);
		free(s->late.v);
		free(s->knobs);
	}
	ring_buffer__free(p->rb);
	if (p->ring_fd >= 0)
		close(p->ring_fd);
	pthread_mutex_destroy(&p->lock);
	aod_config_unref(p->cfg);
	free(p);
}
