/* SPDX-License-Identifier: MIT */
/*
 * The web UI's files, embedded in the binary at build time
 * (scripts/ui-build.sh builds ui/ with npm and writes a C table of them;
 * without npm the table holds one page saying the UI was not built, and
 * why). Served at / (index.html) and /PATH, for GET and HEAD.
 */
#ifndef AOD_SERVE_STATIC_H
#define AOD_SERVE_STATIC_H

#include <microhttpd.h>
#include <stddef.h>

struct aod_static_asset {
	const char *path;          /* "/index.html", "/assets/app.js" */
	const char *type;          /* Content-Type */
	const unsigned char *data;
	size_t len;
};

/* Generated ($(BUILD)/ui_assets.c). */
extern const struct aod_static_asset aod_ui_assets[];
extern const size_t aod_ui_assets_count;
extern const int aod_ui_built; /* 0: the not-built page only */

/* GET url: the asset, or 404. */
enum MHD_Result aod_static_serve(struct MHD_Connection *conn, const char *url);

#endif /* AOD_SERVE_STATIC_H */
