/* SPDX-License-Identifier: MIT */
/*
 * The processes an anomaly involves, for a person reading a bundle: each
 * one's command line and its parent chain, read from /proc when the bundle
 * is written (the probes' records carry only the PID and comm). A process
 * that exited since, or whose PID now names a process started after the
 * event, is said to be gone rather than misnamed.
 */
#ifndef AOD_PROBE_PROC_CHAIN_H
#define AOD_PROBE_PROC_CHAIN_H

#include <stdint.h>
#include <stdio.h>

#define AOD_PROC_CHAIN_DEPTH 8 /* ancestors shown, PID 1 included */

/*
 * Lines for tgid: "  PID  COMMAND LINE" then one "    <- PID  COMMAND LINE"
 * per ancestor, up to AOD_PROC_CHAIN_DEPTH. event_wall_ns: when the event
 * was seen (CLOCK_REALTIME ns). Every string is escaped.
 */
void aod_proc_chain_fput(FILE *f, uint32_t tgid, uint64_t event_wall_ns);

#endif /* AOD_PROBE_PROC_CHAIN_H */
