// SPDX-License-Identifier: MIT
#include "cli/socket_path.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent/control.h"
#include "config/config.h"

int aod_cli_socket_path(const char *socket_opt, const char *config_opt, char *out, size_t len)
{
	struct aod_config_error err;
	struct aod_config *cfg;
	const char *env = getenv("AOD_SOCKET");
	int rc;

	if (socket_opt || (!config_opt && env)) {
		snprintf(out, len, "%s", socket_opt ? socket_opt : env);
		return 0;
	}
	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return 1;
	rc = aod_config_load(cfg, config_opt, &err);
	if (rc) {
		fprintf(stderr, "aod: %s\n", err.msg);
		free(cfg);
		return 2;
	}
	if (!config_opt && access(cfg->agent.control_socket, F_OK))
		snprintf(out, len, "%s", AOD_DEFAULT_SOCKET);
	else
		snprintf(out, len, "%s", cfg->agent.control_socket);
	free(cfg);
	return 0;
}
