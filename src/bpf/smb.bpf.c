// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * SMB (cifs client) command latency and errors.
 *
 * Start: cifs:smb3_cmd_enter, fired in smb2_mid_entry_alloc() in the
 * caller's context. End: cifs:smb3_cmd_done or cifs:smb3_cmd_err, fired in
 * map_smb2_to_linux_error() when the response is checked, often in cifsd.
 * Commands are matched on (session id, message id); pid and comm come from
 * the start. Every completion goes into a per-command log2 histogram; only
 * ops at or over their command's threshold and errors with a tracked
 * verdict are sent to user space.
 *
 * Attach modes (user space enables one set, the others are not loaded):
 *   raw_tp  raw tracepoints: arguments are TP_PROTO's scalars
 *   tp_btf  the same through BTF (needs the cifs module's BTF)
 *   fentry  fexit on the two functions that fire the tracepoints
 *   kprobe  kprobe/kretprobe on the same functions
 * The fallbacks read the SMB2 header the functions receive. Its layout is
 * the wire format (MS-SMB2 2.2.1, little endian, packed), not a kernel
 * struct, so they need no cifs type information at all.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"
#include "common.bpf.h"
#include "hist.bpf.h"
#include "inflight.bpf.h"
#include "knobs.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_SMB_INFLIGHT_MAX);
	__type(key, struct aod_smb_key);
	__type(value, struct aod_smb_start);
} smb_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AOD_SMB_NCMDS);
	__type(key, __u32);
	__type(value, struct aod_hist);
} smb_hist SEC(".maps");

/* The same per share (session, tree id): the exporter's share label. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_SMB_SHARE_HISTS_MAX);
	__type(key, struct aod_smb_share_key);
	__type(value, struct aod_hist);
} smb_share_hist SEC(".maps");

/* Errors per (session, tree id, command, NTSTATUS), every error counted
 * whether or not a rule tracks it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_SMB_ERR_COUNTS_MAX);
	__type(key, struct aod_smb_errcnt_key);
	__type(value, __u64);
} smb_err_count SEC(".maps");

static const struct aod_hist zero_hist;

/* Knobs: written by user space at start and on reload. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AOD_SMB_NCMDS);
	__type(key, __u32);
	__type(value, __u64); /* ns, AOD_THRESH_OFF: never slow */
} smb_thresh SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_SMB_PAIR_VERDICT_MAX);
	__type(key, struct aod_smb_err_key);
	__type(value, __u32); /* enum aod_err_verdict */
} smb_pair_verdict SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_SMB_VERDICT_MAX);
	__type(key, __u32);   /* NTSTATUS */
	__type(value, __u32); /* enum aod_err_verdict */
} smb_status_verdict SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_SMB_VERDICT_MAX);
	__type(key, __s32);   /* rc, negative errno */
	__type(value, __u32); /* enum aod_err_verdict */
} smb_rc_verdict SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aod_smb_knobs);
} smb_knobs SEC(".maps");

/* SMB2 header, wire offsets (MS-SMB2 2.2.1.2, sync form). */
#define SMB2_HDR_STATUS 8
#define SMB2_HDR_COMMAND 12
#define SMB2_HDR_MESSAGE_ID 24
#define SMB2_HDR_TREE_ID 36
#define SMB2_HDR_SESSION_ID 40

struct smb_hdr_fields {
	__u64 sesid;
	__u64 mid;
	__u32 tid;
	__u32 status;
	__u16 cmd;
};

/* kprobe mode: header fields seen at function entry, per thread, until
 * the kretprobe supplies the return value. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct smb_hdr_fields);
} smb_kp_stash SEC(".maps");

static __always_inline void smb_enter(__u32 tid, __u64 sesid, __u16 cmd,
				      __u64 mid)
{
	struct aod_smb_key key = { .sesid = sesid, .mid = mid };
	struct aod_smb_start start = {};
	__u64 id = bpf_get_current_pid_tgid();

	start.ts_ns = bpf_ktime_get_ns();
	start.pid = (__u32)id;
	start.tgid = id >> 32;
	start.tid = tid;
	start.cmd = cmd;
	bpf_get_current_comm(start.comm, sizeof(start.comm));
	if (bpf_map_update_elem(&smb_inflight, &key, &start, BPF_ANY))
		cnt_inc(AOD_CNT_INFLIGHT_FULL);
}

static __always_inline void hist_add(__u64 sesid, __u32 tid, __u32 cmd, __u64 latency_ns)
{
	struct aod_smb_share_key sk = { .sesid = sesid, .tid = tid, .cmd = cmd };
	struct aod_hist *h = bpf_map_lookup_elem(&smb_hist, &cmd);

	if (h)
		hist_inc(h, latency_ns);
	h = bpf_map_lookup_elem(&smb_share_hist, &sk);
	if (!h) {
		bpf_map_update_elem(&smb_share_hist, &sk, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&smb_share_hist, &sk);
		if (!h) {
			cnt_inc(AOD_CNT_HIST_FULL);
			return;
		}
	}
	hist_inc(h, latency_ns);
}

static __always_inline void err_count(__u64 sesid, __u32 tid, __u32 cmd, __u32 status)
{
	struct aod_smb_errcnt_key ek = { .sesid = sesid, .tid = tid, .cmd = cmd,
					 .status = status };
	__u64 one = 1, *v = bpf_map_lookup_elem(&smb_err_count, &ek);

	if (v) {
		__sync_fetch_and_add(v, 1);
		return;
	}
	if (bpf_map_update_elem(&smb_err_count, &ek, &one, BPF_NOEXIST)) {
		v = bpf_map_lookup_elem(&smb_err_count, &ek);
		if (v)
			__sync_fetch_and_add(v, 1); /* another CPU made it first */
		else
			cnt_inc(AOD_CNT_HIST_FULL);
	}
}

/* The (status, rc) exception first, then the status verdict, then the rc
 * verdict, then the default. Only errors get here: the lookups are cheap
 * next to what they save (a record per benign error). */
static __always_inline bool err_tracked(__u32 status, __s32 rc,
					const struct aod_smb_knobs *k)
{
	struct aod_smb_err_key pair = { .status = status, .rc = rc };
	__u32 *v = bpf_map_lookup_elem(&smb_pair_verdict, &pair);

	if (!v || *v == AOD_ERR_UNSET)
		v = bpf_map_lookup_elem(&smb_status_verdict, &status);
	if (!v || *v == AOD_ERR_UNSET)
		v = bpf_map_lookup_elem(&smb_rc_verdict, &rc);
	if (v && *v != AOD_ERR_UNSET)
		return *v == AOD_ERR_TRACK;
	return k->err_default == AOD_ERR_TRACK;
}

static __always_inline void emit(__u32 kind, const struct aod_smb_start *s,
				 const struct smb_hdr_fields *f, __u64 now,
				 __u64 latency_ns, __s32 rc, bool emergency)
{
	struct aod_raw_event *e = ev_reserve(kind);

	if (!e)
		return;
	e->h.pid = s->pid;
	e->h.tgid = s->tgid;
	e->h.ts_ns = now;
	__builtin_memcpy(e->h.comm, s->comm, sizeof(e->h.comm));
	e->smb.sesid = f->sesid;
	e->smb.mid = f->mid;
	e->smb.latency_ns = latency_ns;
	e->smb.tid = s->tid ? s->tid : f->tid;
	e->smb.status = kind == AOD_RAW_SMB_ERR ? f->status : 0;
	e->smb.rc = kind == AOD_RAW_SMB_ERR ? rc : 0;
	e->smb.cmd = f->cmd;
	e->smb.pad = 0;
	ev_submit(e, emergency);
}

/* A completion whose enter is not in the map: user space may hold it
 * (expired while the server hung) and measures it there. */
static __always_inline void emit_unmatched(const struct smb_hdr_fields *f, __u64 now)
{
	struct aod_raw_event *e = ev_reserve(AOD_RAW_SMB_UNMATCHED);
	__u64 id = bpf_get_current_pid_tgid();

	if (!e)
		return;
	e->h.pid = (__u32)id;
	e->h.tgid = id >> 32;
	e->h.ts_ns = now;
	bpf_get_current_comm(e->h.comm, sizeof(e->h.comm));
	e->smb.sesid = f->sesid;
	e->smb.mid = f->mid;
	e->smb.latency_ns = 0;
	e->smb.tid = f->tid;
	e->smb.status = 0;
	e->smb.rc = 0;
	e->smb.cmd = f->cmd;
	e->smb.pad = 0;
	ev_submit(e, false);
}

static __always_inline void smb_complete(const struct smb_hdr_fields *f,
					 __s32 rc, bool is_err)
{
	struct aod_smb_key key = { .sesid = f->sesid, .mid = f->mid };
	struct aod_smb_start start = {};
	struct aod_smb_start *sp;
	struct aod_smb_knobs *k;
	__u64 now = bpf_ktime_get_ns(), latency = 0, id;
	__u32 zero = 0, cmd = f->cmd;
	bool seen = false;

	k = bpf_map_lookup_elem(&smb_knobs, &zero);
	sp = bpf_map_lookup_elem(&smb_inflight, &key);
	if (sp) {
		/* copy before delete: a freed element can be reused at once */
		start = *sp;
		bpf_map_delete_elem(&smb_inflight, &key);
		seen = true;
		latency = now - start.ts_ns;
		hist_add(f->sesid, start.tid ? start.tid : f->tid, cmd, latency);
	} else {
		cnt_inc(AOD_CNT_UNMATCHED);
		if (!is_err) {
			if (k && k->late_watch)
				emit_unmatched(f, now);
			return;
		}
		/* an error without its enter is still reported, with the
		 * completing task's identity and latency 0 */
		id = bpf_get_current_pid_tgid();
		start.pid = (__u32)id;
		start.tgid = id >> 32;
		bpf_get_current_comm(start.comm, sizeof(start.comm));
	}
	cnt_inc(AOD_CNT_OPS);
	if (is_err)
		err_count(f->sesid, start.tid ? start.tid : f->tid, cmd, f->status);

	if (!k)
		return;
	if (seen && k->enabled_slow && cmd < AOD_SMB_NCMDS) {
		__u64 *th = bpf_map_lookup_elem(&smb_thresh, &cmd);

		if (th && *th != AOD_THRESH_OFF && latency >= *th)
			emit(AOD_RAW_SMB_SLOW, &start, f, now, latency, 0,
			     latency >= k->emergency_ns);
	}
	/* an unmatched error goes out even if untracked while user space
	 * holds expired entries: it may be the end of a hung command */
	if (is_err && ((k->enabled_err && err_tracked(f->status, rc, k)) ||
		       (!seen && k->late_watch)))
		emit(AOD_RAW_SMB_ERR, &start, f, now, latency, rc, false);
}

static __always_inline void tp_complete(__u32 tid, __u64 sesid, __u16 cmd,
					__u64 mid, __u32 status, __s32 rc,
					bool is_err)
{
	struct smb_hdr_fields f = {
		.sesid = sesid, .mid = mid, .tid = tid, .status = status,
		.cmd = cmd,
	};

	smb_complete(&f, rc, is_err);
}

/* ---- raw_tp: TP_PROTO(u32 tid, u64 sesid, u16 cmd, u64 mid[, u32 status, int rc]) */

SEC("raw_tp/smb3_cmd_enter")
int BPF_PROG(aod_smb_ent_rt, __u32 tid, __u64 sesid, __u16 cmd, __u64 mid)
{
	smb_enter(tid, sesid, cmd, mid);
	return 0;
}

SEC("raw_tp/smb3_cmd_done")
int BPF_PROG(aod_smb_done_rt, __u32 tid, __u64 sesid, __u16 cmd, __u64 mid)
{
	tp_complete(tid, sesid, cmd, mid, 0, 0, false);
	return 0;
}

SEC("raw_tp/smb3_cmd_err")
int BPF_PROG(aod_smb_err_rt, __u32 tid, __u64 sesid, __u16 cmd, __u64 mid,
	     __u32 status, int rc)
{
	tp_complete(tid, sesid, cmd, mid, status, rc, true);
	return 0;
}

/* Reconnects are rare and always worth a record: after one, mids restart
 * and errors cluster, which is what an engineer wants to see next to them. */
static __always_inline void smb_reconnect(__u64 currmid, __u64 conn_id,
					  const char *hostname)
{
	struct aod_raw_event *e = ev_reserve(AOD_RAW_SMB_RECONNECT);
	__u64 id = bpf_get_current_pid_tgid();

	if (!e)
		return;
	e->h.pid = (__u32)id;
	e->h.tgid = id >> 32;
	e->h.ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(e->h.comm, sizeof(e->h.comm));
	e->conn.conn_id = conn_id;
	e->conn.currmid = currmid;
	if (bpf_probe_read_kernel_str(e->conn.server, sizeof(e->conn.server), hostname) < 0)
		e->conn.server[0] = '\0';
	ev_submit(e, false);
}

/* TP_PROTO(__u64 currmid, __u64 conn_id, char *hostname) */
SEC("raw_tp/smb3_reconnect")
int BPF_PROG(aod_smb_rcn_rt, __u64 currmid, __u64 conn_id, const char *hostname)
{
	smb_reconnect(currmid, conn_id, hostname);
	return 0;
}

SEC("tp_btf/smb3_reconnect")
int BPF_PROG(aod_smb_rcn_bt, __u64 currmid, __u64 conn_id, const char *hostname)
{
	smb_reconnect(currmid, conn_id, hostname);
	return 0;
}

/* ---- tp_btf: the same arguments, typed by the cifs module's BTF */

SEC("tp_btf/smb3_cmd_enter")
int BPF_PROG(aod_smb_ent_bt, __u32 tid, __u64 sesid, __u16 cmd, __u64 mid)
{
	smb_enter(tid, sesid, cmd, mid);
	return 0;
}

SEC("tp_btf/smb3_cmd_done")
int BPF_PROG(aod_smb_done_bt, __u32 tid, __u64 sesid, __u16 cmd, __u64 mid)
{
	tp_complete(tid, sesid, cmd, mid, 0, 0, false);
	return 0;
}

SEC("tp_btf/smb3_cmd_err")
int BPF_PROG(aod_smb_err_bt, __u32 tid, __u64 sesid, __u16 cmd, __u64 mid,
	     __u32 status, int rc)
{
	tp_complete(tid, sesid, cmd, mid, status, rc, true);
	return 0;
}

/* ---- fallbacks: read the SMB2 header given to the functions */

static __always_inline int read_hdr(const void *hdr, struct smb_hdr_fields *f)
{
	const char *p = hdr;
	__u16 cmd;

	if (!p)
		return -1;
	if (bpf_probe_read_kernel(&f->status, 4, p + SMB2_HDR_STATUS) ||
	    bpf_probe_read_kernel(&cmd, 2, p + SMB2_HDR_COMMAND) ||
	    bpf_probe_read_kernel(&f->mid, 8, p + SMB2_HDR_MESSAGE_ID) ||
	    bpf_probe_read_kernel(&f->tid, 4, p + SMB2_HDR_TREE_ID) ||
	    bpf_probe_read_kernel(&f->sesid, 8, p + SMB2_HDR_SESSION_ID))
		return -1;
	f->cmd = cmd;
	return 0;
}

/* static struct mid_q_entry *smb2_mid_entry_alloc(const struct smb2_hdr *shdr,
 *						   struct TCP_Server_Info *server) */
SEC("fexit/smb2_mid_entry_alloc")
int BPF_PROG(aod_smb_ent_fx, const void *shdr, const void *server,
	     const void *ret)
{
	struct smb_hdr_fields f = {};

	if (ret && !read_hdr(shdr, &f))
		smb_enter(f.tid, f.sesid, f.cmd, f.mid);
	return 0;
}

/* int map_smb2_to_linux_error(char *buf, bool log_err): status 0 is
 * smb3_cmd_done, anything else smb3_cmd_err with rc = the return value. */
SEC("fexit/map_smb2_to_linux_error")
int BPF_PROG(aod_smb_end_fx, const void *buf, bool log_err, int ret)
{
	struct smb_hdr_fields f = {};

	if (!read_hdr(buf, &f))
		smb_complete(&f, ret, f.status != 0);
	return 0;
}

SEC("kprobe/smb2_mid_entry_alloc")
int BPF_KPROBE(aod_smb_ent_kp, const void *shdr)
{
	struct smb_hdr_fields f = {};

	if (!read_hdr(shdr, &f))
		smb_enter(f.tid, f.sesid, f.cmd, f.mid);
	return 0;
}

SEC("kprobe/map_smb2_to_linux_error")
int BPF_KPROBE(aod_smb_end_kp, const void *buf)
{
	struct smb_hdr_fields f = {};
	__u64 id = bpf_get_current_pid_tgid();

	if (!read_hdr(buf, &f) &&
	    bpf_map_update_elem(&smb_kp_stash, &id, &f, BPF_ANY))
		cnt_inc(AOD_CNT_INFLIGHT_FULL);
	return 0;
}

SEC("kretprobe/map_smb2_to_linux_error")
int BPF_KRETPROBE(aod_smb_end_krp, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct smb_hdr_fields f, *fp;

	fp = bpf_map_lookup_elem(&smb_kp_stash, &id);
	if (!fp)
		return 0;
	f = *fp;
	bpf_map_delete_elem(&smb_kp_stash, &id);
	smb_complete(&f, ret, f.status != 0);
	return 0;
}
