// SPDX-License-Identifier: MIT
/*
 * The upload section: where finished bundles go (an S3-compatible endpoint,
 * bucket, region, key prefix), whose credentials sign the requests (a file
 * only its owner can read, or the environment), and how hard the uploader
 * tries (retries, backoff, timeouts, queue). The section is optional; its
 * presence turns uploading on. The credentials themselves are never read
 * here: the config only names the file, so no secret is ever printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/cfg_internal.h"

static const char *const upload_keys[] = {
	"endpoint", "bucket", "region", "prefix", "credentials_file", "retries",
	"backoff_initial_ms", "backoff_max_ms", "queue_size", "delete_after_upload",
	"connect_timeout_sec", "timeout_sec", NULL,
};

void cfg_upload_defaults(struct aod_config *cfg)
{
	memset(&cfg->upload, 0, sizeof(cfg->upload));
	snprintf(cfg->upload.region, sizeof(cfg->upload.region), "us-east-1");
	snprintf(cfg->upload.prefix, sizeof(cfg->upload.prefix), "{host}/");
	cfg->upload.retries = 5;
	cfg->upload.backoff_initial_ms = 1000;
	cfg->upload.backoff_max_ms = 60000;
	cfg->upload.queue_size = 256;
	cfg->upload.connect_timeout_sec = 10;
	cfg->upload.timeout_sec = 300;
}

static bool has_ctl_or_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return true;
	return false;
}

/* http(s)://host[:port][/path]: no user:password@ (credentials have their own
 * place), no query or fragment (the key goes after the path). */
static int parse_endpoint(struct cfg_ctx *c, yaml_node_t *v)
{
	char *url = c->cfg->upload.endpoint, *host;
	size_t n;
	int err = cfg_string(c, v, "upload.endpoint", url, sizeof(c->cfg->upload.endpoint));

	if (err)
		return err;
	if (!strncmp(url, "http://", 7))
		host = url + 7;
	else if (!strncmp(url, "https://", 8))
		host = url + 8;
	else
		return cfg_error(c, v, "upload.endpoint",
				 "expected an http:// or https:// URL, got '%s'", url);
	if (!*host || *host == '/' || *host == ':' || has_ctl_or_space(url))
		return cfg_error(c, v, "upload.endpoint",
				 "expected a URL with a host name and no spaces, got '%s'", url);
	if (strchr(host, '@'))
		return cfg_error(c, v, "upload.endpoint",
				 "expected a URL without user:password@ (put the keys in "
				 "upload.credentials_file or the environment)");
	if (strpbrk(host, "?#"))
		return cfg_error(c, v, "upload.endpoint",
				 "expected a URL without a query or fragment, got '%s'", url);
	n = strlen(url);
	while (n && url[n - 1] == '/')
		url[--n] = '\0';
	return 0;
}

/* S3's bucket naming rules: 3-63 of [a-z0-9.-], starting and ending with a
 * letter or digit, no "..". */
static int parse_bucket(struct cfg_ctx *c, yaml_node_t *v)
{
	char *b = c->cfg->upload.bucket;
	size_t n;
	int err = cfg_string(c, v, "upload.bucket", b, sizeof(c->cfg->upload.bucket));

	if (err)
		return err;
	n = strlen(b);
	if (n < 3 || n > 63 || strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n ||
	    b[0] == '.' || b[0] == '-' || b[n - 1] == '.' || b[n - 1] == '-' || strstr(b, ".."))
		return cfg_error(c, v, "upload.bucket",
				 "expected an S3 bucket name (3 to 63 of a-z 0-9 . -, starting and "
				 "ending with a letter or digit), got '%s'", b);
	return 0;
}

static int parse_region(struct cfg_ctx *c, yaml_node_t *v)
{
	char *r = c->cfg->upload.region;
	int err = cfg_string(c, v, "upload.region", r, sizeof(c->cfg->upload.region));

	if (!err && (!r[0] || strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(r)))
		err = cfg_error(c, v, "upload.region",
				"expected a region name of a-z 0-9 - (e.g. us-east-1), got '%s'", r);
	return err;
}

/* Characters that need no escaping in a key; "{host}" is the one placeholder. */
static int parse_prefix(struct cfg_ctx *c, yaml_node_t *v)
{
	char *p = c->cfg->upload.prefix;
	const char *brace;
	int err = cfg_string(c, v, "upload.prefix", p, sizeof(c->cfg->upload.prefix));
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789/._-{}";

	if (err)
		return err;
	if (strspn(p, ok) != strlen(p) || p[0] == '/' || strstr(p, "//") ||
	    strstr(p, "../") || strstr(p, "/./") || !strcmp(p, "..") ||
	    !strncmp(p, "./", 2))
		return cfg_error(c, v, "upload.prefix",
				 "expected a key prefix of A-Z a-z 0-9 / . _ - and {host}, not "
				 "starting with '/' and without empty, . or .. parts, got '%s'", p);
	for (brace = strpbrk(p, "{}"); brace; brace = strpbrk(brace + 6, "{}"))
		if (strncmp(brace, "{host}", 6))
			return cfg_error(c, v, "upload.prefix",
					 "expected {host} as the only placeholder, got '%s'", p);
	return 0;
}

/* The file must exist, be a regular file and be readable by its owner only:
 * anyone else who can read it can upload as us. */
static int parse_credentials_file(struct cfg_ctx *c, yaml_node_t *v)
{
	char *path = c->cfg->upload.credentials_file;
	struct stat st;
	int err = cfg_fs_path(c, v, "upload.credentials_file", path,
			      sizeof(c->cfg->upload.credentials_file));

	if (err)
		return err;
	if (stat(path, &st))
		return cfg_error(c, v, "upload.credentials_file",
				 "expected a readable file, '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return cfg_error(c, v, "upload.credentials_file",
				 "expected a regular file, '%s' is not one", path);
	if (st.st_mode & 077)
		return cfg_error(c, v, "upload.credentials_file",
				 "expected a file only its owner can read (mode 0600 or 0400), "
				 "'%s' has mode %04o; chmod 600 it", path,
				 (unsigned)(st.st_mode & 07777));
	return 0;
}

static int parse_numbers(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_config *cfg = c->cfg;
	yaml_node_t *v;
	int err = 0;

	if ((v = cfg_get(c, n, "retries", NULL)))
		err = cfg_u32(c, v, "upload.retries", 0, 100, &cfg->upload.retries);
	if (!err && (v = cfg_get(c, n, "backoff_initial_ms", NULL)))
		err = cfg_u32(c, v, "upload.backoff_initial_ms", 10, 3600000,
			      &cfg->upload.backoff_initial_ms);
	if (!err && (v = cfg_get(c, n, "backoff_max_ms", NULL)))
		err = cfg_u32(c, v, "upload.backoff_max_ms", 10, 3600000,
			      &cfg->upload.backoff_max_ms);
	if (!err && cfg->upload.backoff_max_ms < cfg->upload.backoff_initial_ms)
		err = cfg_error(c, v ? v : n, "upload.backoff_max_ms",
				"expected at least upload.backoff_initial_ms (%u), got %u",
				cfg->upload.backoff_initial_ms, cfg->upload.backoff_max_ms);
	if (!err && (v = cfg_get(c, n, "queue_size", NULL)))
		err = cfg_u32(c, v, "upload.queue_size", 1, 65536, &cfg->upload.queue_size);
	if (!err && (v = cfg_get(c, n, "delete_after_upload", NULL)))
		err = cfg_bool(c, v, "upload.delete_after_upload", &cfg->upload.delete_after_upload);
	if (!err && (v = cfg_get(c, n, "connect_timeout_sec", NULL)))
		err = cfg_u32(c, v, "upload.connect_timeout_sec", 1, 600,
			      &cfg->upload.connect_timeout_sec);
	if (!err && (v = cfg_get(c, n, "timeout_sec", NULL)))
		err = cfg_u32(c, v, "upload.timeout_sec", 1, 86400, &cfg->upload.timeout_sec);
	return err;
}

int cfg_parse_upload(struct cfg_ctx *c, yaml_node_t *n, yaml_node_t *key)
{
	struct aod_config *cfg = c->cfg;
	yaml_node_t *v;
	char desc[96];
	int err;

	if (!n)
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return cfg_error(c, n, "upload", "expected a mapping (endpoint, bucket, ...), got %s",
				 cfg_node_desc(n, desc, sizeof(desc)));
	err = cfg_check_mapping(c, n, "upload", upload_keys);
	if (err)
		return err;
	cfg->upload.enabled = true;
	if (!(v = cfg_get(c, n, "endpoint", NULL)))
		return cfg_error(c, n, "upload.endpoint",
				 "required key missing (the S3 endpoint, e.g. https://s3.us-east-1."
				 "amazonaws.com)");
	if ((err = parse_endpoint(c, v)))
		return err;
	if (!(v = cfg_get(c, n, "bucket", NULL)))
		return cfg_error(c, n, "upload.bucket", "required key missing (the bucket name)");
	if ((err = parse_bucket(c, v)))
		return err;
	if ((v = cfg_get(c, n, "region", NULL)) && (err = parse_region(c, v)))
		return err;
	if ((v = cfg_get(c, n, "prefix", NULL)) && (err = parse_prefix(c, v)))
		return err;
	if ((v = cfg_get(c, n, "credentials_file", NULL)) && (err = parse_credentials_file(c, v)))
		return err;
	if ((err = parse_numbers(c, n)))
		return err;
	if (!cfg->store.enabled)
		return cfg_error(c, key ? key : n, "upload",
				 "needs store.enabled: true (the upload state lives in the store, "
				 "so that a restart neither loses nor repeats an upload)");
	return 0;
}

void cfg_print_upload(FILE *out, const struct aod_config *cfg)
{
	const typeof(cfg->upload) *u = &cfg->upload;

	if (!u->enabled) {
		fputs("# upload: not configured\n", out);
		return;
	}
	fputs("upload:\n  endpoint: ", out);
	cfg_put_str(out, u->endpoint);
	fputs("\n  bucket: ", out);
	cfg_put_str(out, u->bucket);
	fputs("\n  region: ", out);
	cfg_put_str(out, u->region);
	fputs("\n  prefix: ", out);
	cfg_put_str(out, u->prefix);
	if (u->credentials_file[0]) {
		fputs("\n  credentials_file: ", out);
		cfg_put_str(out, u->credentials_file);
	} else {
		fputs("\n  # credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY", out);
	}
	fprintf(out, "\n  retries: %u\n  backoff_initial_ms: %u\n  backoff_max_ms: %u\n"
		"  queue_size: %u\n  delete_after_upload: %s\n  connect_timeout_sec: %u\n"
		"  timeout_sec: %u\n", u->retries, u->backoff_initial_ms, u->backoff_max_ms,
		u->queue_size, u->delete_after_upload ? "true" : "false",
		u->connect_timeout_sec, u->timeout_sec);
}
