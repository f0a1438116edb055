// SPDX-License-Identifier: MIT
/*
 * The API's state (api_int.h): made with the http server, the token set up
 * before each daemon start, the config reference and the store connection
 * kept by the server thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "common/log.h"
#include "serve/api_int.h"
#include "store/query.h"

struct aod_api *aod_api_new(void)
{
	struct aod_api *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	pthread_mutex_init(&a->hist_lock, NULL);
	return a;
}

void aod_api_free(struct aod_api *a)
{
	if (!a)
		return;
	explicit_bzero(a->token, sizeof(a->token));
	aod_query_close(a->db);
	aod_config_unref(a->cfg);
	free(a->hist);
	pthread_mutex_destroy(&a->hist_lock);
	free(a);
}

void aod_api_token_setup(struct aod_api *a, const struct aod_config *cfg)
{
	char path[PATH_MAX], why[sizeof(a->token_error)];
	bool was_ok = a->token_ok;
	int n, err;

	if (cfg->http.token_file[0])
		n = snprintf(path, sizeof(path), "%s", cfg->http.token_file);
	else
		n = snprintf(path, sizeof(path), "%s/http.token", cfg->output_dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(why, sizeof(why), "http.token_file: path too long");
		err = -ENAMETOOLONG;
	} else {
		err = api_token_load(path, a->token, why, sizeof(why));
	}
	if (!err) {
		if (!was_ok || strcmp(a->token_path, path))
			log_info("http: API token in %s", path);
		a->token_ok = true;
		a->token_error[0] = '\0';
	} else {
		explicit_bzero(a->token, sizeof(a->token));
		a->token_ok = false;
		if (strcmp(a->token_error, why))
			log_warn("http: no API token, so the token-protected API answers 503: %s",
				 why);
		snprintf(a->token_error, sizeof(a->token_error), "%s", why);
	}
	snprintf(a->token_path, sizeof(a->token_path), "%s", path);
}

const struct aod_config *api_config(struct aod_api *a, struct aod_agent *agent)
{
	aod_agent_config_refresh(agent, &a->cfg, &a->cfg_gen);
	return a->cfg;
}
