/* SPDX-License-Identifier: MIT */
/*
 * The event store: one SQLite file (WAL) holding what the agent saw
 * (probe events, anomalies, bundles, probe state changes) and what a trace
 * saw (processes), for `aod query`. Schema and its versions: docs/store.md
 * and schema.c.
 *
 * One connection writes (the agent's store-writer thread, or `aod trace`;
 * the uploader writes its uploads rows through a second one, store_upload.c);
 * readers open the file read-only (query.h) and never block it. Every value
 * goes in through a bound parameter of a statement prepared once: no SQL is
 * ever built from event data.
 *
 * Writes are meant to be batched: aod_store_begin(), any number of
 * aod_store_put_*() / aod_store_proc_*(), aod_store_commit(). A put outside
 * a transaction commits on its own (slow: one fsync-free WAL commit each).
 * Errors are negative errno values (SQLITE_FULL is -ENOSPC, an I/O error
 * -EIO, ...); aod_store_errmsg() has SQLite's sentence for the last one.
 * Nothing here logs: the caller logs once, where the context is.
 *
 * Times: *_wall_ns are CLOCK_REALTIME ns (UTC); mono_ns CLOCK_MONOTONIC.
 */
#ifndef AOD_STORE_STORE_H
#define AOD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/anomaly.h"
#include "detect/event.h"

#define AOD_STORE_SCHEMA_VERSION 2
#define AOD_STORE_ERR_LEN 512

struct aod_store;

/*
 * Open (creating it and its tables if needed) the store at path for
 * writing; an older schema is migrated, a newer one refused (-EPROTO). On
 * error err gets one sentence naming the file. Returns 0 or -errno.
 */
int aod_store_open(const char *path, struct aod_store **out, char *err, size_t errlen);
/* Close; the WAL is checkpointed into the main file. NULL is a no-op. */
void aod_store_close(struct aod_store *st);

const char *aod_store_errmsg(const struct aod_store *st);
const char *aod_store_path(const struct aod_store *st);

int aod_store_begin(struct aod_store *st);
int aod_store_commit(struct aod_store *st);   /* rolls back if the commit fails */
void aod_store_rollback(struct aod_store *st);
bool aod_store_in_transaction(const struct aod_store *st);

/* ---- runs: one agent start, or one `aod trace` ---- */

struct aod_proc_id {
	uint64_t start_ns; /* the kernel's start time of the process (boot-based ns) */
	uint32_t tgid;
};

struct aod_store_run {
	const char *kind;          /* "agent", "trace" */
	uint64_t started_wall_ns;
	const char *command;       /* trace: the command line; NULL otherwise */
	const char *config_path;   /* agent: the config it runs; NULL otherwise */
	uint64_t config_hash;
	struct aod_proc_id root;   /* trace: the traced command; tgid 0 otherwise */
};

/* Insert a run; host, kernel, boot id and aod version are filled in here. */
int aod_store_run_begin(struct aod_store *st, const struct aod_store_run *run, int64_t *run_id);
/* exit_code < 0: none (an agent). */
int aod_store_run_end(struct aod_store *st, int64_t run_id, uint64_t ended_wall_ns, int exit_code);

/* ---- probe events, anomalies, bundles, probe states (store_put.c) ---- */

/* An SMB, block (or later TCP) event as decoded; share: the SMB share
 * name if known (NULL or "" otherwise). */
int aod_store_put_event(struct aod_store *st, int64_t run_id, const struct aod_event *ev,
			const char *share);

/* json: the anomaly object as in anomalies.jsonl (NULL: none). */
int aod_store_put_anomaly(struct aod_store *st, int64_t run_id, const struct aod_anomaly *a,
			  const char *json);

enum aod_store_bundle_result {
	AOD_STORE_BUNDLE_OK = 0,
	AOD_STORE_BUNDLE_PARTIAL = 1, /* written while aod stopped: actions cut short */
	AOD_STORE_BUNDLE_FAILED = 2,
};

struct aod_store_bundle {
	uint64_t anomaly_id;       /* the bundle's id (its file name) */
	uint64_t wall_ns;          /* when it was written (or failed) */
	const char *rule;
	enum aod_source source;
	enum aod_rule_type type;
	const char *path;          /* NULL when failed */
	uint64_t size;
	enum aod_store_bundle_result result;
	const char *error;         /* failed: why */
	uint64_t duration_ms;
};

int aod_store_put_bundle(struct aod_store *st, int64_t run_id, const struct aod_store_bundle *b);

struct aod_store_probe_state {
	uint64_t wall_ns;
	const char *probe;         /* "smb", "block" */
	const char *state;         /* "attached", "waiting", "failed", "disabled" */
	const char *mode;          /* attach mode, "" if none */
	const char *reason;        /* why not attached, "" if attached */
};

int aod_store_put_probe_state(struct aod_store *st, int64_t run_id,
			      const struct aod_store_probe_state *ps);

/* ---- processes (store_proc.c): for the process probe and `aod trace` ----
 *
 * A process is one row per run, keyed by (run_id, start_ns, tgid): a PID is
 * reused, this pair is not. Threads are not processes: report the process
 * (tgid) once. The calls may come in any order a probe can see: start
 * (fork or /proc seed), exec (0..n times: the row keeps the last), oom
 * (before the exit), exit. Each one creates the row if it does not exist
 * yet, and never erases what an earlier call set (an exit without an exec
 * seen keeps the fork's comm). Strings are copied during the call.
 */
struct aod_store_proc {
	struct aod_proc_id id;       /* required */
	struct aod_proc_id parent;   /* real parent; tgid 0 = unknown */
	uint64_t start_wall_ns;
	uint64_t exec_wall_ns;       /* exec: when; 0 = none seen */
	int64_t uid;                 /* -1 = unknown */
	uint64_t cgroup_id;          /* 0 = unknown */
	const char *unit;            /* systemd unit or container, NULL = unknown */
	char comm[AOD_EV_COMM_LEN];  /* NUL-terminated unless 16 bytes long */
	const char *filename;        /* exec: the executable, NULL = unknown */
	const char *cwd;             /* NULL = unknown */
	/* argv as the kernel keeps it (/proc/PID/cmdline): NUL-separated, argv_len
	 * bytes; NULL = unknown. Stored as is (column argv) and as the command line
	 * (column cmdline: the arguments joined by single spaces). */
	const char *argv;
	size_t argv_len;
	bool argv_truncated;         /* the probe's cap cut it */
	bool seeded;                 /* found in /proc at start, not seen starting */
	int in_tree;                 /* trace: 1 inside the traced tree, 0 outside; -1 unknown */
};

struct aod_store_proc_exit {
	struct aod_proc_id id;
	uint64_t exit_wall_ns;
	uint64_t duration_ns;        /* start to exit of the last thread */
	int32_t exit_code;           /* 0..255; meaningful when signal == 0 */
	int32_t signal;              /* the killing signal, 0 = exited */
	bool core_dumped;
	uint64_t cpu_user_ns, cpu_sys_ns;
	uint64_t peak_rss_bytes;
	uint64_t minflt, majflt;
	uint64_t nvcsw, nivcsw;      /* context switches; 0 if not measured */
	bool oom_killed;
};

int aod_store_proc_start(struct aod_store *st, int64_t run_id, const struct aod_store_proc *p);
int aod_store_proc_exec(struct aod_store *st, int64_t run_id, const struct aod_store_proc *p);
int aod_store_proc_exit(struct aod_store *st, int64_t run_id, const struct aod_store_proc_exit *x);
int aod_store_proc_oom(struct aod_store *st, int64_t run_id, struct aod_proc_id id);

/* A failed exec (execve returned err < 0): an event of kind "exec_failed". */
struct aod_store_exec_failed {
	uint64_t wall_ns, mono_ns;
	struct aod_proc_id id;       /* the process that tried */
	uint32_t pid;                /* the thread */
	char comm[AOD_EV_COMM_LEN];
	const char *filename;
	int32_t error;               /* negative errno */
};

int aod_store_put_exec_failed(struct aod_store *st, int64_t run_id,
			      const struct aod_store_exec_failed *f);

/* ---- uploads (store_upload.c): the uploader's own connection ----
 *
 * One row per bundle file. The uploader (src/upload) writes these through a
 * connection of its own (WAL lets it next to the store writer; each call is
 * one short statement), so that a state change is on disk before the next
 * step: queued before the first attempt, uploaded before the local file may
 * be deleted. Strings are copied during the call.
 */
struct aod_store_upload {
	const char *bundle;          /* file name, the row's identity */
	uint64_t anomaly_id;
	const char *path;            /* local file */
	const char *key;             /* object key */
	const char *url;             /* endpoint/bucket/key */
	uint64_t size;
	const char *md5;             /* hex; NULL = not computed yet */
	const char *state;           /* "queued", "uploading", "uploaded", "failed", "dropped" */
	uint32_t attempts;
	uint64_t queued_ns, updated_ns, uploaded_ns; /* wall ns; uploaded 0 = not */
	const char *etag;            /* the server's, quotes removed */
	const char *error;           /* the last failure, NULL if none */
	bool deleted;                /* local file deleted after upload */
};

/* Insert a new row as given, or (the bundle already has one that is not
 * uploaded) set it back to u->state with its new path and key. 0 or -errno. */
int aod_store_upload_put(struct aod_store *st, const struct aod_store_upload *u);
/* Update state, attempts, md5, etag, error, uploaded_ns, deleted, updated_ns
 * of the row of u->bundle. -ENOENT if there is none. */
int aod_store_upload_update(struct aod_store *st, const struct aod_store_upload *u);
/* Call fn for each row in state queued or uploading, oldest first; fn returns
 * 0 to go on. The strings are valid during the call only. */
int aod_store_upload_pending(struct aod_store *st,
			     int (*fn)(void *ctx, const struct aod_store_upload *u), void *ctx);
/* Every row (newest first) of the store at path, opened read-only: for
 * `aod bundles`. -ENOENT when there is no store file; a store of version 1
 * (no uploads table) has no rows. err gets one sentence. */
int aod_store_uploads_read(const char *path,
			   int (*fn)(void *ctx, const struct aod_store_upload *u), void *ctx,
			   char *err, size_t errlen);

/* ---- retention (store_retention.c) ---- */

struct aod_store_retention_stats {
	uint64_t deleted;        /* rows, all tables */
	uint64_t bytes_before, bytes_after; /* on disk: file + WAL */
	bool size_pruned;        /* the size limit made it delete */
};

/*
 * Delete what is older than max_age_ns (0: no age limit), then, if the
 * store takes more than max_bytes on disk (0: no limit) after that, the
 * oldest rows of every table down to 70 % of it, and give the space back
 * to the file system. Rows of the run run_keep that are still open (a live
 * process) stay.
 */
int aod_store_retention(struct aod_store *st, uint64_t max_bytes, uint64_t max_age_ns,
			uint64_t now_wall_ns, int64_t run_keep, struct aod_store_retention_stats *rs);

/* Keep the WAL small next to a size limit (checkpoint after max_bytes / 8 of
 * WAL, truncate it back to that): the limit holds between retention runs. */
void aod_store_set_limit(struct aod_store *st, uint64_t max_bytes);

/* Bytes the store at path takes on disk: the file, its WAL and shared memory. */
uint64_t aod_store_disk_bytes(const char *path);

#endif /* AOD_STORE_STORE_H */
