/* SPDX-License-Identifier: MIT */
/*
 * The agent's recent processes (when probes.proc is on), so that a bundle
 * names a process that has already exited with its command line and
 * parents: filled by the process probe's records in the poll thread, read
 * by the collector (thread-safe, one mutex). Bounded, O(1) per record:
 * each process has two candidate slots; a new one takes a free one, else
 * the one whose process exited, else the older.
 */
#ifndef AOD_PROBE_PROC_CACHE_H
#define AOD_PROBE_PROC_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "probe/proc_probe.h"

/* The agent's size: 4096 processes (~0.9 MiB, paged in as used). */
#define AOD_AGENT_PROC_CACHE 4096

struct aod_proc_cache;

struct aod_proc_cache *aod_proc_cache_new(uint32_t cap);
void aod_proc_cache_free(struct aod_proc_cache *c);
void aod_proc_cache_add(struct aod_proc_cache *c, const struct aod_proc_event *ev);
/*
 * The lines of proc_chain.h for the process that was tgid at wall_ns, from
 * the cache: "  PID  COMMAND LINE (exit 3)" and "    <- PID ..." per known
 * ancestor. false (nothing written) if the cache does not know it.
 */
bool aod_proc_cache_chain_fput(struct aod_proc_cache *c, FILE *f, uint32_t tgid,
			       uint64_t wall_ns);

#endif /* AOD_PROBE_PROC_CACHE_H */
