// SPDX-License-Identifier: MIT
/*
 * The API's smaller endpoints: the latest health report, the running
 * config (read only), a manual snapshot, and the OpenAPI document.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "health/latest.h"
#include "serve/api_int.h"

#define CONFIG_MAX_BYTES (4 << 20)

/* Generated from src/serve/openapi.json by scripts/embed.sh. */
extern const char aod_openapi_json[];
extern const size_t aod_openapi_json_len;

enum MHD_Result api_health(struct api_req *r)
{
	json_t *report = aod_health_latest_get(r->agent->health);

	if (!report && !r->cfg->health.interval_sec)
		return api_send_error(r->conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				      "the agent makes no health reports (health.interval_sec is 0; "
				      "`aod health` makes one on the command line)");
	if (!report)
		return api_send_error(r->conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				      "no health report yet: the first is made at start, then every "
				      "%u s (health.interval_sec)", r->cfg->health.interval_sec);
	return api_send_json(r->conn, MHD_HTTP_OK,
			     json_pack("{s:I, s:o}", "runs",
				       (json_int_t)aod_health_latest_runs(r->agent->health),
				       "report", report));
}

/* FNV-1a 64, as the config loader hashes the file (config.h: hash). */
static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static char *read_file(const char *path, size_t *len, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	ssize_t n;

	*err = 0;
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		*err = fd < 0 || errno ? -errno : -EFBIG;
		if (fd >= 0 && !*err)
			*err = -EINVAL;
	} else if ((buf = malloc((size_t)st.st_size + 1)) &&
		   (n = read(fd, buf, (size_t)st.st_size)) == st.st_size) {
		*len = (size_t)n;
	} else {
		*err = buf ? -EIO : -ENOMEM;
		free(buf);
		buf = NULL;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

/*
 * The config the agent runs: its file's text, and whether the file still
 * holds what was loaded (the hash of its bytes at the last (re)load). The
 * embedded default when the agent runs without --config.
 */
enum MHD_Result api_config_view(struct api_req *r)
{
	const char *path = r->agent->config_path;
	char loaded[20], now[20];
	size_t len = 0;
	char *text;
	json_t *o;
	int err;

	snprintf(loaded, sizeof(loaded), "%016llx", (unsigned long long)r->cfg->hash);
	if (!path[0])
		return api_send_json(r->conn, MHD_HTTP_OK,
			json_pack("{s:n, s:b, s:s, s:o}", "path", "embedded", 1, "loaded_hash",
				  loaded, "text", api_json_text(aod_default_config_yaml,
								aod_default_config_yaml_len)));
	text = read_file(path, &len, &err);
	if (!text)
		return api_send_error(r->conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				      "cannot read the config file %s: %s", path, strerror(-err));
	snprintf(now, sizeof(now), "%016llx", (unsigned long long)fnv1a(text, len));
	o = json_pack("{s:s, s:b, s:s, s:s, s:b, s:o}", "path", path, "embedded", 0,
		      "loaded_hash", loaded, "file_hash", now, "file_changed_since_load",
		      strcmp(loaded, now) != 0, "text", api_json_text(text, len));
	free(text);
	return api_send_json(r->conn, MHD_HTTP_OK, o);
}

/* The same path as `aod snapshot` and SIGUSR1. */
enum MHD_Result api_snapshot(struct api_req *r)
{
	if (aod_agent_request_snapshot(r->agent, "http api"))
		return api_send_error(r->conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				      "snapshot not queued (anomaly queue full): try again later");
	return api_send_json(r->conn, MHD_HTTP_ACCEPTED,
			     json_pack("{s:b, s:s}", "queued", 1, "see", "/api/v1/bundles"));
}

enum MHD_Result api_openapi(struct api_req *r)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		aod_openapi_json_len, (void *)aod_openapi_json, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}
