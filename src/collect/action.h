/* SPDX-License-Identifier: MIT */
/*
 * Quick actions: the evidence a bundle holds. An action is a file to copy
 * (/proc/fs/cifs/Stats), a program to run with argv (journalctl ...) or a
 * function of aod's own (the process table read from /proc). Each runs with
 * a timeout and a byte cap and reports exactly what happened.
 */
#ifndef AOD_COLLECT_ACTION_H
#define AOD_COLLECT_ACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define AOD_ACTION_FILE_LEN 64
#define AOD_ACTION_DESC_LEN 1024
#define AOD_ACTION_ERR_LEN 256

enum aod_action_kind {
	AOD_ACTION_COPY = 0,  /* copy a file (path) */
	AOD_ACTION_EXEC = 1,  /* run argv, capture stdout+stderr */
	AOD_ACTION_FUNC = 2,  /* an in-process collector (host context) */
};

struct aod_action_spec;
struct aod_func_ctx;
/*
 * In-process collector: write the evidence to fd; return 0 or -errno. It
 * runs in a child process killed at its deadline (collect/exec.h); ctx
 * records what it did and runs programs for it.
 */
typedef int (*aod_action_fn)(struct aod_func_ctx *ctx, const struct aod_action_spec *spec,
			     int fd);

struct aod_action_spec {
	char name[AOD_ACTION_NAME_LEN];   /* "dmesg", "meminfo", "slowcmd" */
	char file[AOD_ACTION_FILE_LEN];   /* output name inside the bundle: "dmesg.log" */
	enum aod_action_kind kind;
	uint32_t argc;                    /* EXEC */
	char argv[AOD_MAX_ARGV][AOD_ARG_LEN];
	char path[AOD_ARG_LEN];           /* COPY */
	aod_action_fn fn;                 /* FUNC */
	uint32_t timeout_sec;             /* default 10 */
	uint64_t max_bytes;               /* default 16 MiB; the tail is kept */
	bool quick;                       /* runs first when slots are scarce */
	uint32_t lookback_sec;            /* dmesg, journalctl: how far back to read */
};

struct aod_action_result {
	char name[AOD_ACTION_NAME_LEN];
	char file[AOD_ACTION_FILE_LEN];
	char desc[AOD_ACTION_DESC_LEN];   /* argv joined with spaces, or the path */
	int exit_code;                    /* EXEC: exit status; -1 if killed / not run;
					     COPY/FUNC: 0, or -1 when error is set */
	int term_signal;                  /* EXEC: signal that ended it, 0 if none */
	uint64_t start_wall_ns;
	uint64_t duration_ns;
	uint64_t bytes;                   /* bytes kept in the bundle */
	uint64_t bytes_dropped;           /* bytes cut by the cap */
	bool truncated;
	bool timed_out;
	bool skipped;                     /* not applicable here (e.g. no journal): see error */
	char error[AOD_ACTION_ERR_LEN];   /* "", or what went wrong: missing tool/file, ... */
};

/*
 * Resolve action names (built-in or watcher.custom_actions) to specs.
 * The host-context actions (meminfo, pressure, loadavg, diskstats,
 * processes, sockets) are always appended. Unknown names are an error
 * (-ENOENT, logged); config validation normally catches them first.
 * Returns the number of specs written, or a negative errno.
 */
int aod_actions_resolve(const struct aod_config *cfg, const char (*names)[AOD_ACTION_NAME_LEN],
			size_t nnames, struct aod_action_spec *out, size_t max);

/* True if name is a built-in action (for config validation). */
bool aod_action_is_builtin(const char *name);

/*
 * The limit of max_concurrent_tasks running actions, shared by every
 * collection in the agent. Thread-safe.
 */
struct aod_action_pool;
struct aod_action_pool *aod_action_pool_new(unsigned max_concurrent);
void aod_action_pool_free(struct aod_action_pool *pool);
/* Kill (TERM, then KILL after 1 s) every running action and refuse new ones. */
void aod_action_pool_cancel(struct aod_action_pool *pool);
/* Highest number of actions seen running at once (tests, status). */
unsigned aod_action_pool_peak(const struct aod_action_pool *pool);
/*
 * At agent start, before any collection: kill what the actions of an
 * earlier agent with this output dir left running (after a kill -9 or an
 * OOM kill), and record where this pool's actions run, for the next one
 * (collect/contain.h). Returns how many processes were killed, or -errno.
 */
int aod_action_pool_claim(struct aod_action_pool *pool, const char *output_dir);

/*
 * Run specs, writing each into dir/<spec.file>; quick ones are queued first.
 * Blocks until all finished. results[i] belongs to specs[i]. Returns 0, or
 * -ECANCELED if the pool was cancelled (results still describe what ran).
 */
int aod_actions_run(struct aod_action_pool *pool, const struct aod_action_spec *specs,
		    size_t n, int dirfd, struct aod_action_result *results);

#endif /* AOD_COLLECT_ACTION_H */
