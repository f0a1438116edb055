// SPDX-License-Identifier: MIT
/*
 * The Uploader thread: finished bundles from the collector (a bounded
 * hand-off), a bounded list of bundles waiting, oldest first, each one
 * recorded in the store's uploads table and uploaded (upload.h has the
 * protocol). A bundle that fails for a reason a retry can fix waits its
 * backoff at the head of the list: the ones behind it would meet the same
 * endpoint. New bundles keep being taken in (and recorded) meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/agent.h"
#include "collect/bundle.h"
#include "common/bqueue.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "store/store.h"
#include "upload/upload.h"
#include "upload/upload_int.h"

#define HANDOFF_CAP 64
#define TAKE_BATCH 16
#define POLL_MS 250
#define FILE_LEN (AOD_BUNDLE_STEM_LEN + 16)
#define KEY_LEN (AOD_UPLOAD_PREFIX_LEN + 256 + FILE_LEN)
#define URL_LEN (AOD_UPLOAD_URL_LEN + AOD_UPLOAD_BUCKET_LEN + KEY_LEN + 4)

struct handoff {
	char file[FILE_LEN];
	uint64_t anomaly_id;
	uint64_t wall_ns;
};

struct job {
	char file[FILE_LEN];
	uint64_t anomaly_id;
	uint64_t queued_ns;
	uint32_t attempts;        /* PUTs tried */
	bool maybe_there;         /* HEAD before the next PUT */
	uint64_t not_before_ns;   /* monotonic */
	bool have_digest;
	struct aod_s3_digest d;
	char last_error[256];
};

struct aod_uploader {
	struct aod_agent *agent;
	struct aod_bqueue *handoff;
	struct job *jobs;         /* ring of cap */
	size_t cap, head, len;
	struct aod_store *store;  /* NULL: state in memory only (logged) */
	struct aod_s3_lib lib;    /* libcurl and libcrypto, loaded by _new */
	bool started;
	char host[256];
	uint64_t rnd;
	_Atomic uint64_t queued, uploaded, failed, retries, dropped, already_there, bytes,
		deleted, store_errors;
	pthread_mutex_t lock;     /* state, last_error, where */
	char state[48];
	char last_error[256];
	char where[AOD_UPLOAD_URL_LEN + AOD_UPLOAD_BUCKET_LEN + 2]; /* endpoint/bucket */
};

/* endpoint/bucket for the status (the config may change at a reload). */
static void set_where(struct aod_uploader *u, const struct aod_config *cfg)
{
	pthread_mutex_lock(&u->lock);
	snprintf(u->where, sizeof(u->where), "%s/%s", cfg->upload.endpoint, cfg->upload.bucket);
	pthread_mutex_unlock(&u->lock);
}

/* ---- creation, hand-off, status ---- */

int aod_uploader_new(struct aod_agent *agent, struct aod_uploader **out)
{
	const struct aod_config *cfg = agent->cfg;
	struct aod_uploader *u;
	struct utsname un;
	char why[256];
	int err;

	*out = NULL;
	if (!cfg->upload.enabled)
		return 0;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->agent = agent;
	u->cap = cfg->upload.queue_size;
	u->jobs = calloc(u->cap, sizeof(*u->jobs));
	u->handoff = aod_bqueue_new(HANDOFF_CAP, sizeof(struct handoff));
	if (!u->jobs || !u->handoff) {
		aod_bqueue_free(u->handoff);
		free(u->jobs);
		free(u);
		return -ENOMEM;
	}
	err = aod_s3_global_init(&u->lib, why, sizeof(why));
	if (err) {
		log_err("upload: %s", why);
		aod_bqueue_free(u->handoff);
		free(u->jobs);
		free(u);
		return err;
	}
	snprintf(u->host, sizeof(u->host), "%s", uname(&un) ? "unknown" : un.nodename);
	u->rnd = aod_wall_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
	pthread_mutex_init(&u->lock, NULL);
	snprintf(u->state, sizeof(u->state), "starting");
	set_where(u, cfg);
	*out = u;
	return 0;
}

void aod_uploader_free(struct aod_uploader *u)
{
	if (!u)
		return;
	aod_store_close(u->store);
	aod_bqueue_free(u->handoff);
	free(u->jobs);
	pthread_mutex_destroy(&u->lock);
	aod_s3_global_cleanup(&u->lib);
	free(u);
}

void aod_uploader_bundle(struct aod_uploader *u, uint64_t anomaly_id, const char *path)
{
	const char *slash = strrchr(path, '/');
	struct handoff h = { .anomaly_id = anomaly_id, .wall_ns = aod_wall_ns() };
	const char *file = slash ? slash + 1 : path;

	if (!u)
		return;
	snprintf(h.file, sizeof(h.file), "%s", file);
	if (strlen(file) >= sizeof(h.file) || aod_bqueue_push(u->handoff, &h, 1) != 1) {
		atomic_fetch_add(&u->dropped, 1);
		log_warn("upload: hand-off queue full: bundle %s will not be uploaded "
			 "(counted as dropped)", h.file);
	}
}

static void set_state(struct aod_uploader *u, const char *state, const char *error)
{
	pthread_mutex_lock(&u->lock);
	snprintf(u->state, sizeof(u->state), "%s", state);
	if (error)
		snprintf(u->last_error, sizeof(u->last_error), "%s", error);
	pthread_mutex_unlock(&u->lock);
}

void aod_uploader_counts(struct aod_uploader *u, struct aod_upload_counts *out)
{
	memset(out, 0, sizeof(*out));
	if (!u)
		return;
	out->queued = atomic_load(&u->queued);
	out->uploaded = atomic_load(&u->uploaded);
	out->failed = atomic_load(&u->failed);
	out->dropped = atomic_load(&u->dropped);
	out->retries = atomic_load(&u->retries);
	out->already_there = atomic_load(&u->already_there);
}

json_t *aod_uploader_status_json(struct aod_uploader *u)
{
	json_t *o;

	pthread_mutex_lock(&u->lock);
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
		      "to", u->where, "state", u->state,
		      "queued", (json_int_t)atomic_load(&u->queued),
		      "pending", (json_int_t)(aod_bqueue_depth(u->handoff) + __atomic_load_n(&u->len, __ATOMIC_RELAXED)),
		      "uploaded", (json_int_t)atomic_load(&u->uploaded),
		      "failed", (json_int_t)atomic_load(&u->failed),
		      "retries", (json_int_t)atomic_load(&u->retries),
		      "dropped", (json_int_t)atomic_load(&u->dropped),
		      "already_there", (json_int_t)atomic_load(&u->already_there),
		      "bytes", (json_int_t)atomic_load(&u->bytes),
		      "deleted", (json_int_t)atomic_load(&u->deleted),
		      "store_errors", (json_int_t)atomic_load(&u->store_errors),
		      "last_error", u->last_error);
	pthread_mutex_unlock(&u->lock);
	return o;
}

/* ---- the store ---- */

#define BUNDLE_PATH_LEN (PATH_MAX + FILE_LEN + 16)

static void bundle_path(const struct aod_config *cfg, const char *file, char *out)
{
	snprintf(out, BUNDLE_PATH_LEN, "%s/%s/%s", cfg->output_dir, AOD_BUNDLE_DIR, file);
}

/* A bundle file name into a FILE_LEN buffer (names are far shorter). */
static void copy_name(char *dst, const char *src)
{
	size_t n = strnlen(src, FILE_LEN - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void store_error(struct aod_uploader *u, const char *what, int err)
{
	/* logged each time: these are rare, and each one is a state not kept */
	atomic_fetch_add(&u->store_errors, 1);
	log_err("upload: store %s: %s: %s", aod_store_path(u->store), what,
		aod_store_errmsg(u->store)[0] ? aod_store_errmsg(u->store) : strerror(-err));
}

static void paths_of(struct aod_uploader *u, const struct aod_config *cfg, const char *file,
		     char *key, char *url)
{
	if (aod_upload_object_key(cfg->upload.prefix, u->host, file, key, KEY_LEN))
		snprintf(key, KEY_LEN, "%s", file);
	snprintf(url, URL_LEN, "%s/%s/%s", cfg->upload.endpoint, cfg->upload.bucket, key);
}

static void record(struct aod_uploader *u, const struct aod_config *cfg, const struct job *j,
		   const char *state, bool insert, uint64_t uploaded_ns, const char *etag,
		   bool deleted)
{
	char key[KEY_LEN], url[URL_LEN], path[BUNDLE_PATH_LEN];
	struct aod_store_upload row = {
		.bundle = j->file, .anomaly_id = j->anomaly_id, .path = path, .key = key,
		.url = url, .size = j->have_digest ? j->d.size : 0,
		.md5 = j->have_digest ? j->d.md5_hex : NULL, .state = state,
		.attempts = j->attempts, .queued_ns = j->queued_ns, .updated_ns = aod_wall_ns(),
		.uploaded_ns = uploaded_ns, .etag = etag,
		.error = j->last_error[0] ? j->last_error : NULL, .deleted = deleted,
	};
	int err;

	if (!u->store)
		return;
	paths_of(u, cfg, j->file, key, url);
	bundle_path(cfg, j->file, path);
	err = insert ? aod_store_upload_put(u->store, &row) : aod_store_upload_update(u->store, &row);
	if (err)
		store_error(u, state, err);
}

/* ---- the list of waiting bundles ---- */

static struct job *head_job(struct aod_uploader *u)
{
	return u->len ? &u->jobs[u->head] : NULL;
}

static void pop_head(struct aod_uploader *u)
{
	u->head = (u->head + 1) % u->cap;
	__atomic_store_n(&u->len, u->len - 1, __ATOMIC_RELAXED);
}

static struct job *append(struct aod_uploader *u)
{
	struct job *j;

	if (u->len == u->cap)
		return NULL;
	j = &u->jobs[(u->head + u->len) % u->cap];
	memset(j, 0, sizeof(*j));
	__atomic_store_n(&u->len, u->len + 1, __ATOMIC_RELAXED);
	return j;
}

static void take_one(struct aod_uploader *u, const struct aod_config *cfg,
		     const struct handoff *h)
{
	struct job *j = append(u), dropped = { 0 };

	if (!j) {
		copy_name(dropped.file, h->file);
		dropped.anomaly_id = h->anomaly_id;
		dropped.queued_ns = h->wall_ns;
		snprintf(dropped.last_error, sizeof(dropped.last_error),
			 "upload queue full (upload.queue_size %u)", cfg->upload.queue_size);
		atomic_fetch_add(&u->dropped, 1);
		log_warn("upload: queue full (%u bundles waiting): bundle %s will not be uploaded "
			 "(counted as dropped)", cfg->upload.queue_size, h->file);
		record(u, cfg, &dropped, "dropped", true, 0, NULL, false);
		return;
	}
	copy_name(j->file, h->file);
	j->anomaly_id = h->anomaly_id;
	j->queued_ns = h->wall_ns;
	atomic_fetch_add(&u->queued, 1);
	record(u, cfg, j, "queued", true, 0, NULL, false);
}

/* Take bundles in from the hand-off until deadline (monotonic ns; one
 * look without waiting if it has passed). */
static void take_in(struct aod_uploader *u, const struct aod_config *cfg, uint64_t deadline)
{
	struct handoff hs[TAKE_BATCH];
	size_t n;

	do {
		n = aod_bqueue_pop(u->handoff, hs, TAKE_BATCH, deadline);
		for (size_t i = 0; i < n; i++)
			take_one(u, cfg, &hs[i]);
	} while (!aod_agent_stopping(u->agent) && (n || aod_mono_ns() < deadline));
}

struct resume_ctx {
	struct aod_uploader *u;
	const struct aod_config *cfg;
	size_t taken, dropped;
};

static int resume_one(void *arg, const struct aod_store_upload *row)
{
	struct resume_ctx *rc = arg;
	struct aod_bundle_name name;
	struct job *j = NULL;

	/* only a bundle's own name: the path is made from it (a hand-edited row
	 * must not point the uploader anywhere else) */
	if (aod_bundle_name_parse(row->bundle, &name))
		j = append(rc->u);
	if (!j) {
		struct job d = { .anomaly_id = row->anomaly_id, .queued_ns = row->queued_ns };

		copy_name(d.file, row->bundle);
		snprintf(d.last_error, sizeof(d.last_error), "%s",
			 rc->u->len == rc->u->cap ? "upload queue full at start"
						  : "not a bundle file name");
		atomic_fetch_add(&rc->u->dropped, 1);
		rc->dropped++;
		record(rc->u, rc->cfg, &d, "dropped", false, 0, NULL, false);
		return 0;
	}
	copy_name(j->file, row->bundle);
	j->anomaly_id = row->anomaly_id;
	j->queued_ns = row->queued_ns;
	j->attempts = row->attempts;
	/* it may have gone up before the agent stopped (or died) */
	j->maybe_there = true;
	atomic_fetch_add(&rc->u->queued, 1);
	rc->taken++;
	return 0;
}

static void open_store(struct aod_uploader *u, const struct aod_config *cfg)
{
	struct resume_ctx rc = { .u = u, .cfg = cfg };
	char err[AOD_STORE_ERR_LEN] = "";
	int e = aod_store_open(cfg->store.path, &u->store, err, sizeof(err));

	if (e) {
		atomic_fetch_add(&u->store_errors, 1);
		log_err("upload: %s; upload state is kept in memory only (a restart forgets "
			"what is queued)", err);
		set_state(u, "running without store", err);
		return;
	}
	e = aod_store_upload_pending(u->store, resume_one, &rc);
	if (e < 0)
		store_error(u, "reading pending uploads", e);
	if (rc.taken || rc.dropped)
		log_notice("upload: %zu bundles still to upload from before the restart%s",
			   rc.taken, rc.dropped ? " (some dropped: queue full)" : "");
}

/* ---- one attempt ---- */

static int stopping_cb(void *ctx)
{
	return aod_agent_stopping(ctx);
}

static uint32_t next_rand(struct aod_uploader *u)
{
	u->rnd ^= u->rnd << 13;
	u->rnd ^= u->rnd >> 7;
	u->rnd ^= u->rnd << 17;
	return (uint32_t)(u->rnd >> 16);
}

static void finish_failed(struct aod_uploader *u, const struct aod_config *cfg, struct job *j,
			  const char *url)
{
	atomic_fetch_add(&u->failed, 1);
	log_err("upload: bundle %s to %s failed after %u attempt%s: %s", j->file, url,
		j->attempts, j->attempts == 1 ? "" : "s", j->last_error);
	set_state(u, "idle", j->last_error);
	record(u, cfg, j, "failed", false, 0, NULL, false);
	pop_head(u);
}

static void finish_uploaded(struct aod_uploader *u, const struct aod_config *cfg, struct job *j,
			    const char *url, const char *etag, bool already)
{
	char path[BUNDLE_PATH_LEN];
	bool deleted = false;

	j->last_error[0] = '\0';
	atomic_fetch_add(already ? &u->already_there : &u->uploaded, 1);
	if (!already)
		atomic_fetch_add(&u->bytes, j->d.size);
	log_notice("upload: bundle %s %s %s (%llu bytes, md5 %s)", j->file,
		   already ? "was already at" : "uploaded to", url,
		   (unsigned long long)j->d.size, j->d.md5_hex);
	/* recorded before the file goes: a crash in between leaves a file too many */
	record(u, cfg, j, "uploaded", false, aod_wall_ns(), etag, false);
	if (cfg->upload.delete_after_upload) {
		bundle_path(cfg, j->file, path);
		if (unlink(path) == 0 || errno == ENOENT) {
			deleted = true;
			atomic_fetch_add(&u->deleted, 1);
			record(u, cfg, j, "uploaded", false, aod_wall_ns(), etag, true);
		} else {
			log_warn("upload: bundle %s uploaded, but deleting %s failed: %s", j->file,
				 path, strerror(errno));
		}
	}
	(void)deleted;
	set_state(u, "idle", NULL);
	pop_head(u);
}

/* A failure a retry may fix: wait, or give up when the retries are spent. */
static void retry_later(struct aod_uploader *u, const struct aod_config *cfg, struct job *j,
			const char *url)
{
	uint64_t ms;

	if (j->attempts > cfg->upload.retries) {
		finish_failed(u, cfg, j, url);
		return;
	}
	ms = aod_upload_backoff_ms(cfg->upload.backoff_initial_ms, cfg->upload.backoff_max_ms,
				   j->attempts, next_rand(u));
	j->not_before_ns = aod_mono_ns() + ms * AOD_NSEC_PER_MSEC;
	atomic_fetch_add(&u->retries, 1);
	log_warn("upload: bundle %s: %s; retry %u of %u in %llu ms", j->file, j->last_error,
		 j->attempts, cfg->upload.retries, (unsigned long long)ms);
	set_state(u, "waiting to retry", j->last_error);
	record(u, cfg, j, "queued", false, 0, NULL, false);
}

/* HEAD: is the object there with this content? 1 yes, 0 no (go on and PUT),
 * -1 the attempt ended (retry or failure handled). */
static int check_there(struct aod_uploader *u, const struct aod_config *cfg, struct job *j,
		       const struct aod_s3_request *rq)
{
	struct aod_s3_result res;
	int err = aod_s3_head(rq, &res);

	if (res.aborted)
		return -1;
	if (!err && !strcmp(res.etag, j->d.md5_hex)) {
		finish_uploaded(u, cfg, j, rq->url, res.etag, true);
		return -1;
	}
	if (!err || res.status == 404)
		return 0; /* absent, or there with other content: ours goes over it */
	snprintf(j->last_error, sizeof(j->last_error), "%s", res.error);
	if (aod_upload_http_verdict(res.status) == AOD_UPLOAD_FAIL) {
		finish_failed(u, cfg, j, rq->url);
		return -1;
	}
	j->attempts++; /* a HEAD that cannot get through counts as an attempt */
	retry_later(u, cfg, j, rq->url);
	return -1;
}

static void put_once(struct aod_uploader *u, const struct aod_config *cfg, struct job *j,
		     const struct aod_s3_request *rq, int fd)
{
	struct aod_s3_result res;
	int err;

	j->attempts++;
	record(u, cfg, j, "uploading", false, 0, NULL, false);
	err = aod_s3_put(rq, fd, &j->d, &res);
	if (res.aborted) {
		j->attempts--; /* cut short by the stop: taken back at the next start */
		return;
	}
	if (!err && res.etag[0] && strcmp(res.etag, j->d.md5_hex))
		snprintf(res.error, sizeof(res.error), "PUT: the server's ETag %.40s is not the "
			 "file's MD5 %s", res.etag, j->d.md5_hex);
	else if (!err) {
		finish_uploaded(u, cfg, j, rq->url, res.etag, false);
		return;
	}
	snprintf(j->last_error, sizeof(j->last_error), "%s", res.error);
	if (!err || aod_upload_http_verdict(res.status) == AOD_UPLOAD_RETRY) {
		/* the request may have arrived though its answer did not: look first */
		j->maybe_there = true;
		retry_later(u, cfg, j, rq->url);
	} else {
		finish_failed(u, cfg, j, rq->url);
	}
}

static void attempt(struct aod_uploader *u, const struct aod_config *cfg, struct job *j)
{
	char key[KEY_LEN], url[URL_LEN], path[BUNDLE_PATH_LEN], why[256] = "";
	struct aod_upload_creds *creds = calloc(1, sizeof(*creds));
	struct aod_s3_request rq = { .lib = &u->lib, .cfg = cfg, .creds = creds, .url = url,
				     .abort_cb = stopping_cb, .abort_ctx = u->agent };
	int fd, err;

	paths_of(u, cfg, j->file, key, url);
	bundle_path(cfg, j->file, path);
	if (!creds) {
		j->not_before_ns = aod_mono_ns() + AOD_NSEC_PER_SEC;
		return;
	}
	set_state(u, "uploading", NULL);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(j->last_error, sizeof(j->last_error), "cannot open %.180s: %s%s", path,
			 strerror(errno), errno == ENOENT ? " (removed by retention?)" : "");
		finish_failed(u, cfg, j, url);
		goto out;
	}
	if (!j->have_digest) {
		err = aod_s3_digest_fd(&u->lib, fd, &j->d);
		if (err) {
			snprintf(j->last_error, sizeof(j->last_error), "reading %.180s: %s", path,
				 strerror(-err));
			finish_failed(u, cfg, j, url);
			goto out;
		}
		j->have_digest = true;
	}
	err = aod_upload_creds_load(cfg->upload.credentials_file, creds, why, sizeof(why));
	if (err) {
		snprintf(j->last_error, sizeof(j->last_error), "%s", why);
		finish_failed(u, cfg, j, url);
		goto out;
	}
	if (!j->maybe_there || check_there(u, cfg, j, &rq) == 0)
		put_once(u, cfg, j, &rq, fd);
out:
	if (fd >= 0)
		close(fd);
	aod_upload_creds_wipe(creds);
	free(creds);
}

/* ---- the thread ---- */

int aod_uploader_main(struct aod_agent *agent)
{
	struct aod_uploader *u = agent->uploader;
	const struct aod_config *cfg = NULL;
	uint64_t gen = 0;

	aod_agent_config_refresh(agent, &cfg, &gen);
	if (!u->started) {
		u->started = true;
		open_store(u, cfg);
		set_state(u, "idle", NULL);
	}
	while (!aod_agent_stopping(agent)) {
		uint64_t now = aod_mono_ns(), deadline = now + POLL_MS * AOD_NSEC_PER_MSEC;
		struct job *j = head_job(u);

		if (aod_agent_config_refresh(agent, &cfg, &gen))
			set_where(u, cfg);
		if (j && j->not_before_ns <= now) {
			attempt(u, cfg, j);
			take_in(u, cfg, 0); /* what arrived meanwhile: recorded now */
			continue;
		}
		if (j && j->not_before_ns < deadline)
			deadline = j->not_before_ns;
		take_in(u, cfg, deadline);
	}
	aod_config_unref(cfg);
	return 0;
}
