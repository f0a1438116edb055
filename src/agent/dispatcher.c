// SPDX-License-Identifier: MIT
/*
 * Dispatcher: drains the BPF ring buffers. Wakeups are batched in the
 * kernel (see src/bpf), so one poll usually returns many records; they are
 * decoded here, copied to the flight recorder and handed to the detector
 * as one batch with one wakeup.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/event_queue.h"
#include "agent/flight_recorder.h"
#include "agent/store_writer.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "probe/probes.h"
#include "probe/proc_cache.h"
#include "probe/smb_shares.h"

#define POLL_TIMEOUT_MS 50

static void flush_batch(struct aod_agent *agent)
{
	if (!agent->batch_len)
		return;
	aod_store_writer_events(agent->store, agent->batch, agent->batch_len); /* never waits */
	aod_event_queue_push(agent->events, agent->batch, agent->batch_len);
	agent->batch_len = 0;
}

/* aod_smb_reconnects_total{server}, aod_smb_stuck_commands_total{share,command}:
 * every reconnect and stuck record, whether or not a rule wants it. */
static void count_smb_series(struct aod_agent *agent, const struct aod_event *ev)
{
	char share[AOD_SHARE_NAME_LEN];

	if (ev->kind == AOD_EVENT_SMB_RECONNECT) {
		aod_series_add(&agent->series.smb_reconnects,
			       ev->conn.server[0] ? ev->conn.server : "unknown", NULL, NULL, 1);
	} else if (ev->kind == AOD_EVENT_SMB_STUCK) {
		if (aod_smb_share_name(agent->shares, ev->smb.sesid, ev->smb.tid, share,
				       sizeof(share)) || !share[0])
			snprintf(share, sizeof(share), "unknown");
		aod_series_add(&agent->series.smb_stuck, share, aod_smb_cmd_name(ev->smb.cmd), NULL,
			       1);
	}
}

/* Ring-buffer callback (runs inside aod_probes_poll on the dispatcher thread). */
void aod_dispatcher_on_raw(void *ctx, const struct aod_raw_event *raw)
{
	struct aod_agent *agent = ctx;
	struct aod_event *ev;

	if (agent->batch_len == agent->batch_cap)
		flush_batch(agent);
	ev = &agent->batch[agent->batch_len];
	if (aod_decode_event(&agent->decoder, raw, ev)) {
		atomic_fetch_add(&agent->counters.events_bad, 1);
		return;
	}
	agent->batch_len++;
	atomic_fetch_add(&agent->counters.events_decoded, 1);
	aod_flight_recorder_add(agent->recorder, ev);
	count_smb_series(agent, ev);
}

/* A process that exited non-zero or by a signal, as an event for the
 * detector (procexit rules) and the flight recorder (bundles). Not for the
 * store's events table: the processes row has the exit. A process the
 * probe's filters hide makes none. */
static void proc_exit_event(struct aod_agent *agent, const struct aod_proc_event *pe)
{
	const struct aod_proc_hdr *h = pe->h;
	uint64_t now_wall = aod_wall_ns(), now_mono = aod_mono_ns();
	struct aod_event ev;

	if (h->kind != AOD_PROC_EXIT || (h->flags & AOD_PROCF_FILTERED) ||
	    (pe->exit_code == 0 && pe->signal == 0))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = AOD_EVENT_PROC_EXIT;
	ev.wall_ns = pe->wall_ns;
	/* the probe's clock is CLOCK_BOOTTIME: the same instant on CLOCK_MONOTONIC */
	ev.mono_ns = now_wall > pe->wall_ns && now_mono > now_wall - pe->wall_ns
			     ? now_mono - (now_wall - pe->wall_ns) : now_mono;
	ev.pid = h->pid;
	ev.tgid = h->tgid;
	memcpy(ev.comm, h->comm, sizeof(ev.comm) < sizeof(h->comm) ? sizeof(ev.comm)
								    : sizeof(h->comm));
	ev.proc = (struct aod_proc_exit_fields){
		.start_ns = h->start_ns, .duration_ns = pe->duration_ns,
		.exit_code = pe->exit_code, .signal = pe->signal, .core_dumped = pe->core_dumped,
	};
	aod_flight_recorder_add(agent->recorder, &ev);
	aod_event_queue_push(agent->events, &ev, 1);
}

/* Process probe records (same thread): straight to the store writer, which
 * counts what it cannot queue; a record that cannot even be copied counts
 * as undecodable. Failed exits also go to the detector. */
void aod_dispatcher_on_proc(void *ctx, const struct aod_proc_event *ev)
{
	struct aod_agent *agent = ctx;
	struct aod_store_rec rec;

	int err;

	aod_proc_cache_add(agent->procs, ev);
	err = aod_store_rec_from_proc(&rec, ev);
	if (err < 0)
		atomic_fetch_add(&agent->counters.events_bad, 1);
	else if (err == 0)
		aod_store_writer_push(agent->store, &rec);
	proc_exit_event(agent, ev);
}

int aod_dispatcher_main(struct aod_agent *agent)
{
	while (!aod_agent_stopping(agent)) {
		int n = aod_probes_poll(agent->probes, POLL_TIMEOUT_MS);

		flush_batch(agent);
		if (n < 0 && n != -EINTR) {
			log_err("dispatcher: ring buffer poll failed: %s", strerror(-n));
			return n;
		}
	}
	return 0;
}
