// SPDX-License-Identifier: MIT
/*
 * Requests: auth, routing, method checks and the three pages. Runs on
 * libmicrohttpd's server thread; reads only the metrics snapshot. No
 * request body is ever read: a request that has one (or a method other
 * than GET/HEAD) is answered at the first call, when only its headers are
 * in, and its connection closed. A plain GET is answered at the second
 * call, once libmicrohttpd has the whole request, which keeps the
 * connection alive for the next scrape.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "serve/accept.h"
#include "serve/http_int.h"
#include "serve/metrics.h"

#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CT_TEXT "text/plain; charset=utf-8"
#define ALLOWED "GET, HEAD"

static const char index_html[] =
	"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>aod</title></head>\n"
	"<body><h1>aod " AOD_VERSION "</h1>\n<ul>\n"
	"<li><a href=\"metrics\">/metrics</a>: Prometheus metrics</li>\n"
	"<li><a href=\"api/v1/status\">/api/v1/status</a>: probes, loss counters, anomalies "
	"(the JSON of <code>aod status --json</code>)</li>\n"
	"</ul></body></html>\n";

struct reply {
	unsigned status;
	const char *type;
	const void *body;
	size_t len;
	enum MHD_ResponseMemoryMode mode;
	bool gzipped;
};

static enum MHD_Result send_reply(struct MHD_Connection *conn, const struct reply *r)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(r->len, (void *)r->body, r->mode);
	enum MHD_Result ret;

	if (!resp) {
		if (r->mode == MHD_RESPMEM_MUST_FREE)
			free((void *)r->body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (r->gzipped)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, ALLOWED);
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct reply r = { status, CT_TEXT, text, strlen(text), MHD_RESPMEM_PERSISTENT, false };

	return send_reply(conn, &r);
}

static enum MHD_Result send_unauthorized(struct MHD_Connection *conn)
{
	static const char text[] = "401 Unauthorized\n";
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		sizeof(text) - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CT_TEXT);
	ret = MHD_queue_basic_auth_fail_response(conn, "aod", resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Accept-Encoding takes gzip (serve/accept.h). */
static bool accepts_gzip(struct MHD_Connection *conn)
{
	const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_ACCEPT_ENCODING);

	return aod_accepts_gzip(ae, ae ? strlen(ae) : 0);
}

/* gzip of in[len] into a malloc'd buffer; NULL on failure. */
static void *gzip(const char *in, size_t len, size_t *outlen)
{
	z_stream zs = { 0 };
	unsigned char *out;
	uLong cap;

	if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	cap = deflateBound(&zs, (uLong)len);
	out = malloc(cap);
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	if (!out || deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		free(out);
		out = NULL;
	}
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static enum MHD_Result send_maybe_gzip(struct MHD_Connection *conn, const char *type,
				       const char *body, size_t len)
{
	struct reply r = { MHD_HTTP_OK, type, body, len, MHD_RESPMEM_MUST_COPY, false };
	void *z = accepts_gzip(conn) ? gzip(body, len, &r.len) : NULL;

	if (z) {
		r.body = z;
		r.mode = MHD_RESPMEM_MUST_FREE;
		r.gzipped = true;
	} else {
		r.len = len;
	}
	return send_reply(conn, &r);
}

static enum MHD_Result serve_index(struct aod_http *h, struct MHD_Connection *conn)
{
	struct reply r = { MHD_HTTP_OK, "text/html; charset=utf-8", index_html,
			   sizeof(index_html) - 1, MHD_RESPMEM_PERSISTENT, false };

	(void)h;
	return send_reply(conn, &r);
}

static enum MHD_Result serve_metrics(struct aod_http *h, struct MHD_Connection *conn)
{
	int err;

	aod_prom_reset(&h->body);
	err = aod_metrics_render(h->metrics, &h->body);
	if (err == -EAGAIN)
		return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "503 no metrics snapshot yet: try again in a second\n");
	if (err)
		return send_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "500 out of memory\n");
	return send_maybe_gzip(conn, CT_METRICS, h->body.buf, h->body.len);
}

static enum MHD_Result serve_status(struct aod_http *h, struct MHD_Connection *conn)
{
	char *json = aod_metrics_status_json(h->metrics);
	enum MHD_Result ret;

	if (!json)
		return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "503 no status snapshot yet: try again in a second\n");
	ret = send_maybe_gzip(conn, "application/json", json, strlen(json));
	free(json);
	return ret;
}

static const struct route {
	const char *path;
	enum MHD_Result (*fn)(struct aod_http *h, struct MHD_Connection *conn);
} routes[] = {
	{ "/", serve_index },
	{ "/metrics", serve_metrics },
	{ "/api/v1/status", serve_status },
};

static bool has_body(struct MHD_Connection *conn, const char *method)
{
	return (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) ||
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) ||
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result answer(struct aod_http *h, struct MHD_Connection *conn, const char *url,
			      const char *method)
{
	if (h->cfg.nusers && !http_auth_ok(h, conn))
		return send_unauthorized(conn);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(url, routes[i].path))
			continue;
		if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
			return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					 "405 Method Not Allowed: use GET\n");
		return routes[i].fn(h, conn);
	}
	return send_text(conn, MHD_HTTP_NOT_FOUND, "404 Not Found: try /metrics\n");
}

/* Per-request state in *con_cls: only these two addresses. */
static const char headers_in, answered;

enum MHD_Result http_handle(void *cls, struct MHD_Connection *conn, const char *url,
			    const char *method, const char *version, const char *upload_data,
			    size_t *upload_data_size, void **con_cls)
{
	struct aod_http *h = cls;

	(void)version;
	(void)upload_data;
	if (*con_cls == &answered) { /* the body of a request already answered */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!*con_cls) {
		http_conn_request_started(h, conn);
		atomic_fetch_add(&h->requests, 1);
		if (!has_body(conn, method)) {
			*con_cls = (void *)&headers_in;
			return MHD_YES; /* answered at the next call */
		}
	}
	*con_cls = (void *)&answered;
	return answer(h, conn, url, method);
}
