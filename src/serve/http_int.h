/* SPDX-License-Identifier: MIT */
/*
 * Private to src/serve: the server's state, shared by the daemon lifecycle
 * (http.c), the request handlers (routes.c) and basic auth (auth.c).
 */
#ifndef AOD_SERVE_HTTP_INT_H
#define AOD_SERVE_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "serve/prom.h"

#define HTTP_MAX_CONNECTIONS 64
#define HTTP_MAX_PER_IP_REMOTE 16
#define HTTP_CONNECTION_MEMORY (32 * 1024)
#define HTTP_IDLE_TIMEOUT_SEC 30
#define HTTP_HEADER_TIMEOUT_SEC 10

struct aod_api;
struct aod_metrics;
struct crypt_data;

/* One open connection, for the slow-client watchdog. */
struct http_conn {
	bool used;
	bool cut;
	int fd;
	uint64_t deadline_mono_ns; /* UINT64_MAX while a request is being answered */
};

/* A user's last password that matched, so that each scrape is not a bcrypt. */
struct http_auth_cache {
	char password[AOD_HTTP_HASH_LEN];
	bool valid;
};

struct aod_http {
	struct aod_agent *agent;
	struct aod_metrics *metrics;
	struct aod_api *api;       /* the /api/v1 state (api_int.h) */
	struct MHD_Daemon *daemon;

	/* The http section the daemon runs with: set before it starts, read
	 * by the handlers, never changed while it runs. */
	struct {
		char listen[AOD_HTTP_LISTEN_LEN];
		char tls_cert_file[PATH_MAX];
		char tls_key_file[PATH_MAX];
		uint32_t nusers;
		struct {
			char name[AOD_HTTP_USER_LEN];
			char hash[AOD_HTTP_HASH_LEN];
		} users[AOD_HTTP_MAX_USERS];
		bool insecure_remote;
		char token_file[PATH_MAX];
	} cfg;
	struct http_auth_cache auth_cache[AOD_HTTP_MAX_USERS]; /* server thread only */
	struct crypt_data *crypt;                              /* server thread only */
	struct aod_prom body;   /* render buffer, server thread only */

	pthread_mutex_t conn_lock;
	struct http_conn conns[HTTP_MAX_CONNECTIONS];

	pthread_mutex_t state_lock; /* the fields below, for aod status */
	bool listening, tls, auth;
	char where[AOD_HTTP_LISTEN_LEN];
	char error[256];
	_Atomic uint64_t requests;
};

/* routes.c: the access handler given to MHD_start_daemon. */
enum MHD_Result http_handle(void *cls, struct MHD_Connection *conn, const char *url,
			    const char *method, const char *version, const char *upload_data,
			    size_t *upload_data_size, void **con_cls);

/* auth.c: does the request carry a configured user and its password? */
bool http_auth_ok(struct aod_http *h, struct MHD_Connection *conn);

/* http.c: the headers of a request arrived (lifts its header deadline). */
void http_conn_request_started(struct aod_http *h, struct MHD_Connection *conn);

#endif /* AOD_SERVE_HTTP_INT_H */
