/* SPDX-License-Identifier: MIT */
/* One function per subcommand: argv[0] is the subcommand name. Exit codes:
 * 0 ok, 1 failure, 2 bad usage or invalid input. */
#ifndef AOD_CLI_COMMANDS_H
#define AOD_CLI_COMMANDS_H

int aod_cmd_agent(int argc, char **argv);
int aod_cmd_check_config(int argc, char **argv);
int aod_cmd_status(int argc, char **argv);
int aod_cmd_hist(int argc, char **argv);
int aod_cmd_record(int argc, char **argv);
int aod_cmd_replay(int argc, char **argv);
int aod_cmd_snapshot(int argc, char **argv);
int aod_cmd_bundles(int argc, char **argv);
int aod_cmd_query(int argc, char **argv);
int aod_cmd_health(int argc, char **argv);
int aod_cmd_impact(int argc, char **argv);
int aod_cmd_trace(int argc, char **argv);

#endif /* AOD_CLI_COMMANDS_H */
