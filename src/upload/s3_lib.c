// SPDX-License-Identifier: MIT
/*
 * libcurl and OpenSSL's libcrypto, loaded with dlopen() by the uploader
 * only: an agent without `upload:` never maps them. Linked, their chain
 * (libssl, libcrypto, Kerberos, LDAP, SASL, libssh2, nghttp2, rtmp, ...)
 * cost every agent about 3 MiB of resident memory, most of the gap to the
 * 16 MiB budget, for a feature off by default.
 *
 * The prototypes still come from the headers (__typeof__), so a call
 * through the table is checked as a direct call would be. The libraries
 * stay loaded until the process exits: OpenSSL registers exit handlers,
 * and unloading it under a running program is not worth the risk.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "upload/upload_int.h"

#ifndef AOD_LIBCURL_SONAME
#define AOD_LIBCURL_SONAME "libcurl.so.4"
#endif
#ifndef AOD_LIBCRYPTO_SONAME
#define AOD_LIBCRYPTO_SONAME "libcrypto.so.3"
#endif

struct sym {
	const char *name;
	size_t off;      /* of the pointer in struct aod_s3_lib */
	bool crypto;     /* in libcrypto, else libcurl */
};

#define CURL_SYM(field, name) { #name, offsetof(struct aod_s3_lib, field), false }
#define CRYPTO_SYM(field, name) { #name, offsetof(struct aod_s3_lib, field), true }

static const struct sym syms[] = {
	CURL_SYM(global_init, curl_global_init),
	CURL_SYM(global_cleanup, curl_global_cleanup),
	CURL_SYM(easy_init, curl_easy_init),
	CURL_SYM(easy_setopt, curl_easy_setopt),
	CURL_SYM(easy_perform, curl_easy_perform),
	CURL_SYM(easy_getinfo, curl_easy_getinfo),
	CURL_SYM(easy_strerror, curl_easy_strerror),
	CURL_SYM(easy_cleanup, curl_easy_cleanup),
	CURL_SYM(slist_append, curl_slist_append),
	CURL_SYM(slist_free_all, curl_slist_free_all),
	CRYPTO_SYM(md_ctx_new, EVP_MD_CTX_new),
	CRYPTO_SYM(md_ctx_free, EVP_MD_CTX_free),
	CRYPTO_SYM(digest_init, EVP_DigestInit_ex),
	CRYPTO_SYM(digest_update, EVP_DigestUpdate),
	CRYPTO_SYM(digest_final, EVP_DigestFinal_ex),
	CRYPTO_SYM(md5, EVP_md5),
	CRYPTO_SYM(sha256, EVP_sha256),
	CRYPTO_SYM(encode_block, EVP_EncodeBlock),
};

static void *open_one(const char *soname, char *why, size_t len)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		snprintf(why, len, "cannot load %s (%s): install libcurl4 and libssl3", soname,
			 dlerror());
	return h;
}

int aod_s3_lib_open(struct aod_s3_lib *lib, char *why, size_t len)
{
	memset(lib, 0, sizeof(*lib));
	lib->crypto = open_one(AOD_LIBCRYPTO_SONAME, why, len);
	if (!lib->crypto)
		return -ENOENT;
	lib->curl = open_one(AOD_LIBCURL_SONAME, why, len);
	if (!lib->curl)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *p = dlsym(syms[i].crypto ? lib->crypto : lib->curl, syms[i].name);

		if (!p) {
			snprintf(why, len, "%s has no %s: too old?",
				 syms[i].crypto ? AOD_LIBCRYPTO_SONAME : AOD_LIBCURL_SONAME,
				 syms[i].name);
			return -ENOENT;
		}
		memcpy((char *)lib + syms[i].off, &p, sizeof(p));
	}
	return 0;
}
