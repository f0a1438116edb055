/* SPDX-License-Identifier: MIT */
/*
 * Private to src/serve: the JSON API under /api/v1 (docs/api.md). The
 * route table and access rules are in routes.c; each group of endpoints
 * has its own api_*.c.
 *
 * Threads. Handlers run on libmicrohttpd's one server thread and own what
 * is marked "server thread" (the store connection, the config reference).
 * The http worker fills the histogram snapshot once a second (api_hist.c)
 * and sets the token up while no daemon runs. Nothing here takes a lock
 * that probes, detector or collector hold for more than a copy: the store
 * is read through its own read-only connection, histograms from the
 * snapshot, health from its reference-counted latest report.
 */
#ifndef AOD_SERVE_API_INT_H
#define AOD_SERVE_API_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

#define API_TOKEN_HEX 64           /* a token made here: 32 random bytes as hex */
#define API_TOKEN_MAX 128          /* a token file may hold 16..128 printable bytes */
#define API_MAX_BODY 4096          /* a request body longer than this gets 413 */
#define API_DEFAULT_LIMIT 500      /* rows of a store listing unless ?limit= */
#define API_MAX_LIMIT 10000
#define API_QUERY_TIMEOUT_MS 2000  /* a store statement's time limit */
#define API_TEXT_MAX (1 << 20)     /* bytes of summary.txt / manifest.json read */
#define API_HIST_BLK_MAX 64
#define API_HIST_TCP_MAX 64

struct aod_agent;
struct aod_http;
struct aod_query_db;
struct api_hist_snap;

struct aod_api {
	/* Set by the http worker before a daemon starts, read-only while it runs. */
	char token[API_TOKEN_MAX + 1];
	bool token_ok;
	char token_path[PATH_MAX];
	char token_error[320];

	/* Server thread. */
	const struct aod_config *cfg; /* the agent's current config (a reference) */
	uint64_t cfg_gen;
	struct aod_query_db *db;
	char db_path[PATH_MAX];

	/* Histograms: written by the worker, read by handlers, under hist_lock. */
	pthread_mutex_t hist_lock;
	struct api_hist_snap *hist;
};

/* One request, as the handlers see it. */
struct api_req {
	struct aod_http *h;
	struct aod_api *api;
	struct aod_agent *agent;
	const struct aod_config *cfg;
	struct MHD_Connection *conn;
	const char *method;
	const char *rest;          /* the URL after a prefix route's path ("" if none) */
};

/* api.c: life, and the http worker's hooks. */
struct aod_api *aod_api_new(void);
void aod_api_free(struct aod_api *a);
/* The token of cfg (created if missing); logs once. Daemon stopped. */
void aod_api_token_setup(struct aod_api *a, const struct aod_config *cfg);
/* Histograms of the probes into the snapshot (the http worker, 1/s). */
void aod_api_sample(struct aod_api *a, struct aod_agent *agent);
/* The agent's current config for this request (server thread). */
const struct aod_config *api_config(struct aod_api *a, struct aod_agent *agent);

/* api_token.c */
int api_token_load(const char *path, char out[API_TOKEN_MAX + 1], char *why, size_t len);
bool api_bearer_ok(const struct aod_api *a, struct MHD_Connection *conn);
bool api_same(const char *a, const char *b); /* constant time in the contents */

/* api_reply.c */
enum MHD_Result api_send_json(struct MHD_Connection *conn, unsigned status, json_t *body);
__attribute__((format(printf, 3, 4)))
enum MHD_Result api_send_error(struct MHD_Connection *conn, unsigned status, const char *fmt,
			       ...);
/* A JSON string of len bytes: invalid UTF-8 becomes U+FFFD (never NULL but on ENOMEM). */
json_t *api_json_text(const char *s, size_t len);
/* ?name= as wall ns (RFC 3339, -1h, now, or integer ns); 0 if absent. -EINVAL: bad. */
int api_arg_time(struct MHD_Connection *conn, const char *name, int64_t *out);
/* ?limit= within 1..API_MAX_LIMIT, API_DEFAULT_LIMIT if absent. -EINVAL: bad. */
int api_arg_limit(struct MHD_Connection *conn, uint64_t *out);
/* Is a peer on loopback (127/8, ::1, ::ffff:127.x)? */
bool api_peer_loopback(struct MHD_Connection *conn);

/* Endpoints. */
enum MHD_Result api_bundles_list(struct api_req *r);
enum MHD_Result api_bundle(struct api_req *r);     /* rest: "ID" or "ID/download" */
enum MHD_Result api_anomalies(struct api_req *r);
enum MHD_Result api_events(struct api_req *r);
enum MHD_Result api_runs(struct api_req *r);
enum MHD_Result api_processes(struct api_req *r);
enum MHD_Result api_histograms(struct api_req *r); /* rest: "smb", "block", "tcp" */
enum MHD_Result api_health(struct api_req *r);
enum MHD_Result api_config_view(struct api_req *r);
enum MHD_Result api_snapshot(struct api_req *r);
enum MHD_Result api_openapi(struct api_req *r);

#endif /* AOD_SERVE_API_INT_H */
