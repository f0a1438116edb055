/* SPDX-License-Identifier: MIT */
/*
 * Bundles to S3-compatible object storage (`upload:` in the config,
 * docs/upload.md). The collector hands each finished bundle over with
 * aod_uploader_bundle(), which never blocks: a bounded hand-off queue, what
 * does not fit is counted as dropped. The "Uploader" thread takes the
 * bundles in, records each one in the store's uploads table (queued), and
 * uploads them one at a time, oldest first:
 *
 *   HEAD first when the object may already be there (a retry after an
 *   answer that never came, or a bundle taken back from the store after a
 *   restart): an object whose ETag is the file's MD5 is not sent again;
 *   PUT with Content-MD5 and the SHA-256 of the body, signed with SigV4
 *   (libcurl's CURLOPT_AWS_SIGV4), and the answer's ETag checked against
 *   the MD5;
 *   transient failures (no connection, timeouts, HTTP 408, 429, 5xx, an
 *   ETag that does not match) are retried upload.retries times with
 *   exponential backoff and jitter; anything else (HTTP 4xx: a refused
 *   signature, a missing bucket; missing credentials; the file gone) fails
 *   the bundle at once.
 *
 * The state is written before the next step: queued before the first
 * attempt, uploaded before a local file is deleted (delete_after_upload).
 * At start, rows still queued or uploading are taken back. Credentials are
 * read for each bundle (a rotated file is picked up) and never logged.
 */
#ifndef AOD_UPLOAD_UPLOAD_H
#define AOD_UPLOAD_UPLOAD_H

#include <jansson.h>
#include <stdint.h>

struct aod_agent;
struct aod_uploader;

/* NULL (and 0) when the config has no upload section; -ENOMEM, or -EINVAL
 * when libcurl cannot start. Call before any thread that uses it. */
int aod_uploader_new(struct aod_agent *agent, struct aod_uploader **out);
void aod_uploader_free(struct aod_uploader *u);

/* The worker body (thread "Uploader"). */
int aod_uploader_main(struct aod_agent *agent);

/* A finished bundle at path (any thread; never blocks). u NULL: no-op. */
void aod_uploader_bundle(struct aod_uploader *u, uint64_t anomaly_id, const char *path);

/* {"to" (endpoint/bucket), "state", "queued", "pending", "uploaded", "failed",
 *  "retries", "dropped", "already_there", "bytes", "deleted", "store_errors",
 *  "last_error"} */
json_t *aod_uploader_status_json(struct aod_uploader *u);

/* Counters for /metrics: uploaded, failed, dropped, retries. */
struct aod_upload_counts {
	uint64_t queued, uploaded, failed, dropped, retries, already_there;
};
void aod_uploader_counts(struct aod_uploader *u, struct aod_upload_counts *out);

#endif /* AOD_UPLOAD_UPLOAD_H */
