// SPDX-License-Identifier: MIT
#include "agent/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/evjson.h"

struct aod_replay {
	struct aod_detector *det;
	uint64_t window_ns;
	aod_anomaly_fn fn;
	void *ctx;

	bool have_start;       /* header gave started_mono_ns */
	uint64_t start_hint;
	bool started;          /* first event seen */
	uint64_t t0;           /* virtual clock origin */
	uint64_t next_eval;    /* next boundary t0 + k*W */
	uint64_t last_mono;    /* newest event time fed */
	int64_t wall_offset;   /* wall_ns - mono_ns of the newest event */
};

struct aod_replay *aod_replay_new(const struct aod_config *cfg, aod_anomaly_fn fn, void *ctx)
{
	struct aod_replay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->det = aod_detector_new(cfg);
	if (!r->det) {
		free(r);
		return NULL;
	}
	r->window_ns = (uint64_t)(cfg->watch_interval_sec ? cfg->watch_interval_sec : 1) *
		       1000000000ULL;
	r->fn = fn;
	r->ctx = ctx;
	return r;
}

void aod_replay_free(struct aod_replay *r)
{
	if (!r)
		return;
	aod_detector_free(r->det);
	free(r);
}

void aod_replay_set_start(struct aod_replay *r, uint64_t started_mono_ns)
{
	if (r->started || !started_mono_ns)
		return;
	r->have_start = true;
	r->start_hint = started_mono_ns;
}

const struct aod_detector *aod_replay_detector(const struct aod_replay *r)
{
	return r->det;
}

static uint64_t wall_at(const struct aod_replay *r, uint64_t mono)
{
	return (uint64_t)((int64_t)mono + r->wall_offset);
}

static int evaluate_at(struct aod_replay *r, uint64_t t)
{
	return aod_detector_evaluate(r->det, t, wall_at(r, t), r->fn, r->ctx);
}

/*
 * Evaluate every boundary before t. A boundary whose window cannot hold
 * any event fed so far evaluates nothing, so a long quiet gap is skipped
 * in one step instead of one evaluation per interval.
 */
static int advance_to(struct aod_replay *r, uint64_t t)
{
	int fired = 0;

	while (r->next_eval < t) {
		if (r->next_eval - r->window_ns >= r->last_mono) {
			uint64_t k = (t - r->t0 + r->window_ns - 1) / r->window_ns;

			r->next_eval = r->t0 + k * r->window_ns;
			break;
		}
		fired += evaluate_at(r, r->next_eval);
		r->next_eval += r->window_ns;
	}
	return fired;
}

int aod_replay_feed(struct aod_replay *r, const struct aod_event *ev)
{
	int fired = 0;

	if (!r->started) {
		r->started = true;
		r->t0 = r->have_start && r->start_hint <= ev->mono_ns ? r->start_hint : ev->mono_ns;
		r->next_eval = r->t0 + r->window_ns;
		r->last_mono = ev->mono_ns;
		r->wall_offset = (int64_t)(ev->wall_ns - ev->mono_ns);
	}
	fired += advance_to(r, ev->mono_ns);
	r->wall_offset = (int64_t)(ev->wall_ns - ev->mono_ns);
	if (ev->mono_ns > r->last_mono)
		r->last_mono = ev->mono_ns;
	if (aod_detector_add(r->det, ev))
		fired += aod_detector_evaluate_emergency(r->det, ev->mono_ns, ev->wall_ns, r->fn,
							 r->ctx);
	return fired;
}

int aod_replay_finish(struct aod_replay *r)
{
	int fired = 0;

	if (!r->started)
		return 0;
	while (r->next_eval <= r->last_mono + r->window_ns) {
		fired += evaluate_at(r, r->next_eval);
		r->next_eval += r->window_ns;
	}
	return fired;
}

/* ---- files ---- */

struct file_replay {
	struct aod_replay *r;
	const char *name;
	const struct aod_replay_opts *opts;
	struct aod_replay_stats *stats;
	bool seen_content;  /* a non-blank line was read (header allowed before) */
};

static void count_anomaly(const struct aod_anomaly *a, void *ctx)
{
	struct file_replay *f = ctx;

	f->stats->anomalies++;
	if (f->opts->on_anomaly)
		f->opts->on_anomaly(a, f->opts->ctx);
}

static bool blank(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

/* One line: 0, or -EINVAL with msg (without the "NAME:LINE: " prefix). */
static int replay_line(struct file_replay *f, const char *line, char *msg, size_t len)
{
	json_error_t jerr;
	struct aod_event ev;
	uint64_t start = 0;
	json_t *obj;
	int rc;

	obj = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		snprintf(msg, len, "invalid JSON at column %d: %s", jerr.column, jerr.text);
		return -EINVAL;
	}
	if (aod_record_is_header(obj)) {
		if (f->seen_content) {
			snprintf(msg, len, "a recording header (\"aod_record\") is allowed only on the first line");
			rc = -EINVAL;
		} else {
			rc = aod_record_header_from_json(obj, &start, msg, len);
			if (rc == 0)
				aod_replay_set_start(f->r, start);
		}
	} else {
		rc = aod_event_from_json(obj, &ev, msg, len);
		if (rc == 0) {
			aod_replay_feed(f->r, &ev);
			f->stats->events++;
		}
	}
	json_decref(obj);
	return rc;
}

int aod_replay_stream(FILE *in, const char *name, const struct aod_config *cfg,
		      const struct aod_replay_opts *opts, struct aod_replay_stats *stats,
		      char *err, size_t errlen)
{
	struct aod_replay_opts no_opts = { 0 };
	struct aod_replay_stats local;
	struct file_replay f = {
		.name = name,
		.opts = opts ? opts : &no_opts,
		.stats = stats ? stats : &local,
	};
	char msg[512], where[768];
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	memset(f.stats, 0, sizeof(*f.stats));
	f.r = aod_replay_new(cfg, count_anomaly, &f);
	if (!f.r) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	errno = 0;
	while (getline(&line, &cap, in) >= 0) {
		f.stats->lines++;
		if (blank(line))
			continue;
		rc = replay_line(&f, line, msg, sizeof(msg));
		f.seen_content = true;
		if (rc == 0)
			continue;
		snprintf(where, sizeof(where), "%s:%" PRIu64 ": %s", name, f.stats->lines, msg);
		if (!f.opts->skip_bad) {
			snprintf(err, errlen, "%s", where);
			break;
		}
		f.stats->skipped++;
		if (f.opts->on_bad_line)
			f.opts->on_bad_line(where, f.opts->ctx);
		rc = 0;
	}
	if (rc == 0 && ferror(in)) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: read error after line %" PRIu64 ": %s", name,
			 f.stats->lines, strerror(-rc));
	}
	if (rc == 0)
		aod_replay_finish(f.r);
	free(line);
	aod_replay_free(f.r);
	return rc;
}

int aod_replay_file(const char *path, const struct aod_config *cfg,
		    const struct aod_replay_opts *opts, struct aod_replay_stats *stats,
		    char *err, size_t errlen)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	int rc;

	if (!in) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	rc = aod_replay_stream(in, strcmp(path, "-") == 0 ? "<stdin>" : path, cfg, opts, stats,
			       err, errlen);
	if (in != stdin)
		fclose(in);
	return rc;
}
