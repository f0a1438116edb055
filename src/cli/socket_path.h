/* SPDX-License-Identifier: MIT */
#ifndef AOD_CLI_SOCKET_PATH_H
#define AOD_CLI_SOCKET_PATH_H

#include <stddef.h>

/*
 * The control socket a client should use: --socket, else the one of
 * --config FILE, else $AOD_SOCKET, else the embedded default config's
 * (./var/aod.sock when run from the repo) if it exists, else
 * /run/aod/aod.sock. Returns 0 or 2 (bad config, message printed).
 */
int aod_cli_socket_path(const char *socket_opt, const char *config_opt, char *out, size_t len);

#endif
