/* SPDX-License-Identifier: MIT */
/*
 * Containment: where an action's processes live, so that its deadline, a
 * cancel or its end kills every process it started (setsid() or not), and
 * so that an agent restarted after a kill -9 finds nothing of the earlier
 * agent's actions still running. One aod_contain per action pool, one
 * aod_cell per running action.
 *
 *  cgroup  (where cgroup2 is writable) a cgroup v2 per action:
 *            <cgroup2 mount><agent's cgroup>/aod-<pid>-<n>/<seq>-<action>
 *          The action's first process joins it before it does anything
 *          else, so all it starts is inside and no process can leave it.
 *          A kill is cgroup.kill (kernel 5.14+; mode "kill"), or freeze,
 *          SIGKILL to every member, thaw (5.2+; mode "freeze"). No
 *          controller is enabled, so the agent's cgroup may keep its own
 *          processes; under systemd the unit needs Delegate=yes.
 *  tree    (fallback, logged once) the first process is a child subreaper;
 *          a kill is SIGKILL to every process of its tree, its process group
 *          and its session, found in /proc and signalled through a pidfd.
 *          A process that left group and session after its parent exited
 *          escapes, and nothing is found again after an agent restart.
 *
 * The pool's cgroup is recorded in <output_dir>/.aod-actions
 * (aod_contain_claim): the next agent with that output dir kills what is
 * left there before anything else runs. AOD_ACTION_CONTAIN=kill|freeze|tree
 * forces a mode (a cgroup mode falls back to tree where it cannot work).
 */
#ifndef AOD_COLLECT_CONTAIN_H
#define AOD_COLLECT_CONTAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define AOD_CONTAIN_RECORD ".aod-actions"
#define AOD_CELL_HELD_MAX 64

enum aod_contain_mode {
	AOD_CONTAIN_KILL = 0,	/* cgroup v2, cgroup.kill */
	AOD_CONTAIN_FREEZE = 1, /* cgroup v2, cgroup.freeze then SIGKILL each member */
	AOD_CONTAIN_TREE = 2,	/* subreaper, process tree + group + session */
};

struct aod_contain;

/* Choose the mode and create the pool's cgroup; logs the choice once. NULL: ENOMEM. */
struct aod_contain *aod_contain_new(void);
/* Remove the pool's cgroup (killing what is left) and the record if it is ours. */
void aod_contain_free(struct aod_contain *ct);
enum aod_contain_mode aod_contain_mode(const struct aod_contain *ct);
const char *aod_contain_mode_name(enum aod_contain_mode mode);
/* The pool's cgroup directory, "" in tree mode. */
const char *aod_contain_dir(const struct aod_contain *ct);

/*
 * Kill what an earlier agent's actions left in the cgroup recorded in
 * <output_dir>/.aod-actions (unless that agent still runs), then record
 * this pool's cgroup there. Returns the number of processes killed, or
 * -errno (logged) when the record cannot be written.
 */
int aod_contain_claim(struct aod_contain *ct, const char *output_dir);

/* One action's processes. */
struct aod_cell {
	enum aod_contain_mode mode;
	int dirfd;    /* the action's cgroup; -1 in tree mode */
	int procs_fd; /* its cgroup.procs: the first process writes "0" to join */
	pid_t leader; /* the first process */
	int leader_fd;
	size_t nheld; /* tree mode: processes held by pidfd for the kill */
	int held[AOD_CELL_HELD_MAX];
	char name[64];	/* "<seq>-<action>" */
	char rel[4096]; /* cgroup path as /proc/PID/cgroup shows it */
};

/* A cell for one action (tree mode if its cgroup cannot be made). 0 or -errno. */
int aod_cell_open(struct aod_contain *ct, const char *action, struct aod_cell *cell);
/* In the child, right after fork, before anything else: async-signal-safe. */
void aod_cell_enter(const struct aod_cell *cell);
/* The parent, right after fork. */
void aod_cell_set_leader(struct aod_cell *cell, pid_t pid);
/* Ask to stop: SIGTERM to the leader's process group (tree mode: to everything, held). */
void aod_cell_term(struct aod_cell *cell);
/* SIGKILL to every process of the cell, at once. */
void aod_cell_kill(struct aod_cell *cell);
/*
 * End of the action: kill everything left, wait until nothing lives
 * (at most give_up_ms), remove the cgroup, close. Returns how many
 * processes were still alive at the end (uninterruptible sleep), 0 if none.
 */
int aod_cell_close(struct aod_cell *cell, unsigned give_up_ms);

#endif /* AOD_COLLECT_CONTAIN_H */
