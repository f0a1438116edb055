// SPDX-License-Identifier: MIT
/*
 * Inserts of what the agent sees: SMB and block events (slow ops, errors,
 * stuck ops, late completions, reconnects), failed execs, anomalies,
 * bundles and probe state changes. Each binds its values by parameter name
 * into a statement prepared at open: column and value cannot be paired
 * wrongly (the seeds' INSERT scrambled pid, ppid and time) and no value is
 * ever part of the SQL text.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/evjson.h"
#include "config/config.h"
#include "probe/probes.h"
#include "store/store_int.h"

static void bind_comm(sqlite3_stmt *s, const char *comm)
{
	store_bind_textn(s, ":comm", comm, strnlen(comm, AOD_EV_COMM_LEN));
}

static void bind_smb(sqlite3_stmt *s, const struct aod_event *ev, const char *share)
{
	const struct aod_smb_fields *f = &ev->smb;
	const char *name = aod_smb_cmd_name(f->cmd);
	char other[24];

	snprintf(other, sizeof(other), "SMB2_CMD_%u", f->cmd);
	store_bind_text(s, ":cmd", name ? name : other);
	store_bind_text(s, ":share", share && share[0] ? share : NULL);
	store_bind_u64(s, ":sesid", f->sesid);
	store_bind_u64(s, ":mid", f->mid);
	store_bind_i64(s, ":tid", f->tid);
	if (ev->kind == AOD_EVENT_SMB_ERR) {
		store_bind_i64(s, ":status", f->status);
		store_bind_text(s, ":status_name", aod_ntstatus_name(f->status));
		store_bind_i64(s, ":rc", f->rc);
	}
}

static void bind_blk(sqlite3_stmt *s, const struct aod_event *ev)
{
	const struct aod_blk_fields *f = &ev->blk;
	char dev[24];

	snprintf(dev, sizeof(dev), "%u:%u", f->dev >> 20, f->dev & 0xfffff);
	store_bind_text(s, ":dev", dev);
	store_bind_text(s, ":disk", f->disk[0] ? f->disk : NULL);
	store_bind_text(s, ":op", f->op < AOD_BLK_NOPS ? aod_blk_op_name(f->op) : "other");
	store_bind_u64(s, ":sector", f->sector);
	store_bind_i64(s, ":bytes", f->bytes);
	if (ev->kind == AOD_EVENT_BLK_ERR)
		store_bind_i64(s, ":error", f->error);
}

static void bind_reconnect(sqlite3_stmt *s, const struct aod_event *ev)
{
	const struct aod_smb_conn_fields *f = &ev->conn;

	store_bind_u64(s, ":conn_id", f->conn_id);
	store_bind_u64(s, ":currmid", f->currmid);
	store_bind_textn(s, ":server", f->server, strnlen(f->server, sizeof(f->server)));
}

/* The columns every event has. */
static void bind_head(sqlite3_stmt *s, int64_t run_id, uint64_t wall, uint64_t mono,
		      const char *kind, const char *source, uint32_t pid, uint32_t tgid,
		      const char *comm, uint32_t flags)
{
	store_bind_i64(s, ":run", run_id);
	store_bind_u64(s, ":wall", wall);
	store_bind_u64(s, ":mono", mono);
	store_bind_text(s, ":kind", kind);
	store_bind_text(s, ":source", source);
	store_bind_i64(s, ":pid", pid);
	store_bind_i64(s, ":tgid", tgid);
	bind_comm(s, comm);
	store_bind_i64(s, ":was_stuck", !!(flags & AOD_EVF_WAS_STUCK));
	store_bind_i64(s, ":late", !!(flags & AOD_EVF_LATE));
}

int aod_store_put_event(struct aod_store *st, int64_t run_id, const struct aod_event *ev,
			const char *share)
{
	sqlite3_stmt *s = st->stmt[ST_EVENT];
	const char *kind = aod_event_kind_name(ev->kind);

	if (!kind)
		return -EINVAL;
	bind_head(s, run_id, ev->wall_ns, ev->mono_ns, kind, aod_source_name(aod_event_source(ev)),
		  ev->pid, ev->tgid, ev->comm, ev->flags);
	store_bind_nz(s, ":batch", ev->batch);
	if (ev->kind == AOD_EVENT_SMB_RECONNECT) {
		bind_reconnect(s, ev);
	} else {
		store_bind_u64(s, ":latency", aod_event_latency_ns(ev));
		if (aod_event_source(ev) == AOD_SOURCE_SMB)
			bind_smb(s, ev, share);
		else
			bind_blk(s, ev);
	}
	return store_exec_stmt(st, s);
}

int aod_store_put_exec_failed(struct aod_store *st, int64_t run_id,
			      const struct aod_store_exec_failed *f)
{
	sqlite3_stmt *s = st->stmt[ST_EVENT];

	bind_head(s, run_id, f->wall_ns, f->mono_ns, "exec_failed", "process", f->pid, f->id.tgid,
		  f->comm, 0);
	store_bind_nz(s, ":proc_start", f->id.start_ns);
	store_bind_text(s, ":path", f->filename);
	store_bind_i64(s, ":error", f->error);
	return store_exec_stmt(st, s);
}

int aod_store_put_anomaly(struct aod_store *st, int64_t run_id, const struct aod_anomaly *a,
			  const char *json)
{
	sqlite3_stmt *s = st->stmt[ST_ANOMALY];

	store_bind_i64(s, ":run", run_id);
	store_bind_u64(s, ":id", a->id);
	store_bind_u64(s, ":wall", a->id);
	store_bind_textn(s, ":rule", a->rule, strnlen(a->rule, sizeof(a->rule)));
	store_bind_text(s, ":source", aod_source_name(a->source));
	store_bind_text(s, ":type", aod_rule_type_name(a->type));
	store_bind_i64(s, ":emergency", a->emergency);
	store_bind_u64(s, ":wstart", a->window_start_ns);
	store_bind_u64(s, ":wend", a->window_end_ns);
	store_bind_i64(s, ":total", a->total);
	store_bind_i64(s, ":acceptable", a->acceptable_count);
	store_bind_i64(s, ":dropped", a->dropped);
	store_bind_text(s, ":json", json);
	return store_exec_stmt(st, s);
}

static const char *const bundle_results[] = { "ok", "partial", "failed" };

int aod_store_put_bundle(struct aod_store *st, int64_t run_id, const struct aod_store_bundle *b)
{
	sqlite3_stmt *s = st->stmt[ST_BUNDLE];

	if ((unsigned)b->result > AOD_STORE_BUNDLE_FAILED)
		return -EINVAL;
	store_bind_i64(s, ":run", run_id);
	store_bind_u64(s, ":id", b->anomaly_id);
	store_bind_u64(s, ":wall", b->wall_ns);
	store_bind_text(s, ":rule", b->rule);
	store_bind_text(s, ":source", aod_source_name(b->source));
	store_bind_text(s, ":type", aod_rule_type_name(b->type));
	store_bind_text(s, ":path", b->path);
	if (b->result != AOD_STORE_BUNDLE_FAILED)
		store_bind_u64(s, ":size", b->size);
	store_bind_text(s, ":result", bundle_results[b->result]);
	store_bind_text(s, ":error", b->error && b->error[0] ? b->error : NULL);
	store_bind_u64(s, ":duration", b->duration_ms);
	return store_exec_stmt(st, s);
}

int aod_store_put_probe_state(struct aod_store *st, int64_t run_id,
			      const struct aod_store_probe_state *ps)
{
	sqlite3_stmt *s = st->stmt[ST_PROBE_STATE];

	store_bind_i64(s, ":run", run_id);
	store_bind_u64(s, ":wall", ps->wall_ns);
	store_bind_text(s, ":probe", ps->probe);
	store_bind_text(s, ":state", ps->state);
	store_bind_text(s, ":mode", ps->mode && ps->mode[0] ? ps->mode : NULL);
	store_bind_text(s, ":reason", ps->reason && ps->reason[0] ? ps->reason : NULL);
	return store_exec_stmt(st, s);
}
