// SPDX-License-Identifier: MIT
/*
 * The API's replies (JSON, errors as {"error": "..."}) and the query
 * arguments every listing shares.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "common/timeparse.h"
#include "common/timeutil.h"
#include "serve/api_int.h"

enum MHD_Result api_send_json(struct MHD_Connection *conn, unsigned status, json_t *body)
{
	char *dump = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	size_t len = dump ? strlen(dump) : 0;
	char *text = dump ? malloc(len + 1) : NULL;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	json_decref(body);
	if (text) {
		memcpy(text, dump, len);
		text[len++] = '\n'; /* for people reading it with curl */
	}
	free(dump);
	if (!text)
		return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"aod\"");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result api_send_error(struct MHD_Connection *conn, unsigned status, const char *fmt,
			       ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return api_send_json(conn, status,
			     json_pack("{s:o, s:i}", "error", api_json_text(msg, strlen(msg)),
				       "status", (int)status));
}

json_t *api_json_text(const char *s, size_t len)
{
	char *clean;
	size_t n = 0;
	json_t *j;

	if (!aod_text_needs_escape(s, len, true) && (j = json_stringn(s, len)))
		return j;
	clean = malloc(len * 3 + 1); /* each bad byte: 3 bytes of U+FFFD */
	if (!clean)
		return NULL;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = aod_utf8_decode((const unsigned char *)s + i, len - i, &cp);

		if (k && cp) {
			memcpy(clean + n, s + i, k);
			n += k;
			i += k;
		} else {
			memcpy(clean + n, "\xef\xbf\xbd", 3);
			n += 3;
			i++;
		}
	}
	j = json_stringn(clean, n);
	free(clean);
	return j;
}

int api_arg_time(struct MHD_Connection *conn, const char *name, int64_t *out)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
	char *end;

	*out = 0;
	if (!v || !*v)
		return 0;
	if (*v >= '0' && *v <= '9') {
		errno = 0;
		long long ns = strtoll(v, &end, 10);

		if (!errno && !*end && ns >= 0) {
			*out = ns;
			return 0;
		}
	}
	return aod_parse_time(v, aod_wall_ns(), out) ? -EINVAL : 0;
}

int api_arg_limit(struct MHD_Connection *conn, uint64_t *out)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
	unsigned long long n;
	char *end;

	*out = API_DEFAULT_LIMIT;
	if (!v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || n < 1 || n > API_MAX_LIMIT || *v == '-')
		return -EINVAL;
	*out = n;
	return 0;
}

bool api_peer_loopback(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (!sa)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}
