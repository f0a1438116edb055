/* SPDX-License-Identifier: MIT */
/*
 * The agent's HTTP server: /metrics (Prometheus text 0.0.4, gzip when the
 * scraper accepts it), the JSON API under /api/v1 (docs/api.md; api_int.h)
 * and the embedded web UI at / (static.h).
 *
 * Threads. aod_http_main() is an agent worker (AOD_W_HTTP): it owns the
 * libmicrohttpd daemon (started, restarted on a config change of the http
 * section, stopped), samples the metrics snapshot once a second and cuts
 * slow clients. libmicrohttpd serves every connection from its one
 * internal epoll thread; requests only read the snapshot (src/serve/
 * metrics.h), so no client can make probes, detector or collector wait.
 *
 * Limits: 64 connections at once (later ones wait in the listen backlog),
 * 16 per client address on a non-loopback listener, 32 KiB of memory per
 * connection (a larger request header gets 431), 30 s of inactivity, and
 * a request's headers must be complete within 10 s of the connection
 * opening (40 s of the previous response on a kept-alive connection), or
 * the connection is shut down.
 *
 * Auth: with http.basic_auth_users every request needs HTTP basic auth
 * (bcrypt hashes checked with crypt_r; a user's last good password is
 * remembered, so a scrape costs one bcrypt only when it changes).
 */
#ifndef AOD_SERVE_HTTP_H
#define AOD_SERVE_HTTP_H

#include <jansson.h>

struct aod_agent;
struct aod_http;

/* {"listening": bool, "listen": "127.0.0.1:9435", "tls": bool, "auth": bool,
 *  "error": "...", "requests": N}; NULL http: not running. */
json_t *aod_http_status_json(struct aod_http *http);

/* After the worker has been joined. NULL is a no-op. */
void aod_http_free(struct aod_http *http);

#endif /* AOD_SERVE_HTTP_H */
