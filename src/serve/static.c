// SPDX-License-Identifier: MIT
/*
 * The embedded UI files (static.h). The UI is a single page whose views
 * are #fragments, so only the files themselves exist: anything else is 404.
 * A strict Content-Security-Policy: the page's own scripts and styles,
 * connections to this server only, no frames.
 */
#include <string.h>

#include "serve/static.h"

#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const struct aod_static_asset *find(const char *url)
{
	if (!strcmp(url, "/"))
		url = "/index.html";
	for (size_t i = 0; i < aod_ui_assets_count; i++)
		if (!strcmp(aod_ui_assets[i].path, url))
			return &aod_ui_assets[i];
	return NULL;
}

enum MHD_Result aod_static_serve(struct MHD_Connection *conn, const char *url)
{
	static const char nf[] = "404 Not Found: try / or /metrics\n";
	const struct aod_static_asset *a = find(url);
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned status = a ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND;

	resp = a ? MHD_create_response_from_buffer(a->len, (void *)a->data,
						   MHD_RESPMEM_PERSISTENT)
		 : MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf,
						   MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				a ? a->type : "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}
