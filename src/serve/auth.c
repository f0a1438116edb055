// SPDX-License-Identifier: MIT
/*
 * HTTP basic auth against bcrypt hashes (http.basic_auth_users), checked
 * with libxcrypt's crypt_r. An unknown user costs a bcrypt too, so timing
 * does not tell which names exist; each user's last good password is
 * remembered so that a scraper does not pay a bcrypt per scrape.
 */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "serve/http_int.h"

/* Equal strings, in time that depends only on the lengths. */
static bool same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return !diff;
}

static int find_user(const struct aod_http *h, const char *name)
{
	for (uint32_t i = 0; i < h->cfg.nusers; i++)
		if (!strcmp(h->cfg.users[i].name, name))
			return (int)i;
	return -1;
}

static bool check_password(struct aod_http *h, int idx, const char *password)
{
	const char *hash = h->cfg.users[idx < 0 ? 0 : idx].hash;
	struct http_auth_cache *cache = idx < 0 ? NULL : &h->auth_cache[idx];
	const char *out;
	bool ok;

	if (cache && cache->valid && same(cache->password, password))
		return true;
	if (!h->crypt && !(h->crypt = calloc(1, sizeof(*h->crypt))))
		return false;
	out = crypt_r(password, hash, h->crypt);
	ok = idx >= 0 && out && out[0] != '*' && same(out, hash);
	if (ok && strlen(password) < sizeof(cache->password)) {
		memcpy(cache->password, password, strlen(password) + 1);
		cache->valid = true;
	}
	return ok;
}

bool http_auth_ok(struct aod_http *h, struct MHD_Connection *conn)
{
	char *password = NULL;
	char *user = MHD_basic_auth_get_username_password(conn, &password);
	bool ok = false;

	if (user && password)
		ok = check_password(h, find_user(h, user), password);
	if (password) {
		explicit_bzero(password, strlen(password));
		MHD_free(password);
	}
	if (user)
		MHD_free(user);
	return ok;
}
