// SPDX-License-Identifier: MIT
/*
 * Requests: auth, routing, method checks, access rules and the pages that
 * are not the API's. Runs on libmicrohttpd's server thread; reads only
 * snapshots (metrics, histograms), the health report's reference, the
 * bundle directory and the store's read-only connection.
 *
 * No request body is ever read: a request that has one (or a method other
 * than GET/HEAD) is answered at the first call, when only its headers are
 * in, and one whose Content-Length is over API_MAX_BODY gets 413. A plain
 * GET is answered at the second call, once libmicrohttpd has the whole
 * request, which keeps the connection alive for the next scrape.
 *
 * Access (docs/api.md): with http.basic_auth_users every request needs
 * basic auth or the API token. /, the UI's files, /metrics,
 * /api/v1/status, /api/v1/histograms and the OpenAPI document are open to
 * whoever may connect (a non-loopback listener needs TLS and basic auth,
 * or insecure_remote); everything else needs "Authorization: Bearer
 * <token>". A POST whose Origin is not this server's own gets 403 (a page
 * of another site cannot make the agent write bundles). No cookies are
 * ever set or read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "agent/agent.h"
#include "serve/api_int.h"
#include "serve/accept.h"
#include "serve/http_int.h"
#include "serve/metrics.h"
#include "serve/static.h"

#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CT_TEXT "text/plain; charset=utf-8"

struct reply {
	unsigned status;
	const char *type;
	const void *body;
	size_t len;
	enum MHD_ResponseMemoryMode mode;
	bool gzipped;
	const char *allow; /* 405: the methods the path has */
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
	if (r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct reply r = { status, CT_TEXT, text, strlen(text), MHD_RESPMEM_PERSISTENT, false,
			   NULL };

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
	struct reply r = { MHD_HTTP_OK, type, body, len, MHD_RESPMEM_MUST_COPY, false, NULL };
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

static enum MHD_Result serve_metrics(struct api_req *q)
{
	struct aod_http *h = q->h;
	struct MHD_Connection *conn = q->conn;
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

static enum MHD_Result serve_status(struct api_req *q)
{
	struct MHD_Connection *conn = q->conn;
	char *json = aod_metrics_status_json(q->h->metrics);
	enum MHD_Result ret;

	if (!json)
		return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "503 no status snapshot yet: try again in a second\n");
	ret = send_maybe_gzip(conn, "application/json", json, strlen(json));
	free(json);
	return ret;
}

enum access {
	OPEN,  /* whoever may connect (loopback, or past TLS + basic auth) */
	TOKEN, /* Authorization: Bearer <the API token> */
};

enum { GET = 1, POST = 2 };

static const struct route {
	const char *path;
	bool prefix;       /* path + "/" + rest */
	unsigned methods;  /* GET includes HEAD */
	enum access access;
	enum MHD_Result (*fn)(struct api_req *r);
} routes[] = {
	{ "/metrics", false, GET, OPEN, serve_metrics },
	{ "/api/v1/status", false, GET, OPEN, serve_status },
	{ "/api/v1/openapi.json", false, GET, OPEN, api_openapi },
	{ "/api/v1/histograms", true, GET, OPEN, api_histograms },
	{ "/api/v1/anomalies", false, GET, TOKEN, api_anomalies },
	{ "/api/v1/events", false, GET, TOKEN, api_events },
	{ "/api/v1/runs", false, GET, TOKEN, api_runs },
	{ "/api/v1/processes", false, GET, TOKEN, api_processes },
	{ "/api/v1/bundles", false, GET, TOKEN, api_bundles_list },
	{ "/api/v1/bundles", true, GET, TOKEN, api_bundle },
	{ "/api/v1/health", false, GET, TOKEN, api_health },
	{ "/api/v1/config", false, GET, TOKEN, api_config_view },
	{ "/api/v1/snapshot", false, POST, TOKEN, api_snapshot },
};

static bool has_body(struct MHD_Connection *conn, const char *method)
{
	return (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) ||
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) ||
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/* The path, as libmicrohttpd decoded it (%2e%2e is ".." by now): no dot
 * segments, empty segments, backslashes, control bytes or leftover '%'. */
static bool path_clean(const char *url)
{
	if (url[0] != '/')
		return false;
	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '%')
			return false;
		if (p[0] == '/' && p[1] == '/')
			return false;
		if (p[0] == '/' && p[1] == '.' && (!p[2] || p[2] == '/' ||
						   (p[2] == '.' && (!p[3] || p[3] == '/'))))
			return false;
	}
	return true;
}

static const struct route *find_route(const char *url, const char **rest)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *rt = &routes[i];
		size_t n = strlen(rt->path);

		if (strncmp(url, rt->path, n))
			continue;
		if (!rt->prefix && !url[n]) {
			*rest = "";
			return rt;
		}
		if (rt->prefix && url[n] == '/' && url[n + 1]) {
			*rest = url + n + 1;
			return rt;
		}
	}
	return NULL;
}

static bool method_ok(const struct route *rt, const char *method)
{
	if (!strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD))
		return rt->methods & GET;
	return !strcmp(method, MHD_HTTP_METHOD_POST) && (rt->methods & POST);
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *conn, const struct route *rt)
{
	struct reply r = { MHD_HTTP_METHOD_NOT_ALLOWED, CT_TEXT, NULL, 0, MHD_RESPMEM_PERSISTENT,
			   false, rt->methods & GET ? "GET, HEAD" : "POST" };

	r.body = rt->methods & GET ? "405 Method Not Allowed: use GET\n"
				   : "405 Method Not Allowed: use POST\n";
	r.len = strlen(r.body);
	return send_reply(conn, &r);
}

/* A POST from a browser carries Origin: it must be this server's own. */
static bool origin_ok(struct MHD_Connection *conn)
{
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
	const char *rest;

	if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
		return false;
	if (!origin)
		return true; /* not a browser's cross-site request */
	if (!host)
		return false;
	if (!strncmp(origin, "http://", 7))
		rest = origin + 7;
	else if (!strncmp(origin, "https://", 8))
		rest = origin + 8;
	else
		return false;
	return !strcmp(rest, host);
}

static bool body_too_large(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	unsigned long long n;

	if (!cl)
		return false;
	n = strtoull(cl, &end, 10);
	return end == cl || *end || n > API_MAX_BODY;
}

static enum MHD_Result answer(struct aod_http *h, struct MHD_Connection *conn, const char *url,
			      const char *method)
{
	struct api_req q = { .h = h, .api = h->api, .agent = h->agent, .conn = conn,
			     .method = method, .rest = "" };
	bool bearer = api_bearer_ok(h->api, conn);
	const struct route *rt;

	if (h->cfg.nusers && !bearer && !http_auth_ok(h, conn))
		return send_unauthorized(conn);
	if (!path_clean(url))
		return api_send_error(conn, MHD_HTTP_BAD_REQUEST,
				      "bad path: no '.' or '..' segments, '//', '\\\\', '%%' "
				      "or control characters");
	if (body_too_large(conn))
		return api_send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE,
				      "request body over %d bytes (no endpoint takes one)",
				      API_MAX_BODY);
	rt = find_route(url, &q.rest);
	if (!rt) {
		if (!strncmp(url, "/api/", 5) || !strcmp(url, "/metrics"))
			return api_send_error(conn, MHD_HTTP_NOT_FOUND,
					      "no such endpoint (see /api/v1/openapi.json)");
		if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
			return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					 "405 Method Not Allowed: use GET\n");
		return aod_static_serve(conn, url);
	}
	if (!method_ok(rt, method))
		return method_not_allowed(conn, rt);
	if (rt->access == TOKEN && !bearer) {
		if (!h->api->token_ok)
			return api_send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					      "no API token: %s", h->api->token_error);
		return api_send_error(conn, MHD_HTTP_UNAUTHORIZED,
				      "needs Authorization: Bearer <token> (the token is in %s)",
				      h->api->token_path);
	}
	if ((rt->methods & POST) && !origin_ok(conn))
		return api_send_error(conn, MHD_HTTP_FORBIDDEN,
				      "Origin is not this server's: a POST must come from the "
				      "agent's own page or a client without Origin");
	q.cfg = api_config(h->api, h->agent);
	return rt->fn(&q);
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
