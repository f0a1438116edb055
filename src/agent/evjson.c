// SPDX-License-Identifier: MIT
#include "agent/evjson.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/types.h>

#include "bpf/events.h"
#include "common/text.h"
#include "common/timeutil.h"
#include "config/config.h"
#include "detect/tcp_event.h"

#define ISO_LEN 32

static const char *const kind_names[] = {
	[AOD_EVENT_SMB_SLOW] = "smb_slow",
	[AOD_EVENT_SMB_ERR] = "smb_err",
	[AOD_EVENT_BLK_SLOW] = "blk_slow",
	[AOD_EVENT_BLK_ERR] = "blk_err",
	[AOD_EVENT_SMB_RECONNECT] = "smb_reconnect",
	[AOD_EVENT_SMB_STUCK] = "smb_stuck",
	[AOD_EVENT_BLK_STUCK] = "blk_stuck",
	[AOD_EVENT_TCP_CONNECT] = "tcp_connect",
	[AOD_EVENT_TCP_RETRANS] = "tcp_retrans",
	[AOD_EVENT_TCP_RESET] = "tcp_reset",
	[AOD_EVENT_PROC_EXIT] = "proc_exit",
};
#define KIND_FIRST AOD_EVENT_SMB_SLOW
#define KIND_LAST AOD_EVENT_PROC_EXIT

static const char *const op_names[AOD_BLK_NOPS] = {
	[AOD_BLK_READ] = "read",
	[AOD_BLK_WRITE] = "write",
	[AOD_BLK_FLUSH] = "flush",
	[AOD_BLK_DISCARD] = "discard",
	[AOD_BLK_OTHER] = "other",
};

const char *aod_event_kind_name(enum aod_event_kind kind)
{
	if (kind < KIND_FIRST || kind > KIND_LAST)
		return NULL;
	return kind_names[kind];
}

/* JSON name of a block op; anything out of range is "other". */
static const char *op_name(uint32_t op)
{
	return op < AOD_BLK_NOPS ? op_names[op] : "other";
}

static bool kind_is_smb(enum aod_event_kind kind)
{
	return kind == AOD_EVENT_SMB_SLOW || kind == AOD_EVENT_SMB_ERR ||
	       kind == AOD_EVENT_SMB_STUCK;
}

static bool is_smb(const struct aod_event *ev)
{
	return kind_is_smb(ev->kind);
}

/* A stuck op has no latency yet: its field is its age when found. */
static const char *latency_key(enum aod_event_kind kind)
{
	return kind == AOD_EVENT_SMB_STUCK || kind == AOD_EVENT_BLK_STUCK ? "age_ns" : "latency_ns";
}

/* ---------------------------------------------------------------- encode */

/* jansson integers are signed 64-bit: larger values go as decimal strings. */
static json_t *json_u64(uint64_t v)
{
	char buf[24];

	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

static json_t *json_iso(uint64_t wall_ns)
{
	char buf[ISO_LEN];

	aod_format_wall(wall_ns, buf, sizeof(buf));
	return json_string(buf);
}

/*
 * comm and disk names are whatever the kernel had; JSON needs UTF-8, so
 * bytes that do not form it become '?'.
 */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	char copy[64];
	size_t i;

	if (j || strlen(s) >= sizeof(copy))
		return j;
	for (i = 0; s[i]; i++)
		copy[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
	copy[i] = '\0';
	return json_string(copy);
}

/* Set, taking the reference; remembers the first failure. */
static void put(json_t *obj, const char *key, json_t *val, bool *ok)
{
	if (!val || json_object_set_new(obj, key, val) < 0)
		*ok = false;
}

static void put_smb(json_t *o, const struct aod_event *ev, bool *ok)
{
	const struct aod_smb_fields *s = &ev->smb;
	const char *cmd = aod_smb_cmd_name(s->cmd);
	char hex[16];

	if (cmd)
		put(o, "cmd", json_string(cmd), ok);
	put(o, "cmd_id", json_integer(s->cmd), ok);
	put(o, "sesid", json_u64(s->sesid), ok);
	put(o, "mid", json_u64(s->mid), ok);
	put(o, "tid", json_integer(s->tid), ok);
	put(o, latency_key(ev->kind), json_u64(s->latency_ns), ok);
	if (ev->kind != AOD_EVENT_SMB_ERR)
		return;
	snprintf(hex, sizeof(hex), "0x%08X", s->status);
	put(o, "status", json_string(hex), ok);
	if (aod_ntstatus_name(s->status))
		put(o, "status_name", json_string(aod_ntstatus_name(s->status)), ok);
	put(o, "rc", json_integer(s->rc), ok);
}

static void put_conn(json_t *o, const struct aod_event *ev, bool *ok)
{
	put(o, "conn_id", json_u64(ev->conn.conn_id), ok);
	put(o, "currmid", json_u64(ev->conn.currmid), ok);
	put(o, "server", json_text(ev->conn.server), ok);
}

static void put_tcp(json_t *o, const struct aod_event *ev, bool *ok)
{
	const struct aod_tcp_fields *t = &ev->tcp;
	const char *state = aod_tcp_state_name(t->state);
	char addr[AOD_TCP_ADDR_LEN];

	put(o, "family", json_string(t->family == AF_INET6 ? "ipv6" : "ipv4"), ok);
	aod_tcp_addr_str(t->family, t->laddr, addr, sizeof(addr));
	put(o, "laddr", json_string(addr), ok);
	put(o, "lport", json_integer(t->lport), ok);
	aod_tcp_addr_str(t->family, t->raddr, addr, sizeof(addr));
	put(o, "raddr", json_string(addr), ok);
	put(o, "rport", json_integer(t->rport), ok);
	if (ev->kind == AOD_EVENT_TCP_CONNECT)
		put(o, "latency_ns", json_u64(t->latency_ns), ok);
	if (ev->kind != AOD_EVENT_TCP_CONNECT && state)
		put(o, "state", json_string(state), ok);
	if (ev->kind == AOD_EVENT_TCP_RETRANS)
		put(o, "segs", json_integer(t->segs), ok);
	if (ev->kind == AOD_EVENT_TCP_RESET)
		put(o, "direction", json_string(t->dir == AOD_TCP_DIR_SENT ? "sent" : "received"), ok);
}

static void put_proc(json_t *o, const struct aod_event *ev, bool *ok)
{
	const struct aod_proc_exit_fields *p = &ev->proc;

	put(o, "start_ns", json_u64(p->start_ns), ok);
	put(o, "duration_ns", json_u64(p->duration_ns), ok);
	put(o, "exit_code", json_integer(p->exit_code), ok);
	put(o, "signal", json_integer(p->signal), ok);
	if (p->core_dumped)
		put(o, "core_dumped", json_true(), ok);
}

static void put_blk(json_t *o, const struct aod_event *ev, bool *ok)
{
	const struct aod_blk_fields *b = &ev->blk;
	char dev[24];

	snprintf(dev, sizeof(dev), "%u:%u", b->dev >> 20, b->dev & 0xfffff);
	put(o, "dev", json_string(dev), ok);
	put(o, "dev_t", json_integer(b->dev), ok);
	put(o, "disk", json_text(b->disk), ok);
	put(o, "op", json_string(op_name(b->op)), ok);
	put(o, "sector", json_u64(b->sector), ok);
	put(o, "bytes", json_integer(b->bytes), ok);
	put(o, latency_key(ev->kind), json_u64(b->latency_ns), ok);
	if (ev->kind == AOD_EVENT_BLK_ERR)
		put(o, "error", json_integer(b->error), ok);
}

json_t *aod_event_to_json(const struct aod_event *ev)
{
	const char *kind = aod_event_kind_name(ev->kind);
	char comm[AOD_EV_COMM_LEN + 1];
	json_t *o = json_object();
	bool ok = true;

	if (!o || !kind) {
		json_decref(o);
		return NULL;
	}
	memcpy(comm, ev->comm, AOD_EV_COMM_LEN);
	comm[AOD_EV_COMM_LEN] = '\0';
	put(o, "ts", json_iso(ev->wall_ns), &ok);
	put(o, "wall_ns", json_u64(ev->wall_ns), &ok);
	put(o, "mono_ns", json_u64(ev->mono_ns), &ok);
	put(o, "kind", json_string(kind), &ok);
	put(o, "pid", json_integer(ev->pid), &ok);
	put(o, "tgid", json_integer(ev->tgid), &ok);
	put(o, "comm", json_text(comm), &ok);
	if (aod_event_is_stuck(ev))
		put(o, "batch", json_integer(ev->batch), &ok);
	if (ev->flags & AOD_EVF_WAS_STUCK)
		put(o, "was_stuck", json_true(), &ok);
	if (ev->flags & AOD_EVF_LATE)
		put(o, "late", json_true(), &ok);
	if (is_smb(ev))
		put_smb(o, ev, &ok);
	else if (ev->kind == AOD_EVENT_SMB_RECONNECT)
		put_conn(o, ev, &ok);
	else if (aod_event_is_tcp(ev))
		put_tcp(o, ev, &ok);
	else if (ev->kind == AOD_EVENT_PROC_EXIT)
		put_proc(o, ev, &ok);
	else
		put_blk(o, ev, &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *anomaly_key_json(const struct aod_anomaly *a, const struct aod_anomaly_key *k)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!o)
		return NULL;
	put(o, "key", json_string(k->key), &ok);
	put(o, "count", json_integer(k->count), &ok);
	if (a->type == AOD_RULE_LATENCY) {
		put(o, "threshold_ns", json_u64(k->threshold_ns), &ok);
		put(o, "max_latency_ns", json_u64(k->max_latency_ns), &ok);
	} else if (a->type == AOD_RULE_STUCK) {
		put(o, "max_age_ns", json_u64(k->max_latency_ns), &ok);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void put_lists(json_t *o, const struct aod_anomaly *a, bool *ok)
{
	json_t *keys = json_array(), *worst = json_array();

	for (uint32_t i = 0; keys && i < a->nkeys && i < AOD_ANOMALY_MAX_KEYS; i++)
		if (json_array_append_new(keys, anomaly_key_json(a, &a->keys[i])) < 0)
			*ok = false;
	for (uint32_t i = 0; worst && i < a->nworst && i < AOD_ANOMALY_WORST; i++)
		if (json_array_append_new(worst, aod_event_to_json(&a->worst[i])) < 0)
			*ok = false;
	put(o, "keys", keys, ok);
	put(o, "worst", worst, ok);
}

json_t *aod_anomaly_to_json(const struct aod_anomaly *a)
{
	uint64_t span = a->window_end_ns - a->window_start_ns;
	json_t *o = json_object();
	bool ok = true;

	if (!o)
		return NULL;
	put(o, "id", json_u64(a->id), &ok);
	put(o, "ts", json_iso(a->id), &ok);
	put(o, "rule", json_string(a->rule), &ok);
	put(o, "source", json_string(aod_source_name(a->source)), &ok);
	put(o, "type", json_string(aod_rule_type_name(a->type)), &ok);
	put(o, "emergency", json_boolean(a->emergency), &ok);
	put(o, "window_start_ns", json_u64(a->window_start_ns), &ok);
	put(o, "window_start", json_iso(a->window_start_ns), &ok);
	put(o, "window_end_ns", json_u64(a->window_end_ns), &ok);
	put(o, "window_end", json_iso(a->window_end_ns), &ok);
	put(o, "window_sec", json_real((double)span / 1e9), &ok);
	put(o, "acceptable_count", json_integer(a->acceptable_count), &ok);
	if (a->type == AOD_RULE_LATENCY || a->type == AOD_RULE_STUCK)
		put(o, "emergency_threshold_ns", json_u64(a->emergency_threshold_ns), &ok);
	put(o, "total", json_integer(a->total), &ok);
	put(o, "dropped", json_integer(a->dropped), &ok);
	put_lists(o, a, &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *aod_record_header_to_json(uint64_t started_wall_ns, uint64_t started_mono_ns)
{
	json_t *o = json_object();
	bool ok = true;

	if (!o)
		return NULL;
	put(o, "aod_record", json_integer(AOD_RECORD_FORMAT), &ok);
	put(o, "version", json_string(AOD_VERSION), &ok);
	put(o, "started", json_iso(started_wall_ns), &ok);
	put(o, "started_wall_ns", json_u64(started_wall_ns), &ok);
	put(o, "started_mono_ns", json_u64(started_mono_ns), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---------------------------------------------------------------- decode */

/* The message quotes field names and values from the file: escape them. */
__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t len, const char *fmt, ...)
{
	char raw[1024];
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(raw, sizeof(raw), fmt, ap);
		va_end(ap);
		aod_text_escape(raw, sizeof(raw), err, len, false);
	}
	return -EINVAL;
}

static const char *type_desc(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a fractional number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "something else";
}

/* Decoding context: the object and where errors go. */
struct dec {
	const json_t *obj;
	char *err;
	size_t errlen;
};

static const json_t *field(struct dec *d, const char *key, bool required, const char *what,
			   int *rc)
{
	const json_t *v = json_object_get(d->obj, key);

	*rc = 0;
	if (!v && required)
		*rc = fail(d->err, d->errlen, "missing field '%s' (expected %s)", key, what);
	return v;
}

/* Decimal or 0x-hex digits only: no sign, no spaces, no suffix. */
static bool parse_u64_string(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno == 0 && *end == '\0';
}

static int get_u64(struct dec *d, const char *key, bool required, uint64_t max, uint64_t *out,
		   bool *present)
{
	char what[64];
	int rc;
	const json_t *v;

	snprintf(what, sizeof(what), "an integer in 0..%" PRIu64, max);
	v = field(d, key, required, what, &rc);
	if (present)
		*present = v != NULL;
	if (!v)
		return rc;
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    (uint64_t)json_integer_value(v) <= max) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && parse_u64_string(json_string_value(v), out) && *out <= max)
		return 0;
	if (json_is_integer(v))
		return fail(d->err, d->errlen, "field '%s': expected %s, got %" JSON_INTEGER_FORMAT,
			    key, what, json_integer_value(v));
	if (json_is_string(v))
		return fail(d->err, d->errlen, "field '%s': expected %s, got \"%s\"", key, what,
			    json_string_value(v));
	return fail(d->err, d->errlen, "field '%s': expected %s, got %s", key, what, type_desc(v));
}

static int get_u32(struct dec *d, const char *key, bool required, uint32_t max, uint32_t *out,
		   bool *present)
{
	uint64_t v = 0;
	int rc = get_u64(d, key, required, max, &v, present);

	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

static int get_i32(struct dec *d, const char *key, int32_t min, int32_t max, int32_t *out)
{
	char what[64];
	const json_t *v;
	int rc;

	snprintf(what, sizeof(what), "an integer in %d..%d", min, max);
	v = field(d, key, true, what, &rc);
	if (!v)
		return rc;
	if (!json_is_integer(v))
		return fail(d->err, d->errlen, "field '%s': expected %s, got %s", key, what,
			    type_desc(v));
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return fail(d->err, d->errlen, "field '%s': expected %s, got %" JSON_INTEGER_FORMAT,
			    key, what, json_integer_value(v));
	*out = (int32_t)json_integer_value(v);
	return 0;
}

/* A string shorter than size (so it fits with its NUL). */
static int get_str(struct dec *d, const char *key, bool required, char *out, size_t size,
		   const char **sval)
{
	char what[64];
	const json_t *v;
	int rc;

	snprintf(what, sizeof(what), "a string of at most %zu bytes", size - 1);
	v = field(d, key, required, what, &rc);
	if (sval)
		*sval = NULL;
	if (!v)
		return rc;
	if (!json_is_string(v))
		return fail(d->err, d->errlen, "field '%s': expected %s, got %s", key, what,
			    type_desc(v));
	if (json_string_length(v) >= size || strlen(json_string_value(v)) != json_string_length(v))
		return fail(d->err, d->errlen, "field '%s': expected %s, got \"%s\"", key, what,
			    json_string_value(v));
	if (out)
		memcpy(out, json_string_value(v), json_string_length(v) + 1);
	if (sval)
		*sval = json_string_value(v);
	return 0;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "2026-11-23T18:47:59[.fraction]Z" -> ns since the epoch. */
static bool parse_iso(const char *s, uint64_t *out)
{
	struct tm tm = { 0 };
	uint64_t frac = 0, scale = 1000000000ULL;
	size_t n = strlen(s), i = 19;
	time_t t;

	if (n < 20 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' ||
	    !all_digits(s + 8, 2) || s[10] != 'T' || !all_digits(s + 11, 2) || s[13] != ':' ||
	    !all_digits(s + 14, 2) || s[16] != ':' || !all_digits(s + 17, 2))
		return false;
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_hour = atoi(s + 11);
	tm.tm_min = atoi(s + 14);
	tm.tm_sec = atoi(s + 17);
	if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++) {
			if (scale == 1)
				return false; /* more than 9 digits */
			scale /= 10;
			frac += (uint64_t)(s[i] - '0') * scale;
		}
		if (s[i - 1] == '.')
			return false;
	}
	if (s[i] != 'Z' || s[i + 1] != '\0')
		return false;
	t = timegm(&tm);
	if (t < 0 || (uint64_t)t > UINT64_MAX / 1000000000ULL - 1)
		return false; /* before 1970, or past what u64 ns hold (2554) */
	*out = (uint64_t)t * 1000000000ULL + frac;
	return true;
}

static int get_wall(struct dec *d, struct aod_event *ev)
{
	const char *ts;
	bool present;
	uint64_t ts_ns = 0;
	int rc;

	rc = get_u64(d, "wall_ns", false, UINT64_MAX, &ev->wall_ns, &present);
	if (rc)
		return rc;
	if (!present && !json_object_get(d->obj, "ts"))
		return fail(d->err, d->errlen,
			    "missing field 'wall_ns' (expected an integer, ns since the epoch) or 'ts' (an ISO time)");
	rc = get_str(d, "ts", false, NULL, ISO_LEN * 2, &ts);
	if (rc)
		return rc;
	if (ts && !parse_iso(ts, &ts_ns))
		return fail(d->err, d->errlen,
			    "field 'ts': expected an ISO time like \"2026-11-23T18:47:59.123Z\" (UTC), got \"%s\"",
			    ts);
	if (!present)
		ev->wall_ns = ts_ns;
	return 0;
}

static int get_kind(struct dec *d, enum aod_event_kind *kind)
{
	static const char what[] =
		"one of smb_slow, smb_err, blk_slow, blk_err, smb_reconnect, smb_stuck, blk_stuck, "
		"tcp_connect, tcp_retrans, tcp_reset, proc_exit";
	const json_t *v = json_object_get(d->obj, "kind");

	if (!v)
		return fail(d->err, d->errlen, "missing field 'kind' (expected %s)", what);
	if (!json_is_string(v))
		return fail(d->err, d->errlen, "field 'kind': expected %s, got %s", what,
			    type_desc(v));
	for (int k = KIND_FIRST; k <= KIND_LAST; k++) {
		if (strcmp(json_string_value(v), kind_names[k]) == 0) {
			*kind = (enum aod_event_kind)k;
			return 0;
		}
	}
	return fail(d->err, d->errlen, "field 'kind': expected %s, got \"%s\"", what,
		    json_string_value(v));
}

static const char *const common_keys[] = { "ts", "wall_ns", "mono_ns", "kind", "pid", "tgid",
					    "comm", "was_stuck", "late", NULL };
static const char *const smb_keys[] = { "cmd", "cmd_id", "sesid", "mid", "tid", NULL };
static const char *const smb_err_keys[] = { "status", "status_name", "rc", NULL };
static const char *const blk_keys[] = { "dev", "dev_t", "disk", "op", "sector", "bytes", NULL };
static const char *const blk_err_keys[] = { "error", NULL };
static const char *const conn_keys[] = { "conn_id", "currmid", "server", NULL };
static const char *const tcp_connect_keys[] = { "family", "laddr", "lport", "raddr", "rport",
						"latency_ns", NULL };
static const char *const tcp_retrans_keys[] = { "family", "laddr", "lport", "raddr", "rport",
						"state", "segs", NULL };
static const char *const tcp_reset_keys[] = { "family", "laddr", "lport", "raddr", "rport",
					      "state", "direction", NULL };

static const char *const proc_exit_keys[] = { "start_ns", "duration_ns", "exit_code", "signal",
					      "core_dumped", NULL };

static const char *const *tcp_keys(enum aod_event_kind kind)
{
	return kind == AOD_EVENT_TCP_CONNECT ? tcp_connect_keys
	       : kind == AOD_EVENT_TCP_RETRANS ? tcp_retrans_keys : tcp_reset_keys;
}

static bool kind_is_tcp(enum aod_event_kind kind)
{
	return kind == AOD_EVENT_TCP_CONNECT || kind == AOD_EVENT_TCP_RETRANS ||
	       kind == AOD_EVENT_TCP_RESET;
}

static bool in_list(const char *const *list, const char *key)
{
	for (; *list; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

static int check_unknown(struct dec *d, enum aod_event_kind kind)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)d->obj, key, v) {
		bool conn = kind == AOD_EVENT_SMB_RECONNECT, tcp = kind_is_tcp(kind);
		bool proc = kind == AOD_EVENT_PROC_EXIT;
		bool stuck = kind == AOD_EVENT_SMB_STUCK || kind == AOD_EVENT_BLK_STUCK;
		const char *const *own = kind_is_smb(kind) ? smb_keys : conn ? conn_keys
					 : tcp ? tcp_keys(kind) : proc ? proc_exit_keys : blk_keys;

		if (in_list(common_keys, key) || in_list(own, key) ||
		    (!conn && !tcp && !proc && !strcmp(key, latency_key(kind))) ||
		    (stuck && !strcmp(key, "batch")) ||
		    (kind == AOD_EVENT_SMB_ERR && in_list(smb_err_keys, key)) ||
		    (kind == AOD_EVENT_BLK_ERR && in_list(blk_err_keys, key)))
			continue;
		return fail(d->err, d->errlen, "unknown field '%s' for kind %s", key,
			    kind_names[kind]);
	}
	return 0;
}

static int get_cmd(struct dec *d, uint16_t *cmd)
{
	const char *name;
	uint32_t id = 0;
	bool has_id;
	int rc, by_name = -1;

	rc = get_u32(d, "cmd_id", false, UINT16_MAX, &id, &has_id);
	if (rc)
		return rc;
	rc = get_str(d, "cmd", false, NULL, 64, &name);
	if (rc)
		return rc;
	if (!name && !has_id)
		return fail(d->err, d->errlen,
			    "missing field 'cmd' (expected an SMB2 command name like \"SMB2_READ\") or 'cmd_id' (its opcode)");
	if (name) {
		by_name = aod_smb_cmd_from_name(name);
		if (by_name < 0)
			return fail(d->err, d->errlen,
				    "field 'cmd': expected an SMB2 command name like \"SMB2_READ\", got \"%s\"",
				    name);
	}
	if (name && has_id && (uint32_t)by_name != id)
		return fail(d->err, d->errlen,
			    "field 'cmd': \"%s\" is opcode %d, but 'cmd_id' is %u", name, by_name, id);
	*cmd = (uint16_t)(name ? (uint32_t)by_name : id);
	return 0;
}

static int get_smb(struct dec *d, struct aod_event *ev)
{
	struct aod_smb_fields *s = &ev->smb;
	const char *status;
	int rc;

	if ((rc = get_cmd(d, &s->cmd)) || (rc = get_u64(d, "sesid", true, UINT64_MAX, &s->sesid, NULL)) ||
	    (rc = get_u64(d, "mid", true, UINT64_MAX, &s->mid, NULL)) ||
	    (rc = get_u32(d, "tid", true, UINT32_MAX, &s->tid, NULL)) ||
	    (rc = get_u64(d, latency_key(ev->kind), true, UINT64_MAX, &s->latency_ns, NULL)))
		return rc;
	if (ev->kind != AOD_EVENT_SMB_ERR)
		return 0;
	rc = get_str(d, "status", true, NULL, 64, &status);
	if (rc)
		return rc;
	if (aod_ntstatus_from_name(status, &s->status))
		return fail(d->err, d->errlen,
			    "field 'status': expected an NTSTATUS as hex (\"0xC0000022\") or a name (\"STATUS_ACCESS_DENIED\"), got \"%s\"",
			    status);
	if ((rc = get_str(d, "status_name", false, NULL, 64, NULL)))
		return rc;
	return get_i32(d, "rc", INT32_MIN, 0, &s->rc);
}

/* Decimal digits only, at most max: no sign, no spaces, no wrap-around. */
static bool parse_decimal(const char *s, const char **end, unsigned long max,
			  unsigned long *out)
{
	char *e;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &e, 10);
	*end = e;
	return errno == 0 && *out <= max;
}

/* "MAJ:MIN" -> kernel dev_t (major << 20 | minor). */
static bool parse_dev(const char *s, uint32_t *dev)
{
	unsigned long major, minor;
	const char *p;

	if (!parse_decimal(s, &p, 0xfff, &major) || *p != ':' ||
	    !parse_decimal(p + 1, &p, 0xfffff, &minor) || *p != '\0')
		return false;
	*dev = (uint32_t)(major << 20 | minor);
	return true;
}

static int get_dev(struct dec *d, uint32_t *dev)
{
	const char *s;
	uint32_t dev_t = 0, parsed = 0;
	bool has_t;
	int rc;

	if ((rc = get_u32(d, "dev_t", false, UINT32_MAX, &dev_t, &has_t)) ||
	    (rc = get_str(d, "dev", false, NULL, 24, &s)))
		return rc;
	if (!s && !has_t)
		return fail(d->err, d->errlen,
			    "missing field 'dev' (expected \"MAJOR:MINOR\") or 'dev_t' (major << 20 | minor)");
	if (s && !parse_dev(s, &parsed))
		return fail(d->err, d->errlen, "field 'dev': expected \"MAJOR:MINOR\" like \"253:0\", got \"%s\"",
			    s);
	if (s && has_t && parsed != dev_t)
		return fail(d->err, d->errlen, "field 'dev': \"%s\" does not match 'dev_t' %u (%u:%u)", s,
			    dev_t, dev_t >> 20, dev_t & 0xfffff);
	*dev = s ? parsed : dev_t;
	return 0;
}

static int get_op(struct dec *d, uint32_t *op)
{
	const char *s;
	int rc = get_str(d, "op", true, NULL, 16, &s);

	if (rc)
		return rc;
	for (uint32_t i = 0; i < AOD_BLK_NOPS; i++) {
		if (strcmp(s, op_names[i]) == 0) {
			*op = i;
			return 0;
		}
	}
	return fail(d->err, d->errlen,
		    "field 'op': expected one of read, write, flush, discard, other, got \"%s\"", s);
}

static int get_conn(struct dec *d, struct aod_event *ev)
{
	struct aod_smb_conn_fields *c = &ev->conn;
	int rc;

	if ((rc = get_u64(d, "conn_id", true, UINT64_MAX, &c->conn_id, NULL)) ||
	    (rc = get_u64(d, "currmid", true, UINT64_MAX, &c->currmid, NULL)))
		return rc;
	return get_str(d, "server", true, c->server, sizeof(c->server), NULL);
}

static int get_proc(struct dec *d, struct aod_event *ev)
{
	struct aod_proc_exit_fields *p = &ev->proc;
	const json_t *core = json_object_get(d->obj, "core_dumped");
	int rc;

	if ((rc = get_u64(d, "start_ns", true, UINT64_MAX, &p->start_ns, NULL)) ||
	    (rc = get_u64(d, "duration_ns", true, UINT64_MAX, &p->duration_ns, NULL)) ||
	    (rc = get_i32(d, "exit_code", 0, 255, &p->exit_code)) ||
	    (rc = get_i32(d, "signal", 0, 64, &p->signal)))
		return rc;
	if (core && !json_is_boolean(core))
		return fail(d->err, d->errlen, "field 'core_dumped': expected true or false, got %s",
			    type_desc(core));
	p->core_dumped = core && json_is_true(core);
	return 0;
}

static int get_blk(struct dec *d, struct aod_event *ev)
{
	struct aod_blk_fields *b = &ev->blk;
	int rc;

	if ((rc = get_dev(d, &b->dev)) ||
	    (rc = get_str(d, "disk", true, b->disk, sizeof(b->disk), NULL)) ||
	    (rc = get_op(d, &b->op)) ||
	    (rc = get_u64(d, "sector", true, UINT64_MAX, &b->sector, NULL)) ||
	    (rc = get_u32(d, "bytes", true, UINT32_MAX, &b->bytes, NULL)) ||
	    (rc = get_u64(d, latency_key(ev->kind), true, UINT64_MAX, &b->latency_ns, NULL)))
		return rc;
	if (ev->kind != AOD_EVENT_BLK_ERR)
		return 0;
	return get_i32(d, "error", INT32_MIN, 0, &b->error);
}

/* An address of family, as aod_tcp_addr_str wrote it. */
static int get_addr(struct dec *d, const char *key, uint16_t family, uint8_t addr[16])
{
	const char *s;
	int rc = get_str(d, key, true, NULL, AOD_TCP_ADDR_LEN, &s);

	if (rc)
		return rc;
	if (aod_tcp_addr_parse(s, addr) != family)
		return fail(d->err, d->errlen, "field '%s': expected an %s address, got \"%s\"", key,
			    family == AF_INET6 ? "IPv6" : "IPv4", s);
	return 0;
}

/* A string field that is one of two names: 0 for the first, 1 for the second. */
static int get_choice(struct dec *d, const char *key, const char *a, const char *b, int *out)
{
	const char *s;
	int rc = get_str(d, key, true, NULL, 16, &s);

	if (rc)
		return rc;
	if (strcmp(s, a) && strcmp(s, b))
		return fail(d->err, d->errlen, "field '%s': expected %s or %s, got \"%s\"", key, a, b, s);
	*out = !strcmp(s, b);
	return 0;
}

static int get_tcp_state(struct dec *d, uint8_t *state)
{
	const char *s;
	int rc = get_str(d, "state", false, NULL, 16, &s), v;

	if (rc || !s)
		return rc;
	v = aod_tcp_state_from_name(s);
	if (v < 0)
		return fail(d->err, d->errlen,
			    "field 'state': expected a TCP state like \"ESTABLISHED\", got \"%s\"", s);
	*state = (uint8_t)v;
	return 0;
}


static int get_tcp(struct dec *d, struct aod_event *ev)
{
	struct aod_tcp_fields *t = &ev->tcp;
	uint32_t lport = 0, rport = 0;
	int rc, v6 = 0, received = 0;

	if ((rc = get_choice(d, "family", "ipv4", "ipv6", &v6)))
		return rc;
	t->family = v6 ? AF_INET6 : AF_INET;
	if ((rc = get_addr(d, "laddr", t->family, t->laddr)) ||
	    (rc = get_u32(d, "lport", true, UINT16_MAX, &lport, NULL)) ||
	    (rc = get_addr(d, "raddr", t->family, t->raddr)) ||
	    (rc = get_u32(d, "rport", true, UINT16_MAX, &rport, NULL)))
		return rc;
	t->lport = (uint16_t)lport;
	t->rport = (uint16_t)rport;
	if (ev->kind == AOD_EVENT_TCP_CONNECT)
		return get_u64(d, "latency_ns", true, UINT64_MAX, &t->latency_ns, NULL);
	if ((rc = get_tcp_state(d, &t->state)))
		return rc;
	if (ev->kind == AOD_EVENT_TCP_RETRANS)
		return get_u32(d, "segs", true, UINT32_MAX, &t->segs, NULL);
	rc = get_choice(d, "direction", "sent", "received", &received);
	t->dir = received ? AOD_TCP_DIR_RECEIVED : AOD_TCP_DIR_SENT;
	return rc;
}

static int get_flag(struct dec *d, const char *key, uint32_t bit, uint32_t *flags)
{
	const json_t *v = json_object_get(d->obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(d->err, d->errlen, "field '%s': expected true or false, got %s", key,
			    type_desc(v));
	if (json_is_true(v))
		*flags |= bit;
	return 0;
}

static int get_flags(struct dec *d, struct aod_event *ev)
{
	int rc;

	if ((rc = get_flag(d, "was_stuck", AOD_EVF_WAS_STUCK, &ev->flags)) ||
	    (rc = get_flag(d, "late", AOD_EVF_LATE, &ev->flags)))
		return rc;
	if (aod_event_is_stuck(ev))
		return get_u32(d, "batch", true, UINT32_MAX, &ev->batch, NULL);
	return 0;
}

int aod_event_from_json(const json_t *obj, struct aod_event *out, char *err, size_t errlen)
{
	struct dec d = { .obj = obj, .err = err, .errlen = errlen };
	struct aod_event ev;
	int rc;

	if (!json_is_object(obj))
		return fail(err, errlen, "expected an event object, got %s",
			    obj ? type_desc(obj) : "nothing");
	memset(&ev, 0, sizeof(ev));
	if ((rc = get_kind(&d, &ev.kind)) || (rc = check_unknown(&d, ev.kind)) ||
	    (rc = get_u64(&d, "mono_ns", true, UINT64_MAX, &ev.mono_ns, NULL)) ||
	    (rc = get_wall(&d, &ev)) ||
	    (rc = get_u32(&d, "pid", true, UINT32_MAX, &ev.pid, NULL)) ||
	    (rc = get_u32(&d, "tgid", true, UINT32_MAX, &ev.tgid, NULL)) ||
	    (rc = get_str(&d, "comm", true, ev.comm, sizeof(ev.comm), NULL)) ||
	    (rc = get_flags(&d, &ev)))
		return rc;
	if (is_smb(&ev))
		rc = get_smb(&d, &ev);
	else if (ev.kind == AOD_EVENT_SMB_RECONNECT)
		rc = get_conn(&d, &ev);
	else if (kind_is_tcp(ev.kind))
		rc = get_tcp(&d, &ev);
	else if (ev.kind == AOD_EVENT_PROC_EXIT)
		rc = get_proc(&d, &ev);
	else
		rc = get_blk(&d, &ev);
	if (rc)
		return rc;
	*out = ev;
	return 0;
}

bool aod_record_is_header(const json_t *obj)
{
	return json_is_object(obj) && json_object_get(obj, "aod_record") != NULL;
}

int aod_record_header_from_json(const json_t *obj, uint64_t *started_mono_ns, char *err,
				size_t errlen)
{
	struct dec d = { .obj = obj, .err = err, .errlen = errlen };
	uint32_t format = 0;
	int rc;

	*started_mono_ns = 0;
	if (!json_is_object(obj))
		return fail(err, errlen, "expected a header object");
	if ((rc = get_u32(&d, "aod_record", true, UINT32_MAX, &format, NULL)))
		return rc;
	if (format != AOD_RECORD_FORMAT)
		return fail(err, errlen,
			    "field 'aod_record': this aod reads recording format %d, the file has %u",
			    AOD_RECORD_FORMAT, format);
	if ((rc = get_str(&d, "version", false, NULL, 64, NULL)) ||
	    (rc = get_str(&d, "started", false, NULL, 64, NULL)) ||
	    (rc = get_u64(&d, "started_wall_ns", false, UINT64_MAX, &(uint64_t){ 0 }, NULL)))
		return rc;
	return get_u64(&d, "started_mono_ns", false, UINT64_MAX, started_mono_ns, NULL);
}

int aod_record_line_decode(const char *line, size_t len, struct aod_event *ev,
			   uint64_t *started_mono_ns, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *obj;
	int rc;

	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return fail(err, errlen, "invalid JSON at column %d: %s", jerr.column, jerr.text);
	if (aod_record_is_header(obj)) {
		rc = aod_record_header_from_json(obj, started_mono_ns, err, errlen);
		if (rc == 0)
			rc = AOD_RECORD_LINE_HEADER;
	} else {
		rc = aod_event_from_json(obj, ev, err, errlen);
	}
	json_decref(obj);
	return rc;
}

/* ---------------------------------------------------------------- one line */

/* snprintf into a buffer, tracking the length the whole text needs. */
struct line {
	char *buf;
	size_t len;
	size_t need;
};

__attribute__((format(printf, 2, 3)))
static void add(struct line *l, const char *fmt, ...)
{
	size_t off = l->need < l->len ? l->need : (l->len ? l->len - 1 : 0);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->len ? l->buf + off : NULL, l->len ? l->len - off : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->need += (size_t)n;
}

/* 130.2ms, 20ms, 1.5s, 850us: short and exact enough for a log line. */
static void fmt_dur(uint64_t ns, char *buf, size_t len)
{
	char *dot;
	const char *unit;
	double v;

	if (ns >= 1000000000ULL) {
		snprintf(buf, len, "%.3f", (double)ns / 1e9);
		unit = "s";
	} else if (ns >= 1000000ULL) {
		snprintf(buf, len, "%.1f", (double)ns / 1e6);
		unit = "ms";
	} else {
		v = (double)ns / 1e3;
		snprintf(buf, len, "%.0f", v);
		unit = "us";
	}
	dot = strchr(buf, '.');
	if (dot) {
		char *end = buf + strlen(buf) - 1;

		while (end > dot && *end == '0')
			*end-- = '\0';
		if (end == dot)
			*end = '\0';
	}
	strncat(buf, unit, len - strlen(buf) - 1);
}

/* comm as a token: no spaces, commas, '=' or control characters. */
static void safe_comm(const char *comm, char *out)
{
	size_t i;

	for (i = 0; i < AOD_EV_COMM_LEN && comm[i]; i++) {
		unsigned char c = (unsigned char)comm[i];

		out[i] = (c <= ' ' || c == ',' || c == '=' || c == 0x7f) ? '_' : (char)c;
	}
	out[i] = '\0';
	if (i == 0)
		strcpy(out, "?");
}

static void add_event_what(struct line *l, const struct aod_event *ev, enum aod_rule_type type)
{
	char dur[32], hex[16];
	const char *name;

	if (is_smb(ev)) {
		name = aod_smb_cmd_name(ev->smb.cmd);
		if (name)
			add(l, "%s", name);
		else
			add(l, "SMB2_CMD_%u", ev->smb.cmd);
	} else if (aod_event_is_tcp(ev)) {
		char key[AOD_TCP_ENDPOINT_LEN];

		aod_tcp_event_key(ev, key, sizeof(key));
		add(l, "%s", key);
		if (ev->kind == AOD_EVENT_TCP_RESET)
			add(l, ":rst-%s", ev->tcp.dir == AOD_TCP_DIR_SENT ? "sent" : "received");
		else if (ev->kind == AOD_EVENT_TCP_RETRANS)
			add(l, ":retrans");
	} else if (ev->blk.disk[0]) {
		add(l, "%s:%s", ev->blk.disk, op_name(ev->blk.op));
	} else {
		add(l, "%u:%u:%s", ev->blk.dev >> 20, ev->blk.dev & 0xfffff,
		    op_name(ev->blk.op));
	}
	if (ev->kind == AOD_EVENT_SMB_ERR) {
		name = aod_ntstatus_name(ev->smb.status);
		snprintf(hex, sizeof(hex), "0x%08X", ev->smb.status);
		add(l, ":%s", name ? name : hex);
	} else if (ev->kind == AOD_EVENT_BLK_ERR) {
		name = aod_errno_name(-ev->blk.error);
		if (name)
			add(l, ":%s", name);
		else
			add(l, ":error%d", ev->blk.error);
	}
	if (type == AOD_RULE_LATENCY || type == AOD_RULE_STUCK) {
		fmt_dur(aod_event_latency_ns(ev), dur, sizeof(dur));
		add(l, ":%s", dur);
	}
}

#define LINE_WORST 3

int aod_anomaly_format_line(const struct aod_anomaly *a, char *buf, size_t len)
{
	struct line l = { .buf = buf, .len = len, .need = 0 };
	char iso[ISO_LEN], dur[32], max[32], comm[AOD_EV_COMM_LEN + 1];

	if (len)
		buf[0] = '\0';
	add(&l, "anomaly id=%" PRIu64 " rule=%s source=%s type=%s", a->id, a->rule,
	    aod_source_name(a->source), aod_rule_type_name(a->type));
	if (a->emergency)
		add(&l, " emergency=yes");
	fmt_dur(a->window_end_ns - a->window_start_ns, dur, sizeof(dur));
	aod_format_wall(a->window_end_ns, iso, sizeof(iso));
	if (a->type == AOD_RULE_STUCK)
		add(&l, " stuck=%u oldest=%s at=%s", a->total, dur, iso);
	else
		add(&l, " count=%u/%u window=%s end=%s", a->total, a->acceptable_count, dur, iso);
	if (a->dropped)
		add(&l, " dropped=%u", a->dropped);
	add(&l, " keys=");
	for (uint32_t i = 0; i < a->nkeys && i < AOD_ANOMALY_MAX_KEYS; i++) {
		const struct aod_anomaly_key *k = &a->keys[i];

		add(&l, "%s%s:%u", i ? "," : "", k->key, k->count);
		if (a->type == AOD_RULE_STUCK) {
			fmt_dur(k->max_latency_ns, max, sizeof(max));
			add(&l, "(age=%s)", max);
		}
		if (a->type != AOD_RULE_LATENCY)
			continue;
		fmt_dur(k->threshold_ns, dur, sizeof(dur));
		fmt_dur(k->max_latency_ns, max, sizeof(max));
		if (k->threshold_ns)
			add(&l, "(>=%s,max=%s)", dur, max);
		else
			add(&l, "(max=%s)", max);
	}
	if (a->nkeys == 0)
		add(&l, "-");
	add(&l, " worst=");
	for (uint32_t i = 0; i < a->nworst && i < LINE_WORST; i++) {
		safe_comm(a->worst[i].comm, comm);
		add(&l, "%s%u/%s:", i ? "," : "", a->worst[i].tgid, comm);
		add_event_what(&l, &a->worst[i], a->type);
	}
	if (a->nworst == 0)
		add(&l, "-");
	return l.need > INT_MAX ? INT_MAX : (int)l.need;
}
