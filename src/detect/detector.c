// SPDX-License-Identifier: MIT
/*
 * Windowed anomaly rules (see detector.h for the semantics).
 *
 * Each rule owns a ring of the events that counted for it, in arrival
 * order. The ring starts small and doubles up to AOD_DETECTOR_WINDOW_CAP;
 * when it is full, events that can no longer fall in any future window
 * are dropped from the front, and if it is still full the event goes to
 * an "overflow" summary (count, per-key tallies, worst events) instead of
 * the ring. The overflow summary is one block in time: it ages out when
 * its newest event leaves the window, and it is consumed with the rule.
 *
 * add() is O(1) amortised per rule; evaluate() walks each ring once or
 * twice (at most AOD_DETECTOR_WINDOW_CAP entries), once per interval.
 *
 * Edge cases: an empty window never fires (acceptable_count 0 acts as 1);
 * emergency_threshold_ns 0 disables emergencies for that rule; a reload
 * keeps a window when name, source and type all persist.
 */
#include "detect/detector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_INITIAL_CAP 64
#define TALLY_CAP (2 * AOD_ANOMALY_MAX_KEYS) /* distinct keys kept apart */
#define OTHER_KEY_NAME "(other)"

/* Counts per key while an anomaly is built (and for overflowed events). */
struct key_tally {
	uint64_t id;
	uint32_t count;
	uint64_t threshold_ns;
	uint64_t max_latency_ns;
	char name[AOD_KEY_LEN];
};

struct tally {
	uint32_t n;
	struct key_tally keys[TALLY_CAP];
	uint32_t other_count;     /* keys beyond TALLY_CAP */
	uint64_t other_max_ns;
};

/* The N events an anomaly shows: slowest (latency) or first (errors). */
struct worst {
	uint32_t n;
	struct aod_event ev[AOD_ANOMALY_WORST];
};

/* Counted events the full ring could not keep. */
struct overflow {
	uint32_t count;
	uint64_t last_mono;
	struct tally tally;
	struct worst worst;
};

struct rule_state {
	struct aod_rule rule;
	struct aod_event *ring;
	uint32_t cap;
	uint32_t head;
	uint32_t len;
	struct overflow ovf;
	bool emergency_pending;
};

struct aod_detector {
	uint64_t window_ns;
	uint32_t nrules;
	struct rule_state *rules[AOD_MAX_RULES];
	uint64_t last_id;
	struct aod_detector_stats stats;
	struct tally scratch_tally;   /* kept here: too big for a thread stack frame */
	struct aod_anomaly scratch;
};

/* ---- which events count ---- */

static bool event_counts(const struct aod_rule *rule, const struct aod_event *ev)
{
	uint64_t thr;

	if (rule->source != aod_event_source(ev))
		return false;
	switch (rule->type) {
	case AOD_RULE_LATENCY:
		if (ev->kind == AOD_EVENT_SMB_SLOW)
			return aod_rule_smb_threshold(rule, ev->smb.cmd, &thr) &&
			       ev->smb.latency_ns >= thr;
		if (ev->kind == AOD_EVENT_BLK_SLOW)
			return aod_rule_blk_threshold(rule, ev->blk.disk, &thr) &&
			       ev->blk.latency_ns >= thr;
		return false;
	case AOD_RULE_ERROR:
		if (ev->kind == AOD_EVENT_SMB_ERR)
			return aod_rule_error_tracked(rule, ev->smb.status, ev->smb.rc);
		if (ev->kind == AOD_EVENT_BLK_ERR)
			return aod_rule_error_tracked(rule, 0, ev->blk.error);
		return false;
	default:
		return false;
	}
}

static bool is_emergency(const struct aod_rule *rule, const struct aod_event *ev)
{
	return rule->type == AOD_RULE_LATENCY && rule->emergency_threshold_ns > 0 &&
	       aod_event_latency_ns(ev) >= rule->emergency_threshold_ns;
}

/* ---- keys: a command, a device or an error code ---- */

#define KEY_ERRNO_BIT (1ULL << 32)
#define KEY_RAW_BIT (2ULL << 32)

static uint32_t neg_errno(int32_t rc)
{
	return rc < 0 ? (uint32_t)-(int64_t)rc : (uint32_t)rc;
}

/*
 * Error keys are merged by display name: an NTSTATUS with a name is its
 * own key; otherwise statuses that map to the same errno share one.
 */
static uint64_t error_key(uint32_t status, int32_t rc, char *name, size_t len)
{
	const char *s = status ? aod_ntstatus_name(status) : NULL;
	const char *e = rc ? aod_errno_name((int)neg_errno(rc)) : NULL;

	if (s) {
		snprintf(name, len, "%s", s);
		return status;
	}
	if (e) {
		snprintf(name, len, "%s", e);
		return KEY_ERRNO_BIT | neg_errno(rc);
	}
	if (status) {
		snprintf(name, len, "0x%08X", status);
		return status;
	}
	snprintf(name, len, "rc=%d", rc);
	return KEY_RAW_BIT | (uint32_t)rc;
}

static uint64_t event_key(const struct aod_rule *rule, const struct aod_event *ev,
			  char *name, size_t len, uint64_t *threshold_ns)
{
	const char *cmd;

	*threshold_ns = 0;
	switch (ev->kind) {
	case AOD_EVENT_SMB_SLOW:
		cmd = aod_smb_cmd_name(ev->smb.cmd);
		if (cmd)
			snprintf(name, len, "%s", cmd);
		else
			snprintf(name, len, "SMB2_CMD_%u", ev->smb.cmd);
		if (!aod_rule_smb_threshold(rule, ev->smb.cmd, threshold_ns))
			*threshold_ns = 0;
		return ev->smb.cmd;
	case AOD_EVENT_BLK_SLOW:
		if (ev->blk.disk[0])
			snprintf(name, len, "%s", ev->blk.disk);
		else
			snprintf(name, len, "%u:%u", ev->blk.dev >> 20, ev->blk.dev & 0xfffff);
		if (!aod_rule_blk_threshold(rule, ev->blk.disk, threshold_ns))
			*threshold_ns = 0;
		return ev->blk.dev;
	case AOD_EVENT_SMB_ERR:
		return error_key(ev->smb.status, ev->smb.rc, name, len);
	case AOD_EVENT_BLK_ERR:
		return error_key(0, ev->blk.error, name, len);
	case AOD_EVENT_SMB_RECONNECT: /* never counted (event_counts), so never keyed */
		break;
	}
	snprintf(name, len, "?");
	return 0;
}

static void tally_reset(struct tally *t)
{
	t->n = 0;
	t->other_count = 0;
	t->other_max_ns = 0;
}

static struct key_tally *tally_find(struct tally *t, uint64_t id)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->keys[i].id == id)
			return &t->keys[i];
	return NULL;
}

static void tally_add(struct tally *t, const struct aod_rule *rule, const struct aod_event *ev)
{
	uint64_t lat = rule->type == AOD_RULE_LATENCY ? aod_event_latency_ns(ev) : 0;
	char name[AOD_KEY_LEN];
	uint64_t thr;
	uint64_t id = event_key(rule, ev, name, sizeof(name), &thr);
	struct key_tally *k = tally_find(t, id);

	if (!k) {
		if (t->n == TALLY_CAP) {
			t->other_count++;
			if (lat > t->other_max_ns)
				t->other_max_ns = lat;
			return;
		}
		k = &t->keys[t->n++];
		k->id = id;
		k->count = 0;
		k->threshold_ns = thr;
		k->max_latency_ns = 0;
		memcpy(k->name, name, sizeof(k->name));
	}
	k->count++;
	if (lat > k->max_latency_ns)
		k->max_latency_ns = lat;
}

static void tally_merge(struct tally *dst, const struct tally *src)
{
	for (uint32_t i = 0; i < src->n; i++) {
		const struct key_tally *s = &src->keys[i];
		struct key_tally *k = tally_find(dst, s->id);

		if (!k && dst->n < TALLY_CAP) {
			k = &dst->keys[dst->n++];
			*k = *s;
			continue;
		}
		if (!k) {
			dst->other_count += s->count;
			if (s->max_latency_ns > dst->other_max_ns)
				dst->other_max_ns = s->max_latency_ns;
			continue;
		}
		k->count += s->count;
		if (s->max_latency_ns > k->max_latency_ns)
			k->max_latency_ns = s->max_latency_ns;
	}
	dst->other_count += src->other_count;
	if (src->other_max_ns > dst->other_max_ns)
		dst->other_max_ns = src->other_max_ns;
}

static int key_cmp(const void *pa, const void *pb)
{
	const struct key_tally *a = pa, *b = pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Most frequent keys first; what does not fit is summed as "(other)". */
static void tally_to_anomaly(struct tally *t, struct aod_anomaly *a)
{
	uint32_t room = AOD_ANOMALY_MAX_KEYS;
	uint32_t other = t->other_count;
	uint64_t other_max = t->other_max_ns;

	qsort(t->keys, t->n, sizeof(t->keys[0]), key_cmp);
	if (t->n > room || other)
		room--; /* keep the last slot for "(other)" */
	a->nkeys = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct key_tally *k = &t->keys[i];

		if (i >= room) {
			other += k->count;
			if (k->max_latency_ns > other_max)
				other_max = k->max_latency_ns;
			continue;
		}
		struct aod_anomaly_key *out = &a->keys[a->nkeys++];

		snprintf(out->key, sizeof(out->key), "%s", k->name);
		out->count = k->count;
		out->threshold_ns = k->threshold_ns;
		out->max_latency_ns = k->max_latency_ns;
	}
	if (other) {
		struct aod_anomaly_key *out = &a->keys[a->nkeys++];

		snprintf(out->key, sizeof(out->key), "%s", OTHER_KEY_NAME);
		out->count = other;
		out->threshold_ns = 0;
		out->max_latency_ns = other_max;
	}
}

/* ---- worst events ---- */

/* Does a rank before b? Latency: slower first. Errors: earlier first. */
static bool worse(enum aod_rule_type type, const struct aod_event *a, const struct aod_event *b)
{
	if (type == AOD_RULE_LATENCY)
		return aod_event_latency_ns(a) > aod_event_latency_ns(b);
	return a->mono_ns < b->mono_ns;
}

static void worst_add(struct worst *w, enum aod_rule_type type, const struct aod_event *ev)
{
	uint32_t pos = w->n;

	/* ties keep arrival order: a newcomer goes after its equals */
	while (pos > 0 && worse(type, ev, &w->ev[pos - 1]))
		pos--;
	if (pos >= AOD_ANOMALY_WORST)
		return;
	uint32_t last = w->n < AOD_ANOMALY_WORST ? w->n : AOD_ANOMALY_WORST - 1;

	memmove(&w->ev[pos + 1], &w->ev[pos], (last - pos) * sizeof(w->ev[0]));
	w->ev[pos] = *ev;
	if (w->n < AOD_ANOMALY_WORST)
		w->n++;
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

/* t is old relative to now if it can no longer be in (now - W, now]. */
static bool too_old(uint64_t t, uint64_t now, uint64_t window_ns)
{
	return t <= now && now - t >= window_ns;
}

static void overflow_reset(struct overflow *o)
{
	o->count = 0;
	o->last_mono = 0;
	tally_reset(&o->tally);
	o->worst.n = 0;
}

static void overflow_add(struct overflow *o, const struct aod_rule *rule, const struct aod_event *ev)
{
	o->count++;
	if (ev->mono_ns > o->last_mono)
		o->last_mono = ev->mono_ns;
	tally_add(&o->tally, rule, ev);
	worst_add(&o->worst, rule->type, ev);
}

/* Returns false if the event went to the overflow summary. */
static bool rule_store(struct rule_state *rs, const struct aod_event *ev, uint64_t window_ns)
{
	/* events the newest one has pushed out of every future window */
	while (rs->len == rs->cap && rs->len > 0 &&
	       too_old(ring_at(rs, 0)->mono_ns, ev->mono_ns, window_ns)) {
		rs->head = (rs->head + 1) % rs->cap;
		rs->len--;
	}
	if (rs->len == rs->cap &&
	    (rs->cap == AOD_DETECTOR_WINDOW_CAP || ring_grow(rs) < 0)) {
		overflow_add(&rs->ovf, &rs->rule, ev);
		return false;
	}
	*ring_at(rs, rs->len++) = *ev;
	return true;
}

bool aod_detector_add(struct aod_detector *d, const struct aod_event *ev)
{
	bool emergency = false, counted = false;

	d->stats.events_in++;
	for (uint32_t i = 0; i < d->nrules; i++) {
		struct rule_state *rs = d->rules[i];

		if (!event_counts(&rs->rule, ev))
			continue;
		counted = true;
		if (!rule_store(rs, ev, d->window_ns))
			d->stats.events_dropped++;
		if (is_emergency(&rs->rule, ev)) {
			rs->emergency_pending = true;
			emergency = true;
		}
	}
	if (counted)
		d->stats.events_counted++;
	return emergency;
}

/* ---- evaluation ---- */

struct fire_span {
	uint64_t now;
	uint64_t window_ns;
	bool emergency; /* also take events newer than now */
};

static bool in_span(const struct fire_span *s, uint64_t t)
{
	if (t > s->now)
		return s->emergency;
	return s->now - t < s->window_ns;
}

static uint64_t next_id(struct aod_detector *d, uint64_t now_wall)
{
	d->last_id = now_wall > d->last_id ? now_wall : d->last_id + 1;
	return d->last_id;
}

static void anomaly_header(struct aod_detector *d, const struct rule_state *rs,
			   struct aod_anomaly *a, uint64_t now_wall)
{
	const struct aod_rule *r = &rs->rule;

	memset(a, 0, sizeof(*a));
	a->id = next_id(d, now_wall);
	snprintf(a->rule, sizeof(a->rule), "%s", r->name);
	a->source = r->source;
	a->type = r->type;
	a->emergency = rs->emergency_pending;
	a->acceptable_count = r->acceptable_count;
	a->emergency_threshold_ns = r->type == AOD_RULE_LATENCY ? r->emergency_threshold_ns : 0;
	a->window_start_ns = now_wall > d->window_ns ? now_wall - d->window_ns : 0;
}

/*
 * Build the anomaly from the events in the span (plus the overflow) and
 * remove them from the ring: fired events are consumed.
 */
static void rule_fire(struct aod_detector *d, struct rule_state *rs, const struct fire_span *s,
		      uint64_t now_wall, struct aod_anomaly *a)
{
	struct tally *t = &d->scratch_tally;
	struct worst w = { .n = 0 };
	uint64_t end = s->now;
	uint32_t kept = 0;

	anomaly_header(d, rs, a, now_wall);
	tally_reset(t);
	for (uint32_t i = 0; i < rs->len; i++) {
		struct aod_event *ev = ring_at(rs, i);

		if (!in_span(s, ev->mono_ns)) {
			*ring_at(rs, kept++) = *ev;
			continue;
		}
		a->total++;
		if (ev->mono_ns > end)
			end = ev->mono_ns;
		tally_add(t, &rs->rule, ev);
		worst_add(&w, rs->rule.type, ev);
	}
	rs->len = kept;
	if (rs->ovf.count) {
		a->total += rs->ovf.count;
		a->dropped = rs->ovf.count;
		if (rs->ovf.last_mono > end)
			end = rs->ovf.last_mono;
		tally_merge(t, &rs->ovf.tally);
		for (uint32_t i = 0; i < rs->ovf.worst.n; i++)
			worst_add(&w, rs->rule.type, &rs->ovf.worst.ev[i]);
		overflow_reset(&rs->ovf);
	}
	a->window_end_ns = now_wall + (end - s->now);
	tally_to_anomaly(t, a);
	a->nworst = w.n;
	memcpy(a->worst, w.ev, w.n * sizeof(w.ev[0]));
	rs->emergency_pending = false;
}

/* Drop events that left the window; return how many are in the span. */
static uint32_t rule_prune_count(struct rule_state *rs, const struct fire_span *s)
{
	uint32_t kept = 0, in = 0;

	for (uint32_t i = 0; i < rs->len; i++) {
		struct aod_event *ev = ring_at(rs, i);

		if (too_old(ev->mono_ns, s->now, s->window_ns))
			continue;
		if (in_span(s, ev->mono_ns))
			in++;
		if (kept != i)
			*ring_at(rs, kept) = *ev;
		kept++;
	}
	rs->len = kept;
	if (rs->ovf.count && too_old(rs->ovf.last_mono, s->now, s->window_ns))
		overflow_reset(&rs->ovf);
	return in + rs->ovf.count;
}

static int rule_evaluate(struct aod_detector *d, struct rule_state *rs, uint64_t now_mono,
			 uint64_t now_wall, aod_anomaly_fn fn, void *ctx)
{
	struct fire_span span = {
		.now = now_mono,
		.window_ns = d->window_ns,
		.emergency = rs->emergency_pending,
	};
	uint32_t count = rule_prune_count(rs, &span);

	if (count == 0) {
		rs->emergency_pending = false; /* nothing left to report */
		return 0;
	}
	if (!rs->emergency_pending && count < rs->rule.acceptable_count)
		return 0;
	rule_fire(d, rs, &span, now_wall, &d->scratch);
	d->stats.anomalies++;
	if (fn)
		fn(&d->scratch, ctx);
	return 1;
}

int aod_detector_evaluate(struct aod_detector *d, uint64_t now_mono, uint64_t now_wall,
			  aod_anomaly_fn fn, void *ctx)
{
	int fired = 0;

	for (uint32_t i = 0; i < d->nrules; i++)
		fired += rule_evaluate(d, d->rules[i], now_mono, now_wall, fn, ctx);
	return fired;
}

int aod_detector_evaluate_emergency(struct aod_detector *d, uint64_t now_mono,
				    uint64_t now_wall, aod_anomaly_fn fn, void *ctx)
{
	int fired = 0;

	for (uint32_t i = 0; i < d->nrules; i++)
		if (d->rules[i]->emergency_pending)
			fired += rule_evaluate(d, d->rules[i], now_mono, now_wall, fn, ctx);
	return fired;
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
		}
		rs->rule = *r;
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

struct aod_detector *aod_detector_new(const struct aod_config *cfg)
{
	struct aod_detector *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
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
