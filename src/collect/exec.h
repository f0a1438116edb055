/* SPDX-License-Identifier: MIT */
/*
 * The three ways an action produces evidence, each into an output fd with a
 * byte cap that keeps the TAIL:
 *   aod_exec_run   a program (argv, never a shell) in its own process group,
 *                  with a timeout (TERM the group, KILL after 1 s);
 *   aod_copy_file  a file read to EOF (procfs files report size 0);
 *   aod_sink_*     the capped writer both use, also applied to what an
 *                  in-process collector wrote.
 * Outcomes go into struct aod_action_result fields; missing tools and files
 * are recorded there ("not found: ...", "missing: ..."), never fatal.
 */
#ifndef AOD_COLLECT_EXEC_H
#define AOD_COLLECT_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "collect/action.h"

#define AOD_EXEC_KILL_GRACE_MS 1000 /* TERM -> KILL */
#define AOD_EXEC_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * Output capped at max bytes, keeping the last max bytes written. Data goes
 * to the file at base (the fd's offset when the sink starts); when the file
 * holds 2 x max (at least max + 64 KiB) its tail is moved to base, so disk
 * use stays below twice the cap and memory stays constant.
 */
struct aod_sink {
	int fd;
	off_t base;
	uint64_t max;
	uint64_t size;	/* bytes in the file after base */
	uint64_t total; /* bytes offered */
	int err;	/* first write error (positive errno), writing stops */
};

void aod_sink_init(struct aod_sink *s, int fd, uint64_t max);
/* Account for bytes already in the file after base (a collector wrote them). */
void aod_sink_adopt(struct aod_sink *s, uint64_t size);
void aod_sink_write(struct aod_sink *s, const void *buf, size_t len);
/*
 * Cut to the tail, truncate the file after it and leave the fd's offset
 * there. Adds bytes/bytes_dropped/truncated to res; a write error goes to
 * res->error if it is empty. Returns 0 or -errno.
 */
int aod_sink_finish(struct aod_sink *s, struct aod_action_result *res);

struct aod_cell;

/* How a runner can stop a program early and count it as running. */
struct aod_exec_ctl {
	int cancel_fd;		    /* becomes readable on cancel; -1: none */
	void (*spawned)(void *arg); /* the child exists (pool accounting) */
	void (*reaped)(void *arg);  /* and is gone */
	void *arg;
	struct aod_cell *cell; /* the action's cell: the program joins it, kills
				  reach all of it; NULL: its process group only */
	bool quiet;	       /* in an action's child process: no log, no thread */
};

/*
 * Run argv[0] (an absolute path, or a name looked up in AOD_EXEC_PATH) with
 * stdin /dev/null, stdout+stderr into fd (capped at max_bytes, tail kept),
 * environment PATH=AOD_EXEC_PATH LC_ALL=C, every other fd closed, in its
 * own process group (and ctl->cell), killed if the calling thread dies
 * (PDEATHSIG). At timeout_ms, or when ctl->cancel_fd turns readable, the
 * group gets TERM, then KILL after 1 s, the whole cell with it; partial
 * output is kept. At the end whatever is left of group and cell is killed. Sets in res: exit_code
 * (-1 if killed or not run), term_signal, bytes, bytes_dropped, truncated,
 * timed_out, error. Does not touch res's name/desc/start/duration.
 * Returns 0 when the program ran (whatever its status), -ENOENT/-EACCES...
 * when it could not start, -ECANCELED when cancelled.
 * Callers must not set SIGCHLD to SIG_IGN (the child is reaped by pid).
 */
int aod_exec_run(const char *const *argv, uint64_t timeout_ms, uint64_t max_bytes, int fd,
		 const struct aod_exec_ctl *ctl, struct aod_action_result *res);

/*
 * Copy path into fd through a sink of max_bytes. A missing file is
 * recorded as "missing: PATH" (-ENOENT); read errors keep what was read.
 */
int aod_copy_file(const char *path, uint64_t max_bytes, int fd, struct aod_action_result *res);

/* Find name in AOD_EXEC_PATH (or check an absolute path): 0 or -ENOENT. */
int aod_exec_lookup(const char *name, char *out, size_t len);

/*
 * The context of an in-process collector (AOD_ACTION_FUNC), passed to it
 * by the runner, which runs it in a child process of its own (child.c):
 * res lives in memory shared with the parent, so what the collector records
 * reaches the bundle even if it is killed at its deadline. Collectors use
 * it to run programs under the action's deadline and the pool's cancel, and
 * to say what they did. A NULL context (a direct call) works too: no
 * deadline, no cancel, notes logged.
 */
struct aod_func_ctx {
	const struct aod_exec_ctl *ctl; /* cancel_fd, quiet */
	uint64_t deadline_mono_ns;	/* start + spec->timeout_sec */
	struct aod_action_result *res;
};

/* Mark the action skipped (not applicable here) with the reason. */
__attribute__((format(printf, 2, 3))) void aod_func_skip(struct aod_func_ctx *ctx,
							 const char *fmt, ...);
/* Record what went wrong (the first error wins). */
__attribute__((format(printf, 2, 3))) void aod_func_error(struct aod_func_ctx *ctx,
							  const char *fmt, ...);
/* Replace the description ("journalctl -k ...", "/var/log/syslog"). */
__attribute__((format(printf, 2, 3))) void aod_func_desc(struct aod_func_ctx *ctx,
							 const char *fmt, ...);
/*
 * Run a program for the collector, appending its capped output at fd's
 * offset. The timeout is the smaller of timeout_ms and what is left of
 * the action's time. Fills sub (zeroed first) like aod_exec_run; bytes it
 * dropped also count in the action's result.
 */
int aod_func_exec(struct aod_func_ctx *ctx, const char *const *argv, uint64_t timeout_ms,
		  uint64_t max_bytes, int fd, struct aod_action_result *sub);
/* Nanoseconds left before the action's deadline (UINT64_MAX without a context). */
uint64_t aod_func_time_left_ns(const struct aod_func_ctx *ctx);

#endif /* AOD_COLLECT_EXEC_H */
