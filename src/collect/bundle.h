/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics bundles: one tar.zst per anomaly under <output_dir>/batches.
 *
 *   batches/.staging-<id>/               actions and events.jsonl go here (0700), hidden
 *   batches/.aod_<id>_<src>_<type>.tar.zst.tmp   archive being written (0600)
 *   batches/aod_<id>_<src>_<type>.tar.zst        finished bundle (0600)
 *
 * A bundle only ever appears under its final name complete and fsync'd
 * (write to the hidden .tmp, fsync, rename), so readers and the space
 * watcher never see half an archive. Inside, everything sits under one
 * top directory aod_<id>_<src>_<type>/: manifest.json, summary.txt,
 * events.jsonl, aod-status.json and one file per action.
 */
#ifndef AOD_COLLECT_BUNDLE_H
#define AOD_COLLECT_BUNDLE_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/action.h"
#include "config/config.h"
#include "detect/anomaly.h"
#include "detect/event.h"

#define AOD_BUNDLE_DIR "batches"
#define AOD_BUNDLE_SUFFIX ".tar.zst"
#define AOD_BUNDLE_STAGING_PREFIX ".staging-"
#define AOD_BUNDLE_TOKEN_LEN 16     /* source / type: [a-z0-9]{1,15} */
#define AOD_BUNDLE_STEM_LEN 64      /* "aod_<20 digits>_<15>_<15>" + NUL fits */
#define AOD_BUNDLE_MANIFEST_FORMAT 1

/* A bundle file name, split: aod_<id>_<source>_<type>.tar.zst */
struct aod_bundle_name {
	uint64_t id;
	char source[AOD_BUNDLE_TOKEN_LEN];
	char type[AOD_BUNDLE_TOKEN_LEN];
};

/*
 * True only for a name that is exactly aod_<digits>_<source>_<type>.tar.zst
 * (id fits in 64 bits, source and type are [a-z0-9]{1,15}). This is the one
 * pattern the space watcher and `aod bundles` ever look at.
 */
bool aod_bundle_name_parse(const char *filename, struct aod_bundle_name *out);

/* "aod_<id>_<source>_<type>" (no suffix); -ENAMETOOLONG if it does not fit. */
int aod_bundle_stem(const struct aod_anomaly *a, char *buf, size_t len);

/*
 * Open <output_dir>/batches (O_DIRECTORY, no symlink followed). With
 * create, missing directories are made and batches/ is forced to 0700
 * whatever the umask. Returns an fd or a negative errno.
 */
int aod_bundle_dir_open(const char *output_dir, bool create);

/*
 * Create the hidden staging directory <output_dir>/batches/.staging-<id>/
 * (mode 0700) where the actions of one collection write their files. Use
 * the anomaly's id. Writes its path to path and returns an open fd on it
 * (for aod_actions_run; the caller closes it), or a negative errno
 * (-EEXIST if it already exists).
 */
int aod_bundle_staging_create(const char *output_dir, uint64_t id, char *path, size_t len);

/* Remove a staging directory and what it holds (no symlink is followed). */
int aod_bundle_staging_remove(const char *path);
/* The same, for the entry name in the directory dirfd (used by cleanup). */
int aod_bundle_remove_tree_at(int dirfd, const char *name);

/* What goes into one bundle. Only anomaly, results' files and cfg are required. */
struct aod_bundle_input {
	const struct aod_config *cfg;        /* output_dir, hash, path, zstd level, size cap */
	const char *staging_dir;             /* from aod_bundle_staging_create() */
	const struct aod_anomaly *anomaly;   /* primary: it names the bundle */
	const struct aod_anomaly *coalesced; /* same source, arrived during collection */
	size_t ncoalesced;
	const struct aod_anomaly *suppressed;/* held off since the previous bundle (listed) */
	size_t nsuppressed;
	uint64_t suppressed_count;           /* how many were held off (>= nsuppressed) */
	const struct aod_action_spec *specs; /* optional; specs[i] belongs to results[i] */
	const struct aod_action_result *results;
	size_t nresults;
	/* events.jsonl, if present in the staging dir (collect/events_file.h):
	 * the flight recorder's events of the bundle's range */
	size_t nevents;                      /* lines it holds */
	uint64_t events_lost;                /* events of the range the recorder overwrote */
	const struct aod_event *reconnects;  /* SMB reconnects among them, for the summary */
	size_t nreconnects;
	const char *status_json;             /* aod's own status; NULL: no aod-status.json */
	bool partial;                        /* aod stopped while collecting */
	/* optional: the share of an SMB tree id ("\\\\server\\share"), "" if unknown */
	void (*share_name)(void *ctx, uint64_t sesid, uint32_t tid, char *buf, size_t len);
	void *share_ctx;
	/* optional: tgid's command line and parents as it was at wall_ns, from a
	 * process cache (probe/proc_cache.h); false if unknown (then /proc) */
	bool (*proc_chain)(void *ctx, FILE *f, uint32_t tgid, uint64_t wall_ns);
	void *proc_ctx;
};

/* Where a file of the bundle stands against the size cap. */
struct aod_bundle_file_plan {
	bool present;            /* found in the staging dir, goes into the bundle */
	uint64_t size;           /* bytes in staging (or events.jsonl bytes) */
	uint64_t cut;            /* head bytes left out so the bundle fits max_bundle_mb */
	char problem[128];       /* why an action's file is not in the bundle, or "" */
};

/* Decided before writing; manifest.json and summary.txt describe it. */
struct aod_bundle_plan {
	char stem[AOD_BUNDLE_STEM_LEN];
	uint64_t created_ns;
	char hostname[256];
	char kernel[256];
	uint64_t max_bytes;          /* the cap on the compressed bundle */
	uint64_t data_budget;        /* bytes of events + action output that fit under it */
	struct aod_bundle_file_plan *actions; /* [nresults] */
	struct aod_bundle_file_plan events;   /* events.jsonl from staging; cut on whole lines */
	size_t events_written;       /* newest events kept (the oldest go first) */
	uint64_t ncut;               /* files cut (actions and events) */
	uint64_t cut_bytes;          /* bytes cut in all */
};

struct aod_bundle_info {
	char path[PATH_MAX];         /* final path of the .tar.zst */
	char stem[AOD_BUNDLE_STEM_LEN];
	uint64_t size;               /* bytes on disk */
	uint64_t uncompressed;       /* bytes of the tar stream */
	uint64_t ncut;               /* files cut to fit max_bundle_mb */
	uint64_t cut_bytes;
};

/* max_bundle_mb in bytes, or a quarter of cleanup.max_total_log_size_mb if 0. */
uint64_t aod_bundle_max_bytes(const struct aod_config *cfg);

/*
 * Write the bundle for in->anomaly from in->staging_dir: hidden .tmp (0600),
 * fsync, rename to batches/aod_<id>_<source>_<type>.tar.zst, fsync the
 * directory, then remove the staging dir. Action outputs (largest first,
 * keeping their tails) and the oldest events are cut so the compressed
 * bundle stays within aod_bundle_max_bytes(); the manifest says what was
 * cut. On failure nothing is left under a bundle name, the staging dir is
 * kept (the caller may retry or remove it) and a negative errno is
 * returned: -EFBIG if even the manifest and summary do not fit the cap.
 */
int aod_bundle_write(const struct aod_bundle_input *in, struct aod_bundle_info *out);

#endif /* AOD_COLLECT_BUNDLE_H */
