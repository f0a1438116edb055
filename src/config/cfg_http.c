// SPDX-License-Identifier: MIT
/*
 * The http and metrics sections. The rule that matters: the HTTP server
 * listens on loopback unless the config says how remote clients are kept
 * out (TLS with basic auth, bcrypt hashes as Prometheus' web config has
 * them) or says insecure_remote: true in so many words.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"
#include "config/cfg_internal.h"

#define BCRYPT_LEN 60

static const char *const http_keys[] = {
	"listen", "tls_cert_file", "tls_key_file", "basic_auth_users", "insecure_remote", "token_file",
	NULL,
};
static const char *const metrics_keys[] = { "bpf_stats", "compat", NULL };

/* "$2y$10$" + 53 characters of bcrypt's base64 alphabet. */
static bool is_bcrypt(const char *h)
{
	if (strlen(h) != BCRYPT_LEN || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) ||
	    h[3] != '$' || h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' || h[6] != '$')
		return false;
	for (const char *p = h + 7; *p; p++)
		if (!strchr("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", *p))
			return false;
	return true;
}

/* Is this listen address allowed with the rest of the section? why[] says not. */
static int check_listen(const struct aod_config *cfg, const char *listen, char *why,
			size_t len)
{
	struct aod_netaddr a;

	if (!listen[0])
		return 0;
	if (aod_netaddr_parse(listen, &a, why, len))
		return -EINVAL;
	if (aod_netaddr_is_loopback(&a) || cfg->http.insecure_remote ||
	    (cfg->http.tls_cert_file[0] && cfg->http.nusers))
		return 0;
	snprintf(why, len, "'%s' is not a loopback address: a remote listener needs "
		 "http.tls_cert_file, http.tls_key_file and http.basic_auth_users "
		 "(or http.insecure_remote: true to serve plain HTTP without passwords)",
		 listen);
	return -EINVAL;
}

static int parse_users(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_config *cfg = c->cfg;
	char kpath[CFG_PATH_LEN], desc[96];
	int err = cfg_check_mapping(c, n, "http.basic_auth_users", NULL);

	if (err || cfg_is_null(n))
		return err;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = cfg_node(c, p->key), *val = cfg_node(c, p->value);

		cfg_path_key(kpath, "http.basic_auth_users", cfg_scalar(key));
		if (cfg->http.nusers == AOD_HTTP_MAX_USERS)
			return cfg_error(c, key, kpath, "expected at most %d users",
					 AOD_HTTP_MAX_USERS);
		err = cfg_name(c, key, kpath, "a user name",
			       cfg->http.users[cfg->http.nusers].name, AOD_HTTP_USER_LEN);
		if (err)
			return err;
		if (!cfg_scalar(val) || cfg_is_null(val) || !is_bcrypt(cfg_scalar(val)))
			return cfg_error(c, val, kpath,
					 "expected a bcrypt hash ($2y$..., 60 characters, e.g. from "
					 "htpasswd -nBC 10 USER), got %s",
					 cfg_node_desc(val, desc, sizeof(desc)));
		snprintf(cfg->http.users[cfg->http.nusers].hash, AOD_HTTP_HASH_LEN, "%s",
			 cfg_scalar(val));
		cfg->http.nusers++;
	}
	return 0;
}

static int parse_tls(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_config *cfg = c->cfg;
	yaml_node_t *cert = cfg_get(c, n, "tls_cert_file", NULL);
	yaml_node_t *key = cfg_get(c, n, "tls_key_file", NULL);
	int err = 0;

	if (cert)
		err = cfg_fs_path(c, cert, "http.tls_cert_file", cfg->http.tls_cert_file,
				  sizeof(cfg->http.tls_cert_file));
	if (!err && key)
		err = cfg_fs_path(c, key, "http.tls_key_file", cfg->http.tls_key_file,
				  sizeof(cfg->http.tls_key_file));
	if (!err && !cert != !key)
		err = cfg_error(c, cert ? cert : key, cert ? "http.tls_key_file" : "http.tls_cert_file",
				"required key missing (TLS needs both tls_cert_file and tls_key_file)");
	return err;
}

int cfg_parse_http(struct cfg_ctx *c, yaml_node_t *n)
{
	struct aod_config *cfg = c->cfg;
	char why[AOD_CONFIG_ERR_LEN / 2];
	yaml_node_t *v, *listen;
	int err = cfg_check_mapping(c, n, "http", http_keys);

	if (!err && (v = cfg_get(c, n, "insecure_remote", NULL)))
		err = cfg_bool(c, v, "http.insecure_remote", &cfg->http.insecure_remote);
	if (!err)
		err = parse_tls(c, n);
	if (!err && (v = cfg_get(c, n, "token_file", NULL)))
		err = cfg_fs_path(c, v, "http.token_file", cfg->http.token_file,
				  sizeof(cfg->http.token_file));
	if (!err)
		err = parse_users(c, cfg_get(c, n, "basic_auth_users", NULL));
	listen = cfg_get(c, n, "listen", NULL);
	if (!err && listen)
		err = cfg_string(c, listen, "http.listen", cfg->http.listen,
				 sizeof(cfg->http.listen));
	if (!err && check_listen(cfg, cfg->http.listen, why, sizeof(why)))
		err = cfg_error(c, listen, "http.listen", "%s", why);
	return err;
}

/* metrics.compat: a list of exporter names whose series aod also serves. */
static int parse_compat(struct cfg_ctx *c, yaml_node_t *v)
{
	int err = cfg_check_sequence(c, v, "metrics.compat", 4, "exporter names");

	if (err || cfg_is_null(v))
		return err;
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = cfg_node(c, *it);
		const char *name = cfg_scalar(item);
		char desc[96];

		if (!name || strcmp(name, "ebpf_exporter"))
			return cfg_error(c, item, "metrics.compat",
					 "expected \"ebpf_exporter\", got %s",
					 cfg_node_desc(item, desc, sizeof(desc)));
		c->cfg->metrics.compat_ebpf_exporter = true;
	}
	return 0;
}

int cfg_parse_metrics(struct cfg_ctx *c, yaml_node_t *n)
{
	yaml_node_t *v;
	int err = cfg_check_mapping(c, n, "metrics", metrics_keys);

	if (!err && (v = cfg_get(c, n, "bpf_stats", NULL)))
		err = cfg_bool(c, v, "metrics.bpf_stats", &c->cfg->metrics.bpf_stats);
	if (!err && (v = cfg_get(c, n, "compat", NULL)))
		err = parse_compat(c, v);
	return err;
}

int aod_config_set_http_listen(struct aod_config *cfg, const char *listen,
			       struct aod_config_error *err)
{
	char why[AOD_CONFIG_ERR_LEN / 2];

	if (strlen(listen) >= sizeof(cfg->http.listen)) {
		snprintf(err->msg, sizeof(err->msg), "--http-listen: expected at most %zu characters",
			 sizeof(cfg->http.listen) - 1);
		return -EINVAL;
	}
	if (check_listen(cfg, listen, why, sizeof(why))) {
		snprintf(err->msg, sizeof(err->msg), "--http-listen: %s", why);
		return -EINVAL;
	}
	snprintf(cfg->http.listen, sizeof(cfg->http.listen), "%s", listen);
	return 0;
}
