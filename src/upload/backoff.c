// SPDX-License-Identifier: MIT
/*
 * The uploader's pure decisions: how long to wait before a retry, which
 * answers are worth one, and the object key of a bundle.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "upload/upload_int.h"

uint64_t aod_upload_backoff_ms(uint32_t initial_ms, uint32_t max_ms, uint32_t retry,
			       uint32_t rnd)
{
	uint64_t cap = initial_ms;
	uint64_t half;

	if (max_ms < initial_ms)
		max_ms = initial_ms;
	for (uint32_t i = 1; i < retry && cap < max_ms; i++)
		cap *= 2;
	if (cap > max_ms)
		cap = max_ms;
	half = cap / 2;
	return half + (uint64_t)((double)(cap - half) * ((double)rnd / (double)UINT32_MAX));
}

enum aod_upload_verdict aod_upload_http_verdict(long status)
{
	if (status >= 200 && status < 300)
		return AOD_UPLOAD_OK;
	/* no answer, a timeout, throttling, the server's own trouble */
	if (status == 0 || status == 408 || status == 429 || status >= 500)
		return AOD_UPLOAD_RETRY;
	/* 400 bad request, 403 refused signature or key, 404 no such bucket,
	 * 411/413 ...: the same request gets the same answer */
	return AOD_UPLOAD_FAIL;
}

int aod_upload_object_key(const char *prefix, const char *host, const char *file, char *out,
			  size_t len)
{
	size_t n = 0;

	for (const char *p = prefix; *p; p++) {
		if (!strncmp(p, "{host}", 6)) {
			for (const char *h = host; *h; h++) {
				char ch = *h;
				bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
					  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
					  ch == '-';

				if (n + 1 >= len)
					return -ENAMETOOLONG;
				out[n++] = ok ? ch : '_';
			}
			p += 5;
			continue;
		}
		if (n + 1 >= len)
			return -ENAMETOOLONG;
		out[n++] = *p;
	}
	if (n + strlen(file) + 1 > len)
		return -ENAMETOOLONG;
	memcpy(out + n, file, strlen(file) + 1);
	return 0;
}
