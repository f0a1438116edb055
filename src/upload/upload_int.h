/* SPDX-License-Identifier: MIT */
/*
 * Private to src/upload: the pure parts (backoff, what is worth a retry,
 * object keys, the credentials file format) and the S3 requests. Kept apart
 * from the thread so that the unit tests can reach them.
 */
#ifndef AOD_UPLOAD_UPLOAD_INT_H
#define AOD_UPLOAD_UPLOAD_INT_H

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* ---- backoff.c ---- */

/*
 * Delay before retry number `retry` (1 = the first retry): initial_ms
 * doubled per retry, capped at max_ms, then "equal jitter": half of it
 * fixed, the other half scaled by rnd (0..UINT32_MAX), so that a fleet
 * whose endpoint came back does not retry in step. Always in
 * [cap / 2, cap].
 */
uint64_t aod_upload_backoff_ms(uint32_t initial_ms, uint32_t max_ms, uint32_t retry,
			       uint32_t rnd);

enum aod_upload_verdict {
	AOD_UPLOAD_OK = 0,
	AOD_UPLOAD_RETRY = 1,   /* worth another attempt */
	AOD_UPLOAD_FAIL = 2,    /* will not get better by retrying */
};

/* What an HTTP status of a PUT means (0: no answer at all: retry). */
enum aod_upload_verdict aod_upload_http_verdict(long status);

/* "<prefix with {host} replaced><file>" into out; -ENAMETOOLONG. Characters
 * of host outside [A-Za-z0-9._-] become '_'. */
int aod_upload_object_key(const char *prefix, const char *host, const char *file, char *out,
			  size_t len);

/* ---- creds.c ---- */

#define AOD_UPLOAD_KEY_LEN 256
#define AOD_UPLOAD_SECRET_LEN 256
#define AOD_UPLOAD_TOKEN_LEN 4096

struct aod_upload_creds {
	char access_key[AOD_UPLOAD_KEY_LEN];
	char secret_key[AOD_UPLOAD_SECRET_LEN];
	char session_token[AOD_UPLOAD_TOKEN_LEN]; /* "" = none */
};

/*
 * The keys from credentials_file (AWS shared-credentials lines
 * "aws_access_key_id = ...", "aws_secret_access_key = ...", optionally
 * "aws_session_token = ..."; [sections], # and ; comments ignored), or,
 * with file "" , from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN. A file that anyone but its owner may read is refused
 * (-EPERM). why gets a sentence that names the file or variables, never a
 * value. 0 or -errno.
 */
int aod_upload_creds_load(const char *file, struct aod_upload_creds *c, char *why, size_t len);
/* Parse the text of a credentials file (for tests and creds_load). */
int aod_upload_creds_parse(const char *text, struct aod_upload_creds *c, char *why, size_t len);
void aod_upload_creds_wipe(struct aod_upload_creds *c);

/* ---- s3_lib.c ---- */

/* libcurl and libcrypto, dlopen()ed (see s3_lib.c for why): the functions
 * s3.c calls, with the headers' own prototypes. */
struct aod_s3_lib {
	void *curl, *crypto;   /* dlopen handles */
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_global_cleanup) *global_cleanup;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(EVP_MD_CTX_new) *md_ctx_new;
	__typeof__(EVP_MD_CTX_free) *md_ctx_free;
	__typeof__(EVP_DigestInit_ex) *digest_init;
	__typeof__(EVP_DigestUpdate) *digest_update;
	__typeof__(EVP_DigestFinal_ex) *digest_final;
	__typeof__(EVP_md5) *md5;
	__typeof__(EVP_sha256) *sha256;
	__typeof__(EVP_EncodeBlock) *encode_block;
};

/* Load both libraries and every function: 0, or -ENOENT with why saying
 * which library or function is missing. Never unloaded. */
int aod_s3_lib_open(struct aod_s3_lib *lib, char *why, size_t len);

/* ---- s3.c ---- */

struct aod_s3_digest {
	char md5_hex[33];
	char md5_b64[25];
	char sha256_hex[65];
	uint64_t size;
};

/* MD5 and SHA-256 of the open file fd (read from offset 0). 0 or -errno. */
int aod_s3_digest_fd(const struct aod_s3_lib *lib, int fd, struct aod_s3_digest *d);

struct aod_s3_request {
	const struct aod_s3_lib *lib;
	const struct aod_config *cfg;       /* upload.* */
	const struct aod_upload_creds *creds;
	const char *url;                    /* endpoint/bucket/key */
	/* return nonzero to abort the transfer (the agent stops) */
	int (*abort_cb)(void *ctx);
	void *abort_ctx;
};

struct aod_s3_result {
	long status;           /* HTTP status, 0 if none came */
	int curl_code;         /* CURLcode */
	bool aborted;          /* abort_cb said stop */
	char etag[80];         /* the answer's ETag, quotes removed */
	char error[256];       /* what went wrong, for the log: never a credential */
};

/* HEAD url. */
int aod_s3_head(const struct aod_s3_request *rq, struct aod_s3_result *res);
/* PUT the file fd (d: its digests) to url. */
int aod_s3_put(const struct aod_s3_request *rq, int fd, const struct aod_s3_digest *d,
	       struct aod_s3_result *res);

/* Load the libraries and curl_global_init (once per process, before
 * threads): 0, or -ENOENT / -EINVAL with why filled. */
int aod_s3_global_init(struct aod_s3_lib *lib, char *why, size_t len);
void aod_s3_global_cleanup(const struct aod_s3_lib *lib);

#endif /* AOD_UPLOAD_UPLOAD_INT_H */
