// SPDX-License-Identifier: MIT
#include "agent/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agent/evjson.h"

struct aod_replay {
	struct aod_detector *det;
	uint64_t last_mono; /* newest event time fed */
	bool started;
};

struct aod_replay *aod_replay_new(const struct aod_config *cfg, aod_anomaly_fn fn, void *ctx)
{
	struct aod_replay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->det = aod_detector_new(cfg, fn, ctx);
	if (!r->det) {
		free(r);
		return NULL;
	}
	return r;
}

void aod_replay_free(struct aod_replay *r)
{
	if (!r)
		return;
	aod_detector_free(r->det);
	free(r);
}

const struct aod_detector *aod_replay_detector(const struct aod_replay *r)
{
	return r->det;
}

int aod_replay_feed(struct aod_replay *r, const struct aod_event *ev)
{
	r->started = true;
	if (ev->mono_ns > r->last_mono)
		r->last_mono = ev->mono_ns;
	return aod_detector_add(r->det, ev);
}

int aod_replay_finish(struct aod_replay *r)
{
	if (!r->started)
		return 0;
	/* what is still due fires at its time, as the live loop would */
	return aod_detector_advance(r->det, UINT64_MAX) + aod_detector_flush(r->det);
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

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* One line: 0, or -EINVAL with msg (without the "NAME:LINE: " prefix). */
static int replay_line(struct file_replay *f, const char *line, size_t n, char *msg, size_t len)
{
	struct aod_event ev;
	uint64_t start = 0;
	int rc = aod_record_line_decode(line, n, &ev, &start, msg, len);

	if (rc == AOD_RECORD_LINE_HEADER) {
		if (f->seen_content) {
			snprintf(msg, len, "a recording header (\"aod_record\") is allowed only on the first line");
			return -EINVAL;
		}
		return 0;
	}
	if (rc == AOD_RECORD_LINE_EVENT) {
		aod_replay_feed(f->r, &ev);
		f->stats->events++;
	}
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
	ssize_t n;
	int rc = 0;

	memset(f.stats, 0, sizeof(*f.stats));
	f.r = aod_replay_new(cfg, count_anomaly, &f);
	if (!f.r) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	errno = 0;
	while ((n = getline(&line, &cap, in)) >= 0) {
		f.stats->lines++;
		if (blank(line, (size_t)n))
			continue;
		rc = replay_line(&f, line, (size_t)n, msg, sizeof(msg));
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
