// SPDX-License-Identifier: MIT
/*
 * The S3 requests the uploader makes, with libcurl: PUT of a bundle and
 * HEAD of its object, signed with AWS Signature V4 (CURLOPT_AWS_SIGV4, the
 * payload's SHA-256 in x-amz-content-sha256 so the signature covers the
 * body, Content-MD5 so the server checks it arrived whole), path-style URLs
 * (endpoint/bucket/key). The digests come from OpenSSL's EVP. Both
 * libraries are called through the table of s3_lib.c (dlopen).
 *
 * Credentials go to libcurl and nowhere else: no verbose output, and the
 * error text is libcurl's error buffer (host, port, cause) or the S3 error
 * code of the answer, never a header.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "upload/upload_int.h"

#define BODY_MAX 4096
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

int aod_s3_global_init(struct aod_s3_lib *lib, char *why, size_t len)
{
	int err = aod_s3_lib_open(lib, why, len);

	if (err)
		return err;
	if (lib->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, len, "curl_global_init failed");
		return -EINVAL;
	}
	return 0;
}

void aod_s3_global_cleanup(const struct aod_s3_lib *lib)
{
	if (lib->global_cleanup)
		lib->global_cleanup();
}

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int aod_s3_digest_fd(const struct aod_s3_lib *lib, int fd, struct aod_s3_digest *d)
{
	EVP_MD_CTX *md5 = lib->md_ctx_new(), *sha = lib->md_ctx_new();
	unsigned char buf[65536], m[EVP_MAX_MD_SIZE], s[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0, slen = 0;
	off_t off = 0;
	ssize_t n;
	int err = 0;

	memset(d, 0, sizeof(*d));
	if (!md5 || !sha || !lib->digest_init(md5, lib->md5(), NULL) ||
	    !lib->digest_init(sha, lib->sha256(), NULL)) {
		err = -ENOMEM;
		goto out;
	}
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		lib->digest_update(md5, buf, (size_t)n);
		lib->digest_update(sha, buf, (size_t)n);
		off += n;
	}
	if (n < 0) {
		err = -errno;
		goto out;
	}
	lib->digest_final(md5, m, &mlen);
	lib->digest_final(sha, s, &slen);
	hex(m, mlen, d->md5_hex);
	hex(s, slen, d->sha256_hex);
	lib->encode_block((unsigned char *)d->md5_b64, m, (int)mlen);
	d->size = (uint64_t)off;
out:
	lib->md_ctx_free(md5);
	lib->md_ctx_free(sha);
	return err;
}

struct transfer {
	const struct aod_s3_request *rq;
	struct aod_s3_result *res;
	int fd;
	off_t off;
	char body[BODY_MAX + 1];
	size_t body_len;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct transfer *t = arg;
	ssize_t n = pread(t->fd, buf, size * nitems, t->off);

	if (n < 0)
		return CURL_READFUNC_ABORT;
	t->off += n;
	return (size_t)n;
}

static int seek_cb(void *arg, curl_off_t offset, int origin)
{
	struct transfer *t = arg;

	if (origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	t->off = (off_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb, room = BODY_MAX - t->body_len;

	memcpy(t->body + t->body_len, data, n < room ? n : room);
	t->body_len += n < room ? n : room;
	t->body[t->body_len] = '\0';
	return n;
}

/* "ETag: "abc"" -> abc */
static size_t header_cb(char *data, size_t size, size_t nitems, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nitems, i = 5, j = 0;

	if (n > 5 && !strncasecmp(data, "etag:", 5)) {
		while (i < n && (data[i] == ' ' || data[i] == '"'))
			i++;
		while (i < n && data[i] != '"' && data[i] != '\r' && data[i] != '\n' &&
		       j + 1 < sizeof(t->res->etag))
			t->res->etag[j++] = data[i++];
		t->res->etag[j] = '\0';
	}
	return n;
}

static int progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct transfer *t = arg;

	if (t->rq->abort_cb && t->rq->abort_cb(t->rq->abort_ctx)) {
		t->res->aborted = true;
		return 1;
	}
	return 0;
}

/* <Code>X</Code> of an S3 error body, letters and digits only, or "". */
static void s3_error_code(const char *body, char *out, size_t len)
{
	const char *p = strstr(body, "<Code>");
	size_t n = 0;

	out[0] = '\0';
	if (!p)
		return;
	for (p += 6; *p && *p != '<' && n + 1 < len; p++)
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			out[n++] = *p;
	out[n] = '\0';
}

static struct curl_slist *add_header(const struct aod_s3_lib *lib, struct curl_slist *l,
				     const char *name, const char *value, bool *oom)
{
	char line[AOD_UPLOAD_TOKEN_LEN + 64];
	struct curl_slist *n;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	n = lib->slist_append(l, line);
	explicit_bzero(line, sizeof(line));
	if (!n)
		*oom = true;
	return n ? n : l;
}

static CURL *easy_new(struct transfer *t, char *errbuf)
{
	const struct aod_s3_lib *lib = t->rq->lib;
	const struct aod_config *cfg = t->rq->cfg;
	char sigv4[AOD_UPLOAD_REGION_LEN + 32];
	CURL *h = lib->easy_init();

	if (!h)
		return NULL;
	snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", cfg->upload.region);
	lib->easy_setopt(h, CURLOPT_URL, t->rq->url);
	lib->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	lib->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	lib->easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
	lib->easy_setopt(h, CURLOPT_USERNAME, t->rq->creds->access_key);
	lib->easy_setopt(h, CURLOPT_PASSWORD, t->rq->creds->secret_key);
	lib->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)cfg->upload.connect_timeout_sec);
	lib->easy_setopt(h, CURLOPT_TIMEOUT, (long)cfg->upload.timeout_sec);
	lib->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	lib->easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	lib->easy_setopt(h, CURLOPT_WRITEDATA, t);
	lib->easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	lib->easy_setopt(h, CURLOPT_HEADERDATA, t);
	lib->easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	lib->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	lib->easy_setopt(h, CURLOPT_XFERINFODATA, t);
	return h;
}

/* Run the transfer; res gets the status and, on failure, a sentence. */
static int perform(CURL *h, struct transfer *t, const char *errbuf, const char *what)
{
	struct aod_s3_result *res = t->res;
	char code[64];
	CURLcode rc = t->rq->lib->easy_perform(h);

	res->curl_code = (int)rc;
	t->rq->lib->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
	if (rc != CURLE_OK) {
		res->status = 0;
		snprintf(res->error, sizeof(res->error), "%s: %.240s", what,
			 errbuf[0] ? errbuf : t->rq->lib->easy_strerror(rc));
		return res->aborted ? -ECANCELED : -EIO;
	}
	if (res->status >= 200 && res->status < 300)
		return 0;
	s3_error_code(t->body, code, sizeof(code));
	snprintf(res->error, sizeof(res->error), "%s: HTTP %ld%s%s", what, res->status,
		 code[0] ? " " : "", code);
	return -EIO;
}

/* HEAD (d NULL) or PUT of fd with its digests d. */
static int request(const struct aod_s3_request *rq, int fd, const struct aod_s3_digest *d,
		   struct aod_s3_result *res)
{
	const struct aod_s3_lib *lib = rq->lib;
	struct transfer t = { .rq = rq, .res = res, .fd = fd };
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	bool oom = false;
	CURL *h;
	int err;

	memset(res, 0, sizeof(*res));
	h = easy_new(&t, errbuf);
	if (!h)
		return -ENOMEM;
	if (d) {
		lib->easy_setopt(h, CURLOPT_UPLOAD, 1L);
		lib->easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		lib->easy_setopt(h, CURLOPT_READDATA, &t);
		lib->easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
		lib->easy_setopt(h, CURLOPT_SEEKDATA, &t);
		lib->easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)d->size);
		hdrs = add_header(lib, hdrs, "Content-Type", "application/zstd", &oom);
		hdrs = add_header(lib, hdrs, "Content-MD5", d->md5_b64, &oom);
		hdrs = add_header(lib, hdrs, "x-amz-content-sha256", d->sha256_hex, &oom);
		/* no "Expect:" to turn 100-continue off: libcurl would sign the
		 * empty header it then leaves out, and the signature would not match */
	} else {
		lib->easy_setopt(h, CURLOPT_NOBODY, 1L);
		/* the SHA-256 of the empty body: S3 wants the header on every request */
		hdrs = add_header(lib, hdrs, "x-amz-content-sha256", EMPTY_SHA256, &oom);
	}
	if (rq->creds->session_token[0])
		hdrs = add_header(lib, hdrs, "x-amz-security-token", rq->creds->session_token, &oom);
	lib->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	err = oom ? -ENOMEM : perform(h, &t, errbuf, d ? "PUT" : "HEAD");
	lib->easy_cleanup(h);
	lib->slist_free_all(hdrs);
	return err;
}

int aod_s3_head(const struct aod_s3_request *rq, struct aod_s3_result *res)
{
	return request(rq, -1, NULL, res);
}

int aod_s3_put(const struct aod_s3_request *rq, int fd, const struct aod_s3_digest *d,
	       struct aod_s3_result *res)
{
	return request(rq, fd, d, res);
}
