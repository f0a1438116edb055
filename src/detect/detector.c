// SPDX-License-Identifier: MIT
/*
 * Sliding-window anomaly rules (see detector.h for the semantics).
 *
 * Each rule owns a ring of the unconsumed events that counted for it, in
 * time order, pruned to the window ending at the rule's newest event:
 * (newest - W, newest]. That span is shorter than W, so "some interval of
 * length W holds N events" is simply "the ring holds N events", checked
 * at each insertion: O(1) amortised per event per rule (each event is
 * stored once and leaves once; an out-of-order event walks back over the
 * few newer ones).
 *
 * The ring starts small and doubles up to AOD_DETECTOR_WINDOW_CAP; beyond
 * that, counted events go to an "overflow" summary (count, per-key tallies,
 * worst events), one block in time that leaves the window with its newest
 * event and is consumed with the rule.
 *
 * Edge cases: acceptable_count 0 acts as 1; emergency_threshold_ns 0
 * disables emergencies (and stuck reports) for that rule.
 */
#include "detect/detector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/tally.h"

#define RING_INITIAL_CAP 64

/* Counted events the full ring could not keep. */
struct overflow {
	uint32_t count;
	uint64_t last_mono;
	struct aod_tally tally;
	struct aod_worst worst;
};

/* The stuck ops of one sweep batch that this rule reports. */
struct stuck_batch {
	bool open;
	uint32_t batch;
	uint64_t mono;   /* when the sweep found them */
	uint32_t count;
	uint64_t oldest_start;
	struct aod_tally tally;
	struct aod_worst worst;
};

struct rule_state {
	struct aod_rule rule;
	struct aod_event *ring; /* time order */
	uint32_t cap, head, len;
	struct overflow ovf;
	uint64_t newest;      /* newest counted event seen */
	uint64_t quiet_until; /* no firing before this (last fire + W) */
	bool due;             /* fire at due_at: the condition was met while quiet */
	bool due_emergency;
	uint64_t due_at;
	struct stuck_batch stuck;
};

struct aod_detector {
	uint64_t window_ns;
	uint32_t nrules;
	struct rule_state *rules[AOD_MAX_RULES];
	aod_anomaly_fn fn;
	void *fn_ctx;
	int64_t wall_minus_mono; /* from the newest event: wall time of any instant */
	uint64_t last_id;
	struct aod_detector_stats stats;
	struct aod_tally scratch_tally; /* kept here: too big for a thread stack frame */
	struct aod_anomaly scratch;
};

/* ---- which events count ---- */

static bool event_counts(const struct aod_rule *rule, const struct aod_event *ev)
{
	uint64_t thr;

	if (rule->source != aod_event_source(ev) || (ev->flags & AOD_EVF_WAS_STUCK))
		return false;
	switch (rule->type) {
	case AOD_RULE_LATENCY:
		if (ev->kind == AOD_EVENT_SMB_SLOW)
			return aod_rule_smb_threshold(rule, ev->smb.cmd, &thr) &&
			       ev->smb.latency_ns >= thr;
		if (ev->kind == AOD_EVENT_BLK_SLOW)
			return aod_rule_blk_threshold(rule, ev->blk.disk, &thr) &&
			       ev->blk.latency_ns >= thr;
		if (ev->kind == AOD_EVENT_TCP_CONNECT)
			return aod_rule_tcp_threshold(rule, ev->tcp.rport, &thr) &&
			       ev->tcp.latency_ns >= thr;
		return false;
	case AOD_RULE_ERROR:
		if (ev->kind == AOD_EVENT_SMB_ERR)
			return aod_rule_error_tracked(rule, ev->smb.status, ev->smb.rc);
		if (ev->kind == AOD_EVENT_BLK_ERR)
			return aod_rule_error_tracked(rule, 0, ev->blk.error);
		if (ev->kind == AOD_EVENT_PROC_EXIT)
			return aod_rule_proc_exit_counts(rule, ev->comm, ev->proc.exit_code,
							 ev->proc.signal);
		/* tcpretrans / tcpreset: every one counts */
		return (ev->kind == AOD_EVENT_TCP_RETRANS && rule->tool == AOD_TOOL_TCPRETRANS) ||
		       (ev->kind == AOD_EVENT_TCP_RESET && rule->tool == AOD_TOOL_TCPRESET);
	default:
		return false;
	}
}

static bool is_emergency(const struct aod_rule *rule, const struct aod_event *ev)
{
	return rule->type == AOD_RULE_LATENCY && rule->emergency_threshold_ns > 0 &&
	       aod_event_latency_ns(ev) >= rule->emergency_threshold_ns;
}

/* Does this rule report this stuck op? Same keys as its slow ops, and the
 * op's age has reached the rule's emergency threshold. */
static bool stuck_counts(const struct aod_rule *rule, const struct aod_event *ev)
{
	uint64_t thr;

	if (rule->type != AOD_RULE_LATENCY || rule->source != aod_event_source(ev) ||
	    !rule->emergency_threshold_ns ||
	    aod_event_latency_ns(ev) < rule->emergency_threshold_ns)
		return false;
	if (ev->kind == AOD_EVENT_SMB_STUCK)
		return aod_rule_smb_threshold(rule, ev->smb.cmd, &thr);
	return aod_rule_blk_threshold(rule, ev->blk.disk, &thr);
}

/* ---- time ---- */

/* t can no longer be in a window ending at now: (now - W, now]. */
static bool too_old(uint64_t t, uint64_t now, uint64_t window_ns)
{
	return t <= now && now - t >= window_ns;
}

static uint64_t wall_at(const struct aod_detector *d, uint64_t mono)
{
	return (uint64_t)((int64_t)mono + d->wall_minus_mono);
}

static uint64_t next_id(struct aod_detector *d, uint64_t wall)
{
	d->last_id = wall > d->last_id ? wall : d->last_id + 1;
	return d->last_id;
}

/* ---- the ring of counted events ---- */

static struct aod_event *ring_at(struct rule_state *rs, uint32_t i)
{
	return &rs->ring[(rs->head + i) % rs->cap];
}

static int ring_grow(struct rule_state *rs)
{
	uint32_t cap = rs->cap ? rs->cap * 2 : RING_INITIAL_CAP;
	struct aod_event *ring;

	if (cap > AOD_DETECTOR_WINDOW_CAP)
		cap = AOD_DETECTOR_WINDOW_CAP;
	ring = malloc((size_t)cap * sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	for (uint32_t i = 0; i < rs->len; i++)
		ring[i] = *ring_at(rs, i);
	free(rs->ring);
	rs->ring = ring;
	rs->cap = cap;
	rs->head = 0;
	return 0;
}

static void ring_pop_front(struct rule_state *rs)
{
	rs->head = (rs->head + 1) % rs->cap;
	rs->len--;
}

static void overflow_reset(struct overflow *o)
{
	o->count = 0;
	o->last_mono = 0;
	aod_tally_reset(&o->tally);
	o->worst.n = 0;
}

/* Drop what can no longer be in a window ending at now. */
static void prune(struct rule_state *rs, uint64_t now, uint64_t window_ns)
{
	while (rs->len && too_old(ring_at(rs, 0)->mono_ns, now, window_ns))
		ring_pop_front(rs);
	if (rs->ovf.count && too_old(rs->ovf.last_mono, now, window_ns))
		overflow_reset(&rs->ovf);
}

/* Insert in time order: usually at the end, else after the newer ones. */
static void ring_insert(struct rule_state *rs, const struct aod_event *ev)
{
	uint32_t pos = rs->len++;

	while (pos > 0 && ring_at(rs, pos - 1)->mono_ns > ev->mono_ns) {
		*ring_at(rs, pos) = *ring_at(rs, pos - 1);
		pos--;
	}
	*ring_at(rs, pos) = *ev;
}

/* Returns false if the event went to the overflow summary. */
static bool rule_store(struct rule_state *rs, const struct aod_event *ev)
{
	if (rs->len == rs->cap &&
	    (rs->cap == AOD_DETECTOR_WINDOW_CAP || ring_grow(rs) < 0)) {
		rs->ovf.count++;
		if (ev->mono_ns > rs->ovf.last_mono)
			rs->ovf.last_mono = ev->mono_ns;
		aod_tally_add(&rs->ovf.tally, &rs->rule, ev);
		aod_worst_add(&rs->ovf.worst, rs->rule.type, ev);
		return false;
	}
	ring_insert(rs, ev);
	return true;
}

static uint32_t window_count(const struct rule_state *rs)
{
	return rs->len + rs->ovf.count;
}

static uint32_t needed(const struct rule_state *rs)
{
	return rs->rule.acceptable_count ? rs->rule.acceptable_count : 1;
}

/* ---- firing ---- */

static void emit(struct aod_detector *d, struct aod_anomaly *a)
{
	d->stats.anomalies++;
	if (d->fn)
		d->fn(a, d->fn_ctx);
}

static void anomaly_header(struct aod_detector *d, const struct rule_state *rs,
			   struct aod_anomaly *a, enum aod_rule_type type, uint64_t t)
{
	const struct aod_rule *r = &rs->rule;

	memset(a, 0, sizeof(*a));
	a->id = next_id(d, wall_at(d, t));
	snprintf(a->rule, sizeof(a->rule), "%s", r->name);
	a->source = r->source;
	a->type = type;
	a->emergency_threshold_ns = r->type == AOD_RULE_LATENCY ? r->emergency_threshold_ns : 0;
	a->window_end_ns = wall_at(d, t);
}

/*
 * Fire the window ending at t, (t - W, t]: its events (and the overflow)
 * make the anomaly and are consumed; events after t stay. The rule is then
 * quiet until t + W.
 */
static void fire(struct aod_detector *d, struct rule_state *rs, uint64_t t, bool emergency)
{
	struct aod_tally *tally = &d->scratch_tally;
	struct aod_anomaly *a = &d->scratch;
	struct aod_worst w = { .n = 0 };

	prune(rs, t, d->window_ns);
	anomaly_header(d, rs, a, rs->rule.type, t);
	a->emergency = emergency || rs->due_emergency;
	a->acceptable_count = rs->rule.acceptable_count;
	a->window_start_ns = a->window_end_ns > d->window_ns ? a->window_end_ns - d->window_ns : 0;
	aod_tally_reset(tally);
	while (rs->len && ring_at(rs, 0)->mono_ns <= t) {
		const struct aod_event *ev = ring_at(rs, 0);

		a->total++;
		aod_tally_add(tally, &rs->rule, ev);
		aod_worst_add(&w, rs->rule.type, ev);
		ring_pop_front(rs);
	}
	if (rs->ovf.count) {
		a->total += rs->ovf.count;
		a->dropped = rs->ovf.count;
		aod_tally_merge(tally, &rs->ovf.tally);
		for (uint32_t i = 0; i < rs->ovf.worst.n; i++)
			aod_worst_add(&w, rs->rule.type, &rs->ovf.worst.ev[i]);
		overflow_reset(&rs->ovf);
	}
	aod_tally_to_anomaly(tally, a);
	a->nworst = w.n;
	memcpy(a->worst, w.ev, w.n * sizeof(w.ev[0]));
	rs->quiet_until = t + d->window_ns;
	rs->due = false;
	rs->due_emergency = false;
	emit(d, a);
}

/* The condition holds at t: fire now, or when the quiet period ends. */
static int condition_met(struct aod_detector *d, struct rule_state *rs, uint64_t t,
			 bool emergency)
{
	if (t >= rs->quiet_until) {
		fire(d, rs, t, emergency);
		return 1;
	}
	rs->due = true;
	rs->due_at = rs->quiet_until;
	rs->due_emergency |= emergency;
	return 0;
}

/* Fire a pending anomaly whose time is before (or, inclusive, at) t. */
static int fire_due(struct aod_detector *d, struct rule_state *rs, uint64_t t, bool inclusive)
{
	if (!rs->due || rs->due_at > t || (!inclusive && rs->due_at == t))
		return 0;
	fire(d, rs, rs->due_at, false);
	return 1;
}

/* ---- stuck ops ---- */

static void stuck_reset(struct stuck_batch *b)
{
	b->open = false;
	b->count = 0;
	b->oldest_start = UINT64_MAX;
	aod_tally_reset(&b->tally);
	b->worst.n = 0;
}

static int stuck_fire(struct aod_detector *d, struct rule_state *rs)
{
	struct stuck_batch *b = &rs->stuck;
	struct aod_anomaly *a = &d->scratch;

	if (!b->open)
		return 0;
	anomaly_header(d, rs, a, AOD_RULE_STUCK, b->mono);
	a->window_start_ns = wall_at(d, b->oldest_start);
	a->total = b->count;
	aod_tally_to_anomaly(&b->tally, a);
	a->nworst = b->worst.n;
	memcpy(a->worst, b->worst.ev, b->worst.n * sizeof(b->worst.ev[0]));
	d->stats.stuck_ops += b->count;
	stuck_reset(b);
	emit(d, a);
	return 1;
}

/* Fire the open batches that ev does not belong to (all of them if ev is NULL). */
static int stuck_flush_before(struct aod_detector *d, const struct aod_event *ev)
{
	int fired = 0;

	for (uint32_t i = 0; i < d->nrules; i++) {
		struct stuck_batch *b = &d->rules[i]->stuck;

		if (b->open && (!ev || !aod_event_is_stuck(ev) || ev->batch != b->batch ||
				ev->mono_ns != b->mono))
			fired += stuck_fire(d, d->rules[i]);
	}
	return fired;
}

static int add_stuck(struct aod_detector *d, const struct aod_event *ev)
{
	bool counted = false;
	int fired = stuck_flush_before(d, ev);

	for (uint32_t i = 0; i < d->nrules; i++) {
		struct rule_state *rs = d->rules[i];
		struct stuck_batch *b = &rs->stuck;
		uint64_t age = aod_event_latency_ns(ev);

		if (!stuck_counts(&rs->rule, ev))
			continue;
		counted = true;
		if (!b->open) {
			b->open = true;
			b->batch = ev->batch;
			b->mono = ev->mono_ns;
		}
		b->count++;
		if (ev->mono_ns - age < b->oldest_start)
			b->oldest_start = ev->mono_ns > age ? ev->mono_ns - age : 0;
		aod_tally_add(&b->tally, &rs->rule, ev);
		aod_worst_add(&b->worst, AOD_RULE_STUCK, ev);
	}
	d->stats.events_counted += counted;
	return fired;
}

/* ---- feeding ---- */

static int rule_add(struct aod_detector *d, struct rule_state *rs, const struct aod_event *ev)
{
	bool emergency = is_emergency(&rs->rule, ev);

	if (rs->newest && too_old(ev->mono_ns, rs->newest, d->window_ns)) {
		d->stats.events_late++;
		return 0;
	}
	if (ev->mono_ns > rs->newest) {
		rs->newest = ev->mono_ns;
		prune(rs, rs->newest, d->window_ns);
	}
	if (!rule_store(rs, ev))
		d->stats.events_dropped++;
	if (rs->due || emergency || window_count(rs) >= needed(rs))
		return condition_met(d, rs, rs->newest, emergency);
	return 0;
}

int aod_detector_add(struct aod_detector *d, const struct aod_event *ev)
{
	bool counted = false;
	int fired = 0;

	d->stats.events_in++;
	d->wall_minus_mono = (int64_t)(ev->wall_ns - ev->mono_ns);
	if (aod_event_is_stuck(ev))
		return add_stuck(d, ev);
	fired += stuck_flush_before(d, ev);
	for (uint32_t i = 0; i < d->nrules; i++) {
		struct rule_state *rs = d->rules[i];

		fired += fire_due(d, rs, ev->mono_ns, false);
		if (!event_counts(&rs->rule, ev))
			continue;
		counted = true;
		fired += rule_add(d, rs, ev);
	}
	d->stats.events_counted += counted;
	return fired;
}

int aod_detector_advance(struct aod_detector *d, uint64_t now_mono)
{
	int fired = 0;

	for (uint32_t i = 0; i < d->nrules; i++) {
		struct rule_state *rs = d->rules[i];

		if (rs->stuck.open && rs->stuck.mono < now_mono)
			fired += stuck_fire(d, rs);
		fired += fire_due(d, rs, now_mono, true);
	}
	return fired;
}

int aod_detector_flush(struct aod_detector *d)
{
	return stuck_flush_before(d, NULL);
}

uint64_t aod_detector_next_due(const struct aod_detector *d)
{
	uint64_t next = UINT64_MAX;

	for (uint32_t i = 0; i < d->nrules; i++) {
		const struct rule_state *rs = d->rules[i];

		if (rs->due && rs->due_at < next)
			next = rs->due_at;
		if (rs->stuck.open && rs->stuck.mono < next)
			next = rs->stuck.mono;
	}
	return next;
}

/* ---- life cycle and reload ---- */

static void rule_state_free(struct rule_state *rs)
{
	if (!rs)
		return;
	free(rs->ring);
	free(rs);
}

static struct rule_state *take_matching(struct rule_state **old, uint32_t nold,
					const struct aod_rule *r)
{
	for (uint32_t i = 0; i < nold; i++) {
		struct rule_state *rs = old[i];

		if (rs && rs->rule.source == r->source && rs->rule.type == r->type &&
		    strcmp(rs->rule.name, r->name) == 0) {
			old[i] = NULL;
			return rs;
		}
	}
	return NULL;
}

/*
 * A kept window under the new rule: events the new rule would not count are
 * dropped (the overflow summary cannot be re-checked, so it goes too); what
 * is left is due now if it meets the new rule, and no longer due if not.
 */
static void refilter(struct rule_state *rs)
{
	uint32_t kept = 0;
	bool emergency = false;

	for (uint32_t i = 0; i < rs->len; i++) {
		struct aod_event *ev = ring_at(rs, i);

		if (!event_counts(&rs->rule, ev))
			continue;
		emergency |= is_emergency(&rs->rule, ev);
		if (kept != i)
			*ring_at(rs, kept) = *ev;
		kept++;
	}
	rs->len = kept;
	overflow_reset(&rs->ovf);
	rs->due = kept && (emergency || kept >= needed(rs));
	rs->due_emergency = rs->due && emergency;
	rs->due_at = rs->quiet_until > rs->newest ? rs->quiet_until : rs->newest;
}

int aod_detector_set_config(struct aod_detector *d, const struct aod_config *cfg)
{
	struct rule_state *fresh[AOD_MAX_RULES] = { NULL };
	struct rule_state *next[AOD_MAX_RULES];
	uint32_t n = cfg->nrules < AOD_MAX_RULES ? cfg->nrules : AOD_MAX_RULES;

	/* allocate first, so that a failure leaves the running rules intact */
	for (uint32_t i = 0; i < n; i++) {
		fresh[i] = calloc(1, sizeof(*fresh[i]));
		if (!fresh[i]) {
			for (uint32_t j = 0; j < i; j++)
				free(fresh[j]);
			return -ENOMEM;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct aod_rule *r = &cfg->rules[i];
		struct rule_state *rs = take_matching(d->rules, d->nrules, r);

		if (rs) {
			free(fresh[i]);
		} else {
			rs = fresh[i];
			overflow_reset(&rs->ovf);
			stuck_reset(&rs->stuck);
		}
		rs->rule = *r;
		refilter(rs);
		next[i] = rs;
	}
	for (uint32_t i = 0; i < d->nrules; i++)
		rule_state_free(d->rules[i]);
	memcpy(d->rules, next, n * sizeof(next[0]));
	d->nrules = n;
	d->window_ns = (uint64_t)(cfg->watch_interval_sec ? cfg->watch_interval_sec : 1) *
		       1000000000ULL;
	return 0;
}

struct aod_detector *aod_detector_new(const struct aod_config *cfg, aod_anomaly_fn fn,
				      void *ctx)
{
	struct aod_detector *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->fn = fn;
	d->fn_ctx = ctx;
	if (aod_detector_set_config(d, cfg) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

void aod_detector_free(struct aod_detector *d)
{
	if (!d)
		return;
	for (uint32_t i = 0; i < d->nrules; i++)
		rule_state_free(d->rules[i]);
	free(d);
}

void aod_detector_get_stats(const struct aod_detector *d, struct aod_detector_stats *out)
{
	*out = d->stats;
}
