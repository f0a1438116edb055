// SPDX-License-Identifier: MIT
/*
 * The http worker: the libmicrohttpd daemon's life (listen socket, TLS,
 * limits; restarted when the http section of a reloaded config changes),
 * the metrics sampler and the slow-client watchdog. See http.h.
 */
#include "serve/http.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/timeutil.h"
#include "serve/api_int.h"
#include "serve/http_int.h"
#include "serve/metrics.h"

#define SAMPLE_MS 1000
#define RETRY_LISTEN_SEC 5
#define PEM_MAX_BYTES (1 << 20)

/* ---- state for aod status ------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static void set_state(struct aod_http *h, bool listening, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&h->state_lock);
	h->listening = listening;
	h->tls = h->cfg.tls_cert_file[0] != '\0';
	h->auth = h->cfg.nusers > 0;
	snprintf(h->where, sizeof(h->where), "%s", h->cfg.listen);
	va_start(ap, fmt);
	vsnprintf(h->error, sizeof(h->error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&h->state_lock);
}

json_t *aod_http_status_json(struct aod_http *h)
{
	json_t *o;

	if (!h)
		return json_pack("{s:b, s:s, s:s}", "listening", 0, "listen", "", "error",
				 "not started");
	pthread_mutex_lock(&h->state_lock);
	o = json_pack("{s:b, s:s, s:b, s:b, s:s, s:I}", "listening", h->listening, "listen",
		      h->where, "tls", h->tls, "auth", h->auth,
		      "error", h->error, "requests", (json_int_t)atomic_load(&h->requests));
	pthread_mutex_unlock(&h->state_lock);
	return o;
}

/* ---- connections: the slow-client watchdog ------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct aod_http *h = cls;
	struct http_conn *c = *socket_context;

	pthread_mutex_lock(&h->conn_lock);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		for (int i = 0; i < HTTP_MAX_CONNECTIONS && ci && !c; i++)
			if (!h->conns[i].used)
				c = &h->conns[i];
		if (c) {
			*c = (struct http_conn){ .used = true, .fd = ci->connect_fd,
				.deadline_mono_ns = aod_mono_ns() +
					HTTP_HEADER_TIMEOUT_SEC * AOD_NSEC_PER_SEC };
			*socket_context = c;
		}
	} else if (c) { /* closed: MHD closes the fd after this returns */
		c->used = false;
		*socket_context = NULL;
	}
	pthread_mutex_unlock(&h->conn_lock);
}

static struct http_conn *conn_slot(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void http_conn_request_started(struct aod_http *h, struct MHD_Connection *conn)
{
	struct http_conn *c = conn_slot(conn);

	pthread_mutex_lock(&h->conn_lock);
	if (c)
		c->deadline_mono_ns = UINT64_MAX;
	pthread_mutex_unlock(&h->conn_lock);
}

/* Answered: the next request's headers have the idle time plus the header time. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct aod_http *h = cls;
	struct http_conn *c = conn_slot(conn);

	(void)con_cls;
	(void)toe;
	pthread_mutex_lock(&h->conn_lock);
	if (c)
		c->deadline_mono_ns = aod_mono_ns() + (HTTP_IDLE_TIMEOUT_SEC +
			HTTP_HEADER_TIMEOUT_SEC) * AOD_NSEC_PER_SEC;
	pthread_mutex_unlock(&h->conn_lock);
}

/* Shut down connections whose request headers are late. The fd stays MHD's
 * (closed only after its close notification, which takes conn_lock). */
static void cut_slow_clients(struct aod_http *h)
{
	uint64_t now = aod_mono_ns();

	pthread_mutex_lock(&h->conn_lock);
	for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		struct http_conn *c = &h->conns[i];

		if (c->used && !c->cut && now > c->deadline_mono_ns) {
			shutdown(c->fd, SHUT_RDWR);
			c->cut = true;
			log_info("http: closed a connection whose request did not arrive within "
				 "%d s", HTTP_HEADER_TIMEOUT_SEC);
		}
	}
	pthread_mutex_unlock(&h->conn_lock);
}

/* ---- the daemon ---------------------------------------------------------- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	aod_vlog(AOD_LOG_DEBUG, fmt, ap); /* what clients do wrong: not worth more */
}

static int read_pem(const char *path, char **out)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > PEM_MAX_BYTES) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	if (n != st.st_size) {
		err = buf ? (n < 0 ? -errno : -EIO) : -ENOMEM;
		free(buf);
	} else {
		buf[n] = '\0';
		*out = buf;
	}
	close(fd);
	return err;
}

static int listen_socket(const struct aod_netaddr *a)
{
	int one = 1, zero = 0, fd, err;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->wildcard) /* ":PORT": IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) || listen(fd, SOMAXCONN)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

struct tls_pem {
	char *cert, *key;
};

static int load_tls(struct aod_http *h, struct tls_pem *pem, char *why, size_t len)
{
	int err;

	if (!h->cfg.tls_cert_file[0])
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(why, len, "libmicrohttpd was built without TLS");
		return -ENOTSUP;
	}
	err = read_pem(h->cfg.tls_cert_file, &pem->cert);
	if (err) {
		snprintf(why, len, "tls_cert_file %.150s: %s", h->cfg.tls_cert_file, strerror(-err));
		return err;
	}
	err = read_pem(h->cfg.tls_key_file, &pem->key);
	if (err)
		snprintf(why, len, "tls_key_file %.150s: %s", h->cfg.tls_key_file, strerror(-err));
	return err;
}

static struct MHD_Daemon *start_daemon(struct aod_http *h, int fd, bool loopback,
				       const struct tls_pem *pem)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL },
		{ MHD_OPTION_LISTEN_SOCKET, fd, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		  loopback ? HTTP_MAX_CONNECTIONS : HTTP_MAX_PER_IP_REMOTE, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONNECTION_MEMORY, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_TIMEOUT_SEC, NULL },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, h },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, h },
		{ pem->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, pem->cert },
		{ pem->key ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, pem->key },
		{ MHD_OPTION_END, 0, NULL },
	};

	if (pem->cert)
		flags |= MHD_USE_TLS;
	return MHD_start_daemon(flags, 0, NULL, NULL, http_handle, h, MHD_OPTION_ARRAY, opts,
				MHD_OPTION_END);
}

/* Starts the daemon for h->cfg; on failure sets the status error and
 * returns -errno (logged by the caller, once per distinct error). */
static int http_start(struct aod_http *h)
{
	struct tls_pem pem = { 0 };
	struct aod_netaddr a;
	char why[256];
	int fd = -1, err;

	err = aod_netaddr_parse(h->cfg.listen, &a, why, sizeof(why));
	if (!err)
		err = load_tls(h, &pem, why, sizeof(why));
	if (!err && (fd = listen_socket(&a)) < 0) {
		err = fd;
		snprintf(why, sizeof(why), "%s", strerror(-err));
	}
	if (!err) {
		h->daemon = start_daemon(h, fd, aod_netaddr_is_loopback(&a), &pem);
		if (!h->daemon) {
			err = -EIO;
			snprintf(why, sizeof(why), "libmicrohttpd did not start (see debug log)");
			close(fd);
		}
	}
	if (pem.key)
		explicit_bzero(pem.key, strlen(pem.key));
	free(pem.cert);
	free(pem.key);
	if (err)
		set_state(h, false, "%s", why);
	else
		set_state(h, true, "%s", "");
	return err;
}

static void http_stop(struct aod_http *h)
{
	if (h->daemon)
		MHD_stop_daemon(h->daemon); /* closes the listen socket and every connection */
	h->daemon = NULL;
	memset(h->auth_cache, 0, sizeof(h->auth_cache));
	set_state(h, false, "%s", h->cfg.listen[0] ? "stopped" : "off (http.listen is \"\")");
}

/* ---- the worker ---------------------------------------------------------- */

static struct aod_http *http_get(struct aod_agent *agent)
{
	struct aod_http *h = __atomic_load_n(&agent->http, __ATOMIC_ACQUIRE);

	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->metrics = aod_metrics_new()) || !(h->api = aod_api_new())) {
		if (h)
			aod_metrics_free(h->metrics);
		free(h);
		return NULL;
	}
	h->agent = agent;
	aod_prom_init(&h->body);
	pthread_mutex_init(&h->conn_lock, NULL);
	pthread_mutex_init(&h->state_lock, NULL);
	__atomic_store_n(&agent->http, h, __ATOMIC_RELEASE);
	return h;
}

void aod_http_free(struct aod_http *h)
{
	if (!h)
		return;
	http_stop(h);
	aod_metrics_free(h->metrics);
	aod_api_free(h->api);
	aod_prom_free(&h->body);
	free(h->crypt);
	pthread_mutex_destroy(&h->conn_lock);
	pthread_mutex_destroy(&h->state_lock);
	free(h);
}

static bool http_config_changed(const struct aod_http *h, const struct aod_config *cfg)
{
	return sizeof(h->cfg) != sizeof(cfg->http) || memcmp(&h->cfg, &cfg->http, sizeof(h->cfg));
}

/* (Re)start when the http section changed or a start failed a while ago. */
static void keep_listening(struct aod_http *h, const struct aod_config *cfg, bool changed,
			   uint64_t *retry_at, int *last_err)
{
	int err;

	if (!changed && (h->daemon || !h->cfg.listen[0] || aod_mono_ns() < *retry_at))
		return;
	http_stop(h);
	memcpy(&h->cfg, &cfg->http, sizeof(h->cfg));
	if (!h->cfg.listen[0])
		return;
	aod_api_token_setup(h->api, cfg); /* before the server thread reads it */
	err = http_start(h);
	if (!err) {
		log_notice("http: listening on %s%s%s", h->cfg.listen,
			   h->cfg.tls_cert_file[0] ? " (TLS)" : "",
			   h->cfg.nusers ? " (basic auth)" : "");
	} else if (err != *last_err) {
		log_warn("http: cannot listen on %s: %s; retrying every %d s", h->cfg.listen,
			 h->error, RETRY_LISTEN_SEC);
	}
	*last_err = err;
	*retry_at = aod_mono_ns() + RETRY_LISTEN_SEC * AOD_NSEC_PER_SEC;
}

int aod_http_main(struct aod_agent *agent)
{
	struct aod_http *h = http_get(agent);
	const struct aod_config *cfg = NULL;
	uint64_t gen = 0, retry_at = 0;
	int last_err = 0;

	if (!h)
		return -ENOMEM;
	aod_agent_config_refresh(agent, &cfg, &gen);
	keep_listening(h, cfg, true, &retry_at, &last_err);
	while (!aod_agent_stopping(agent)) {
		bool fresh = aod_agent_config_refresh(agent, &cfg, &gen);

		keep_listening(h, cfg, fresh && http_config_changed(h, cfg), &retry_at, &last_err);
		if (h->daemon) {
			aod_metrics_sample(h->metrics, agent, cfg);
			aod_api_sample(h->api, agent);
			cut_slow_clients(h);
		}
		aod_agent_sleep(agent, SAMPLE_MS);
	}
	http_stop(h);
	aod_config_unref(cfg);
	return 0;
}
