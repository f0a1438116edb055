/* SPDX-License-Identifier: MIT */
/*
 * Shared between the files of the action runner (action.c, pool.c, exec.c,
 * builtin_actions.c, hostctx.c); not for the rest of aod, which uses
 * collect/action.h.
 */
#ifndef AOD_COLLECT_ACTION_INTERNAL_H
#define AOD_COLLECT_ACTION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "collect/action.h"
#include "config/config.h"

#define AOD_ACTION_DEFAULT_TIMEOUT_SEC 10
#define AOD_ACTION_DEFAULT_MAX_BYTES (16ULL << 20)
#define AOD_ACTION_DEFAULT_LOOKBACK_SEC 300
#define AOD_ACTION_DEFAULT_CONCURRENCY 4

/* ---- pool.c: what the runner does with the pool ---- */

unsigned aod_pool_limit(const struct aod_action_pool *pool);
/* Wait for a slot; quick waiters go before slow ones. 0 or -ECANCELED. */
int aod_pool_acquire(struct aod_action_pool *pool, bool quick);
void aod_pool_release(struct aod_action_pool *pool);
/* Work really started / ended (a process exists, a file is being read):
 * this is what aod_action_pool_peak() measures. */
void aod_pool_work_begin(struct aod_action_pool *pool);
void aod_pool_work_end(struct aod_action_pool *pool);
/* Readable once the pool is cancelled (poll it next to a child's pipe). */
int aod_pool_cancel_fd(const struct aod_action_pool *pool);
bool aod_pool_cancelled(struct aod_action_pool *pool);
/* Where the pool's actions run (collect/contain.h). */
struct aod_contain *aod_pool_contain(struct aod_action_pool *pool);

/* ---- child.c: COPY and FUNC actions in a child process ---- */

struct aod_cell;
struct aod_child_job {
	const struct aod_action_spec *spec; /* AOD_ACTION_COPY or AOD_ACTION_FUNC */
	int fd;				    /* the output file */
	struct aod_cell *cell;		    /* the child joins it; killed with it */
	int cancel_fd;			    /* the pool's */
};

/*
 * Run the copy or the collector in a child process, writing into job->fd.
 * At spec->timeout_sec (a collector: plus AOD_EXEC_KILL_GRACE_MS, to stop
 * the programs it runs) or AOD_EXEC_KILL_GRACE_MS after a cancel, the
 * cell is killed: res->timed_out (or "cancelled") is set and what the
 * child wrote and recorded is kept. res must be initialised (name, desc);
 * the child's skipped, error, desc, truncated, bytes... come back in it.
 * Returns the collector's return value, -ETIME when killed at the
 * deadline, -ECANCELED when cancelled.
 */
int aod_child_run(const struct aod_child_job *job, struct aod_action_result *res);

/* ---- builtin_actions.c ---- */

/*
 * Fill spec for a built-in name (the seed's list and the host context),
 * with timeout, cap and look-back from cfg (NULL: defaults).
 * 0, or -ENOENT if name is not built in.
 */
int aod_builtin_spec(const struct aod_config *cfg, const char *name, struct aod_action_spec *spec);

/* The host-context names, in the order they are appended to every bundle. */
extern const char *const aod_hostctx_names[];
extern const size_t aod_hostctx_count;

#define AOD_MAX_CIFS_MOUNTS 64
/*
 * Mount points (unescaped) of the cifs/smb3 mounts listed in a mountinfo
 * file. Returns how many (at most max), or -errno.
 */
int aod_cifs_mounts(const char *mountinfo, char (*out)[AOD_ARG_LEN], size_t max);

/* True when journalctl has something to read: journald runs, or journal
 * files exist under /run/log/journal or /var/log/journal. */
bool aod_journal_present(void);

#endif /* AOD_COLLECT_ACTION_INTERNAL_H */
