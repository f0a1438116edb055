// SPDX-License-Identifier: MIT
/* Counts per key and worst events of an anomaly (see tally.h). */
#include "detect/tally.h"
#include "detect/tcp_event.h"

#include <signal.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

#define OTHER_KEY_NAME "(other)"

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

/* A failed exit: "make exit 2", "cc1 SIGSEGV" (the comm escaped), keyed by
 * comm and outcome. */
static uint64_t proc_exit_key(const struct aod_event *ev, char *name, size_t len)
{
	char comm[AOD_EV_COMM_LEN * 4 + 1];
	const char *sig = ev->proc.signal > 0 ? sigabbrev_np(ev->proc.signal) : NULL;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < AOD_EV_COMM_LEN && ev->comm[i]; i++)
		h = (h ^ (unsigned char)ev->comm[i]) * 1099511628211ULL;
	h = (h ^ (uint32_t)ev->proc.exit_code) * 1099511628211ULL;
	h = (h ^ ((uint64_t)(uint32_t)ev->proc.signal << 16)) * 1099511628211ULL;
	aod_text_escape(ev->comm, strnlen(ev->comm, AOD_EV_COMM_LEN), comm, sizeof(comm), false);
	if (ev->proc.signal && sig)
		snprintf(name, len, "%.30s SIG%s", comm, sig);
	else if (ev->proc.signal)
		snprintf(name, len, "%.30s signal %d", comm, ev->proc.signal);
	else
		snprintf(name, len, "%.30s exit %d", comm, ev->proc.exit_code);
	return h;
}

static uint64_t event_key(const struct aod_rule *rule, const struct aod_event *ev,
			  char *name, size_t len, uint64_t *threshold_ns)
{
	const char *cmd;

	*threshold_ns = 0;
	switch (ev->kind) {
	case AOD_EVENT_SMB_SLOW:
	case AOD_EVENT_SMB_STUCK:
		cmd = aod_smb_cmd_name(ev->smb.cmd);
		if (cmd)
			snprintf(name, len, "%s", cmd);
		else
			snprintf(name, len, "SMB2_CMD_%u", ev->smb.cmd);
		if (!aod_rule_smb_threshold(rule, ev->smb.cmd, threshold_ns))
			*threshold_ns = 0;
		return ev->smb.cmd;
	case AOD_EVENT_BLK_SLOW:
	case AOD_EVENT_BLK_STUCK:
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
	case AOD_EVENT_TCP_CONNECT:
		if (!aod_rule_tcp_threshold(rule, ev->tcp.rport, threshold_ns))
			*threshold_ns = 0;
		return aod_tcp_event_key(ev, name, len);
	case AOD_EVENT_TCP_RETRANS:
	case AOD_EVENT_TCP_RESET:
		return aod_tcp_event_key(ev, name, len);
	case AOD_EVENT_PROC_EXIT:
		return proc_exit_key(ev, name, len);
	case AOD_EVENT_SMB_RECONNECT: /* never counted (event_counts), so never keyed */
		break;
	}
	snprintf(name, len, "?");
	return 0;
}

void aod_tally_reset(struct aod_tally *t)
{
	t->n = 0;
	t->other_count = 0;
	t->other_max_ns = 0;
}

static struct aod_key_tally *tally_find(struct aod_tally *t, uint64_t id)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->keys[i].id == id)
			return &t->keys[i];
	return NULL;
}

void aod_tally_add(struct aod_tally *t, const struct aod_rule *rule, const struct aod_event *ev)
{
	uint64_t lat = rule->type == AOD_RULE_LATENCY ? aod_event_latency_ns(ev) : 0;
	char name[AOD_KEY_LEN];
	uint64_t thr;
	uint64_t id = event_key(rule, ev, name, sizeof(name), &thr);
	struct aod_key_tally *k = tally_find(t, id);

	if (!k) {
		if (t->n == AOD_TALLY_CAP) {
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

void aod_tally_merge(struct aod_tally *dst, const struct aod_tally *src)
{
	for (uint32_t i = 0; i < src->n; i++) {
		const struct aod_key_tally *s = &src->keys[i];
		struct aod_key_tally *k = tally_find(dst, s->id);

		if (!k && dst->n < AOD_TALLY_CAP) {
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
	const struct aod_key_tally *a = pa, *b = pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Most frequent keys first; what does not fit is summed as "(other)". */
void aod_tally_to_anomaly(struct aod_tally *t, struct aod_anomaly *a)
{
	uint32_t room = AOD_ANOMALY_MAX_KEYS;
	uint32_t other = t->other_count;
	uint64_t other_max = t->other_max_ns;

	qsort(t->keys, t->n, sizeof(t->keys[0]), key_cmp);
	if (t->n > room || other)
		room--; /* keep the last slot for "(other)" */
	a->nkeys = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct aod_key_tally *k = &t->keys[i];

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

/* Does a rank before b? Latency and stuck: slower (older) first. Errors:
 * earlier first. */
static bool worse(enum aod_rule_type type, const struct aod_event *a, const struct aod_event *b)
{
	if (type != AOD_RULE_ERROR)
		return aod_event_latency_ns(a) > aod_event_latency_ns(b);
	return a->mono_ns < b->mono_ns;
}

void aod_worst_add(struct aod_worst *w, enum aod_rule_type type, const struct aod_event *ev)
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

