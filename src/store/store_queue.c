// SPDX-License-Identifier: MIT
/* Records for the store writer and their queue (store_queue.h). */
#include "store/store_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/evjson.h"
#include "common/bqueue.h"

#define PUSH_CHUNK 64

struct aod_store_queue {
	struct aod_bqueue *q;
};

void aod_store_rec_release(struct aod_store_rec *rec)
{
	switch (rec->kind) {
	case AOD_STORE_REC_ANOMALY:
		free(rec->anomaly);
		break;
	case AOD_STORE_REC_BUNDLE:
		free((char *)rec->bundle.rule);
		free((char *)rec->bundle.path);
		free((char *)rec->bundle.error);
		break;
	case AOD_STORE_REC_PROC_START:
	case AOD_STORE_REC_PROC_EXEC:
		free((char *)rec->proc.unit);
		free((char *)rec->proc.filename);
		free((char *)rec->proc.cwd);
		free((char *)rec->proc.argv);
		break;
	case AOD_STORE_REC_EXEC_FAILED:
		free((char *)rec->exec_failed.filename);
		break;
	default:
		break;
	}
	rec->kind = 0;
}

int aod_store_rec_anomaly(struct aod_store_rec *rec, const struct aod_anomaly *a)
{
	memset(rec, 0, sizeof(*rec));
	rec->anomaly = malloc(sizeof(*a));
	if (!rec->anomaly)
		return -ENOMEM;
	memcpy(rec->anomaly, a, sizeof(*a));
	rec->kind = AOD_STORE_REC_ANOMALY;
	return 0;
}

/* strdup that keeps NULL; *ok turns false when memory runs out. */
static char *dup_or_null(const char *s, bool *ok)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*ok = false;
	return d;
}

int aod_store_rec_bundle(struct aod_store_rec *rec, const struct aod_store_bundle *b)
{
	bool ok = true;

	memset(rec, 0, sizeof(*rec));
	rec->kind = AOD_STORE_REC_BUNDLE;
	rec->bundle = *b;
	rec->bundle.rule = dup_or_null(b->rule, &ok);
	rec->bundle.path = dup_or_null(b->path, &ok);
	rec->bundle.error = dup_or_null(b->error, &ok);
	if (!ok)
		aod_store_rec_release(rec);
	return ok ? 0 : -ENOMEM;
}

int aod_store_rec_proc(struct aod_store_rec *rec, enum aod_store_rec_kind kind,
		       const struct aod_store_proc *p)
{
	bool ok = true;

	memset(rec, 0, sizeof(*rec));
	rec->kind = kind;
	rec->proc = *p;
	rec->proc.unit = dup_or_null(p->unit, &ok);
	rec->proc.filename = dup_or_null(p->filename, &ok);
	rec->proc.cwd = dup_or_null(p->cwd, &ok);
	rec->proc.argv = NULL;
	if (p->argv) {
		char *argv = malloc(p->argv_len ? p->argv_len : 1);

		if (argv)
			memcpy(argv, p->argv, p->argv_len);
		ok &= argv != NULL;
		rec->proc.argv = argv;
	}
	if (!ok)
		aod_store_rec_release(rec);
	return ok ? 0 : -ENOMEM;
}

static int write_anomaly(struct aod_store *st, int64_t run_id, const struct aod_anomaly *a)
{
	json_t *obj = aod_anomaly_to_json(a);
	char *json = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	int err = json ? aod_store_put_anomaly(st, run_id, a, json) : -ENOMEM;

	json_decref(obj);
	free(json);
	return err;
}

int aod_store_write_rec(struct aod_store *st, int64_t run_id, const struct aod_store_rec *rec,
			const char *share)
{
	switch (rec->kind) {
	case AOD_STORE_REC_EVENT:
		return aod_store_put_event(st, run_id, &rec->event, share);
	case AOD_STORE_REC_ANOMALY:
		return write_anomaly(st, run_id, rec->anomaly);
	case AOD_STORE_REC_BUNDLE:
		return aod_store_put_bundle(st, run_id, &rec->bundle);
	case AOD_STORE_REC_PROC_START:
		return aod_store_proc_start(st, run_id, &rec->proc);
	case AOD_STORE_REC_PROC_EXEC:
		return aod_store_proc_exec(st, run_id, &rec->proc);
	case AOD_STORE_REC_PROC_EXIT:
		return aod_store_proc_exit(st, run_id, &rec->proc_exit);
	case AOD_STORE_REC_PROC_OOM:
		return aod_store_proc_oom(st, run_id, rec->proc_oom);
	case AOD_STORE_REC_EXEC_FAILED:
		return aod_store_put_exec_failed(st, run_id, &rec->exec_failed);
	}
	return -EINVAL;
}

struct aod_store_queue *aod_store_queue_new(size_t capacity)
{
	struct aod_store_queue *q = calloc(1, sizeof(*q));

	if (q && !(q->q = aod_bqueue_new(capacity, sizeof(struct aod_store_rec)))) {
		free(q);
		return NULL;
	}
	return q;
}

void aod_store_queue_free(struct aod_store_queue *q)
{
	struct aod_store_rec rec;

	if (!q)
		return;
	while (aod_bqueue_pop(q->q, &rec, 1, 0))
		aod_store_rec_release(&rec);
	aod_bqueue_free(q->q);
	free(q);
}

int aod_store_queue_push(struct aod_store_queue *q, struct aod_store_rec *rec)
{
	if (aod_bqueue_push(q->q, rec, 1))
		return 0;
	aod_store_rec_release(rec);
	return -ENOSPC;
}

size_t aod_store_queue_push_events(struct aod_store_queue *q, const struct aod_event *evs,
				   size_t n)
{
	struct aod_store_rec chunk[PUSH_CHUNK];
	size_t dropped = 0;

	for (size_t i = 0; i < n; i += PUSH_CHUNK) {
		size_t m = n - i < PUSH_CHUNK ? n - i : PUSH_CHUNK;

		for (size_t j = 0; j < m; j++) {
			chunk[j].kind = AOD_STORE_REC_EVENT;
			chunk[j].event = evs[i + j];
		}
		dropped += m - aod_bqueue_push(q->q, chunk, m);
	}
	return dropped;
}

size_t aod_store_queue_pop(struct aod_store_queue *q, struct aod_store_rec *out, size_t max,
			   uint64_t deadline_mono_ns)
{
	return aod_bqueue_pop(q->q, out, max, deadline_mono_ns);
}

void aod_store_queue_wake(struct aod_store_queue *q)
{
	aod_bqueue_wake(q->q);
}

uint64_t aod_store_queue_overflows(struct aod_store_queue *q)
{
	return aod_bqueue_overflows(q->q);
}

size_t aod_store_queue_depth(struct aod_store_queue *q)
{
	return aod_bqueue_depth(q->q);
}
