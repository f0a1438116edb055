// SPDX-License-Identifier: MIT
#include "collect/summary.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "common/timeutil.h"
#include "detect/tcp_event.h"
#include "probe/proc_chain.h"

#define MIB (1024.0 * 1024.0)

static void fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns >= AOD_NSEC_PER_SEC)
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
	else if (ns >= AOD_NSEC_PER_MSEC)
		snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.0f us", (double)ns / 1e3);
}

static void fmt_bytes(uint64_t n, char *buf, size_t len)
{
	if (n >= 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", (double)n / MIB);
	else if (n >= 1024)
		snprintf(buf, len, "%.1f KiB", (double)n / 1024.0);
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)n);
}

static const char *source_ops(const struct aod_anomaly *a)
{
	switch (a->source) {
	case AOD_SOURCE_SMB: return "SMB commands";
	case AOD_SOURCE_BLOCK: return "block I/Os";
	case AOD_SOURCE_PROC: return "process exits";
	case AOD_SOURCE_TCP:
		if (a->type == AOD_RULE_LATENCY)
			return "TCP connects";
		return a->nworst && a->worst[0].kind == AOD_EVENT_TCP_RESET ? "TCP resets"
									    : "TCP retransmits";
	default: return "events";
	}
}

/* What a TCP rule counts: "were over their latency threshold", ... */
static const char *counted_as(const struct aod_anomaly *a)
{
	if (a->type != AOD_RULE_ERROR)
		return "were over their latency threshold";
	if (a->source == AOD_SOURCE_TCP)
		return "were counted";
	if (a->source == AOD_SOURCE_PROC)
		return "had a counted exit code or signal";
	return "failed with a tracked error";
}

void aod_summary_event_key(const struct aod_event *ev, char *buf, size_t len)
{
	const char *name;

	if (aod_event_source(ev) == AOD_SOURCE_SMB) {
		name = aod_smb_cmd_name(ev->smb.cmd);
		if (name)
			snprintf(buf, len, "%s", name);
		else
			snprintf(buf, len, "SMB2 command %u", ev->smb.cmd);
	} else if (aod_event_is_tcp(ev)) {
		aod_tcp_event_key(ev, buf, len);
	} else if (ev->kind == AOD_EVENT_PROC_EXIT) {
		snprintf(buf, len, "process %u", ev->tgid);
	} else if (ev->blk.disk[0]) {
		snprintf(buf, len, "%.*s", AOD_DISK_NAME_LEN, ev->blk.disk);
	} else {
		snprintf(buf, len, "dev %u:%u", ev->blk.dev >> 20, ev->blk.dev & 0xfffff);
	}
}

/* A TCP retransmit or reset: what, in which state, the other endpoint. */
static void tcp_outcome(const struct aod_event *ev, char *buf, size_t len)
{
	const struct aod_tcp_fields *t = &ev->tcp;
	const char *state = aod_tcp_state_name(t->state);
	bool sent = ev->kind == AOD_EVENT_TCP_RESET && t->dir == AOD_TCP_DIR_SENT;
	char other[AOD_TCP_ENDPOINT_LEN];

	/* the key is one endpoint (tcp_event.h); show the other */
	if (sent)
		aod_tcp_endpoint_str(t->family, t->raddr, t->rport, other, sizeof(other));
	else
		aod_tcp_endpoint_str(t->family, t->laddr, t->lport, other, sizeof(other));
	if (ev->kind == AOD_EVENT_TCP_RETRANS)
		snprintf(buf, len, "retransmit, %u segment%s, %s, local %s", t->segs,
			 t->segs == 1 ? "" : "s", state ? state : "?", other);
	else
		snprintf(buf, len, "reset %s%s%s, %s %s", sent ? "sent" : "received",
			 state ? " in " : "", state ? state : "", sent ? "to" : "local", other);
}

/* The latency of a slow op, or the status of a failed one. */
static void event_outcome(const struct aod_event *ev, char *buf, size_t len)
{
	const char *name;

	if (aod_event_is_tcp(ev) && aod_event_is_error(ev)) {
		tcp_outcome(ev, buf, len);
		return;
	}
	if (ev->kind == AOD_EVENT_PROC_EXIT) {
		const char *sig = ev->proc.signal > 0 ? sigabbrev_np(ev->proc.signal) : NULL;

		const char *core = ev->proc.core_dumped ? " (core dumped)" : "";

		if (sig)
			snprintf(buf, len, "killed by SIG%s%s", sig, core);
		else if (ev->proc.signal)
			snprintf(buf, len, "killed by signal %d%s", ev->proc.signal, core);
		else
			snprintf(buf, len, "exit %d", ev->proc.exit_code);
		return;
	}
	if (!aod_event_is_error(ev)) {
		fmt_ns(aod_event_latency_ns(ev), buf, len);
		return;
	}
	if (aod_event_source(ev) == AOD_SOURCE_SMB) {
		char rc[48] = "";

		if (ev->smb.rc < 0) {
			name = aod_errno_name(-ev->smb.rc);
			if (name)
				snprintf(rc, sizeof(rc), " (%s)", name);
			else
				snprintf(rc, sizeof(rc), " (rc %d)", ev->smb.rc);
		}
		name = aod_ntstatus_name(ev->smb.status);
		if (name)
			snprintf(buf, len, "%s%s", name, rc);
		else
			snprintf(buf, len, "0x%08X%s", ev->smb.status, rc);
		return;
	}
	name = ev->blk.error < 0 ? aod_errno_name(-ev->blk.error) : NULL;
	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "error %d", ev->blk.error);
}

static void what_fired(FILE *f, const struct aod_anomaly *a)
{
	char from[40], to[40], win[32], lat[32], thr[32];
	uint64_t window = a->window_end_ns > a->window_start_ns ? a->window_end_ns - a->window_start_ns : 0;

	if (a->type == AOD_RULE_MANUAL) {
		fprintf(f, "Manual snapshot \"%s\": no rule fired; a person asked for this bundle.\n",
			a->rule);
		return;
	}
	aod_format_wall(a->window_start_ns, from, sizeof(from));
	aod_format_wall(a->window_end_ns, to, sizeof(to));
	fmt_ns(window, win, sizeof(win));
	if (a->type == AOD_RULE_HEALTH) {
		fprintf(f, "Rule \"%s\" (type Health) fired at %s: %u unit(s) newly failed or over their "
			   "anomaly score threshold in the health report of that time (PER KEY; the report "
			   "is health-report.json).\n", a->rule, to, a->total);
		return;
	}
	if (a->type == AOD_RULE_STUCK) {
		fmt_ns(a->emergency_threshold_ns, thr, sizeof(thr));
		fprintf(f, "Rule \"%s\" (source %s) found %u %s STUCK: still in flight at %s, "
			   "longer than its emergency threshold of %s; the oldest had been waiting "
			   "for %s (since %s). They had not completed when they were reported; see "
			   "STUCK OPERATIONS for how long they had waited when this bundle was made.\n",
			a->rule, aod_source_name(a->source), a->total, source_ops(a), to, thr,
			win, from);
		return;
	}
	fprintf(f, "Rule \"%s\" (source %s, type %s) fired: %u %s %s between %s and %s "
		   "(window %s); its acceptable_count is %u.\n",
		a->rule, aod_source_name(a->source), aod_rule_type_name(a->type), a->total,
		source_ops(a), counted_as(a),
		from, to, win, a->acceptable_count);
	if (a->emergency) {
		uint64_t worst = a->nworst ? aod_event_latency_ns(&a->worst[0]) : 0;

		fmt_ns(worst, lat, sizeof(lat));
		fmt_ns(a->emergency_threshold_ns, thr, sizeof(thr));
		fprintf(f, "Emergency: a single operation took %s, at or over the emergency threshold "
			   "of %s, so the rule fired at once.\n", lat, thr);
	}
	if (a->dropped)
		fprintf(f, "%u more counted events could not be kept in the window (bounded memory).\n",
			a->dropped);
}

static void per_key(FILE *f, const struct aod_anomaly *a)
{
	char thr[32], max[32];

	if (!a->nkeys)
		return;
	fprintf(f, "\nPER KEY\n");
	if (a->type == AOD_RULE_ERROR || a->type == AOD_RULE_HEALTH) {
		fprintf(f, "  %-32s %8s\n", "KEY", "COUNT");
		for (uint32_t i = 0; i < a->nkeys && i < AOD_ANOMALY_MAX_KEYS; i++)
			fprintf(f, "  %-32.*s %8u\n", AOD_KEY_LEN, a->keys[i].key, a->keys[i].count);
		return;
	}
	if (a->type == AOD_RULE_STUCK) {
		fprintf(f, "  %-32s %8s  %s\n", "KEY", "STUCK", "OLDEST (WHEN FOUND)");
		for (uint32_t i = 0; i < a->nkeys && i < AOD_ANOMALY_MAX_KEYS; i++) {
			fmt_ns(a->keys[i].max_latency_ns, max, sizeof(max));
			fprintf(f, "  %-32.*s %8u  %s\n", AOD_KEY_LEN, a->keys[i].key,
				a->keys[i].count, max);
		}
		return;
	}
	fprintf(f, "  %-32s %8s  %-12s %s\n", "KEY", "COUNT", "THRESHOLD", "MAX LATENCY");
	for (uint32_t i = 0; i < a->nkeys && i < AOD_ANOMALY_MAX_KEYS; i++) {
		fmt_ns(a->keys[i].threshold_ns, thr, sizeof(thr));
		fmt_ns(a->keys[i].max_latency_ns, max, sizeof(max));
		fprintf(f, "  %-32.*s %8u  %-12s %s\n", AOD_KEY_LEN, a->keys[i].key,
			a->keys[i].count, thr, max);
	}
}

static void put_comm(FILE *f, const char *comm)
{
	char esc[AOD_EV_COMM_LEN * 4 + 1];

	aod_text_escape(comm, AOD_EV_COMM_LEN, esc, sizeof(esc), false);
	fprintf(f, "%-16s", esc);
}

static void worst_events(FILE *f, const struct aod_anomaly *a)
{
	char when[40], key[64], outcome[96];

	if (!a->nworst || a->type == AOD_RULE_STUCK)
		return;
	fprintf(f, "\nWORST EVENTS (%s)\n", a->type == AOD_RULE_ERROR ? "first errors" : "slowest first");
	fprintf(f, "  %-24s %8s  %-16s %-24s %s\n", "TIME", "PID", "COMM", "KEY", "LATENCY / STATUS");
	for (uint32_t i = 0; i < a->nworst && i < AOD_ANOMALY_WORST; i++) {
		const struct aod_event *ev = &a->worst[i];

		aod_format_wall(ev->wall_ns, when, sizeof(when));
		aod_summary_event_key(ev, key, sizeof(key));
		event_outcome(ev, outcome, sizeof(outcome));
		fprintf(f, "  %-24s %8u  ", when, ev->tgid ? ev->tgid : ev->pid);
		put_comm(f, ev->comm);
		fprintf(f, " %-24s %s%s\n", key, outcome, ev->flags & AOD_EVF_LATE ? " (late)" : "");
	}
}

/* Where a stuck op waits: SMB session, tree and share; block op and sector. */
static void stuck_where(const struct aod_bundle_input *in, const struct aod_event *ev,
			char *buf, size_t len)
{
	char share[256] = "";

	if (ev->kind == AOD_EVENT_BLK_STUCK) {
		snprintf(buf, len, "%s, sector %llu, %u bytes",
			 ev->blk.op == 0 ? "read" : ev->blk.op == 1 ? "write" : "other",
			 (unsigned long long)ev->blk.sector, ev->blk.bytes);
		return;
	}
	if (in->share_name)
		in->share_name(in->share_ctx, ev->smb.sesid, ev->smb.tid, share, sizeof(share));
	snprintf(buf, len, "session 0x%llx, tree 0x%x%s%s, message %llu",
		 (unsigned long long)ev->smb.sesid, ev->smb.tid, share[0] ? ", " : "", share,
		 (unsigned long long)ev->smb.mid);
}

static void stuck_ops(FILE *f, const struct aod_bundle_input *in,
		      const struct aod_bundle_plan *plan)
{
	const struct aod_anomaly *a = in->anomaly;
	char started[40], key[64], where[512], found[32], now[32];

	if (a->type != AOD_RULE_STUCK || !a->nworst)
		return;
	fprintf(f, "\nSTUCK OPERATIONS (oldest first; %u in all)\n", a->total);
	fprintf(f, "  %-24s %8s  %-16s %-16s %-12s %-12s %s\n", "STARTED", "PID", "COMM", "KEY",
		"AGE FOUND", "AGE NOW", "WHERE");
	for (uint32_t i = 0; i < a->nworst && i < AOD_ANOMALY_WORST; i++) {
		const struct aod_event *ev = &a->worst[i];
		uint64_t age = aod_event_latency_ns(ev);
		uint64_t start = ev->wall_ns > age ? ev->wall_ns - age : 0;
		char esc[sizeof(where) * 4];

		aod_format_wall(start, started, sizeof(started));
		aod_summary_event_key(ev, key, sizeof(key));
		fmt_ns(age, found, sizeof(found));
		fmt_ns(plan->created_ns > start ? plan->created_ns - start : 0, now, sizeof(now));
		stuck_where(in, ev, where, sizeof(where));
		aod_text_escape(where, sizeof(where), esc, sizeof(esc), false);
		fprintf(f, "  %-24s %8u  ", started, ev->tgid ? ev->tgid : ev->pid);
		put_comm(f, ev->comm);
		fprintf(f, " %-16s %-12s %-12s %s\n", key, found, now, esc);
	}
	if (a->total > a->nworst)
		fprintf(f, "  ... and %u more\n", a->total - a->nworst);
}

/* The processes of the worst events (each once): command line and parents,
 * from the process cache when the agent has one, else from /proc. */
static void processes_involved(FILE *f, const struct aod_bundle_input *in)
{
	const struct aod_anomaly *a = in->anomaly;
	uint32_t seen[AOD_ANOMALY_WORST], n = 0;

	for (uint32_t i = 0; i < a->nworst && i < AOD_ANOMALY_WORST; i++) {
		const struct aod_event *ev = &a->worst[i];
		uint32_t pid = ev->tgid ? ev->tgid : ev->pid;
		bool dup = !pid;

		for (uint32_t k = 0; k < n && !dup; k++)
			dup = seen[k] == pid;
		if (dup)
			continue;
		if (!n)
			fprintf(f, "\nPROCESSES INVOLVED (command line, then its parents)\n");
		seen[n++] = pid;
		if (!in->proc_chain || !in->proc_chain(in->proc_ctx, f, pid, ev->wall_ns))
			aod_proc_chain_fput(f, pid, ev->wall_ns);
	}
}

/* One line for a coalesced or suppressed anomaly: when, rule, count, top keys. */
static void anomaly_line(FILE *f, const struct aod_anomaly *a)
{
	char when[40];

	aod_format_wall(a->window_end_ns ? a->window_end_ns : a->id, when, sizeof(when));
	fprintf(f, "  - %s rule \"%s\" (%s %s%s): %u counted, acceptable_count %u", when, a->rule,
		aod_source_name(a->source), aod_rule_type_name(a->type),
		a->emergency ? ", emergency" : "", a->total, a->acceptable_count);
	for (uint32_t i = 0; i < a->nkeys && i < 3; i++)
		fprintf(f, "%s%.*s x%u", i ? ", " : "; ", AOD_KEY_LEN, a->keys[i].key, a->keys[i].count);
	if (a->nkeys > 3)
		fprintf(f, ", ...");
	fputc('\n', f);
}

static void other_anomalies(FILE *f, const struct aod_bundle_input *in)
{
	uint64_t suppressed = in->suppressed_count > in->nsuppressed ? in->suppressed_count
								      : in->nsuppressed;

	if (in->ncoalesced) {
		fprintf(f, "\nCOALESCED into this bundle (same source, arrived during collection): %zu\n",
			in->ncoalesced);
		for (size_t i = 0; i < in->ncoalesced; i++)
			anomaly_line(f, &in->coalesced[i]);
	}
	if (suppressed) {
		fprintf(f, "\nSUPPRESSED by holdoff since the previous bundle: %llu (%zu listed)\n",
			(unsigned long long)suppressed, in->nsuppressed);
		for (size_t i = 0; i < in->nsuppressed; i++)
			anomaly_line(f, &in->suppressed[i]);
	}
}

static bool action_failed(const struct aod_action_result *r)
{
	return !r->timed_out && !r->skipped && (r->error[0] || r->exit_code != 0 || r->term_signal);
}

/* One line per action with something to say; silent for the ones that went well. */
static void action_problems(FILE *f, const struct aod_action_result *r,
			    const struct aod_bundle_file_plan *fp)
{
	char dur[32], b1[32], b2[32];

	fmt_ns(r->duration_ns, dur, sizeof(dur));
	if (r->timed_out) {
		fmt_bytes(r->bytes, b1, sizeof(b1));
		fprintf(f, "  %s: timed out after %s", r->name, dur);
		if (r->term_signal)
			fprintf(f, ", ended by signal %d", r->term_signal);
		fprintf(f, "; partial output kept (%s)%s%s\n", b1, r->error[0] ? ": " : "", r->error);
	} else if (r->skipped) {
		fprintf(f, "  %s: skipped: %s\n", r->name, r->error[0] ? r->error : "not applicable here");
	} else if (action_failed(r)) {
		fprintf(f, "  %s: failed", r->name);
		if (r->term_signal)
			fprintf(f, " (signal %d)", r->term_signal);
		else if (r->exit_code != 0)
			fprintf(f, " (exit code %d)", r->exit_code);
		fprintf(f, ": %s [%s]\n", r->error[0] ? r->error : "no error message", r->desc);
	}
	if (r->truncated) {
		fmt_bytes(r->bytes_dropped, b1, sizeof(b1));
		fprintf(f, "  %s: output over its cap: %s of the oldest output dropped\n", r->name, b1);
	}
	if (fp->cut) {
		fmt_bytes(fp->cut, b1, sizeof(b1));
		fmt_bytes(fp->size - fp->cut, b2, sizeof(b2));
		fprintf(f, "  %s: cut by %s to fit max_bundle_mb (last %s kept)\n", r->name, b1, b2);
	}
	if (fp->problem[0] && !r->skipped && !action_failed(r) && !r->timed_out)
		fprintf(f, "  %s: not in the bundle: %s\n", r->name, fp->problem);
}

static void actions(FILE *f, const struct aod_bundle_input *in, const struct aod_bundle_plan *plan)
{
	unsigned ok = 0, failed = 0, timed_out = 0, skipped = 0, truncated = 0, cut = 0;

	for (size_t i = 0; i < in->nresults; i++) {
		const struct aod_action_result *r = &in->results[i];

		timed_out += r->timed_out;
		skipped += r->skipped;
		failed += action_failed(r);
		ok += !r->timed_out && !r->skipped && !action_failed(r);
		truncated += r->truncated;
		cut += plan->actions[i].cut > 0;
	}
	fprintf(f, "\nACTIONS: %zu: %u ok, %u failed, %u timed out, %u skipped, %u truncated, "
		   "%u cut to fit the bundle\n", in->nresults, ok, failed, timed_out, skipped,
		truncated, cut);
	for (size_t i = 0; i < in->nresults; i++)
		action_problems(f, &in->results[i], &plan->actions[i]);
}

/* SMB reconnects near an anomaly often explain it: name each one. */
static void reconnect_lines(FILE *f, const struct aod_bundle_input *in)
{
	char when[40];

	for (size_t i = 0; i < in->nreconnects; i++) {
		const struct aod_event *ev = &in->reconnects[i];

		aod_format_wall(ev->wall_ns, when, sizeof(when));
		fprintf(f, "SMB reconnect at %s: server ", when);
		aod_text_fput(f, ev->conn.server[0] ? ev->conn.server : "?", AOD_EV_SERVER_LEN, false);
		fprintf(f, ", connection %llu, next message id %llu.\n",
			(unsigned long long)ev->conn.conn_id, (unsigned long long)ev->conn.currmid);
	}
}

static void events(FILE *f, const struct aod_bundle_input *in, const struct aod_bundle_plan *plan)
{
	fprintf(f, "\nEVENTS\nevents.jsonl holds %zu events from the flight recorder (before the "
		   "anomaly and during collection), one JSON object per line",
		plan->events_written);
	if (plan->events_written < in->nevents)
		fprintf(f, "; the %zu oldest were left out to fit max_bundle_mb",
			in->nevents - plan->events_written);
	if (in->events_lost)
		fprintf(f, "; %llu events of this range were lost: the flight recorder (at most "
			   "flight_recorder_max_events) overwrote them before the bundle was made",
			(unsigned long long)in->events_lost);
	fprintf(f, ".\n");
	reconnect_lines(f, in);
}

char *aod_summary_build(const struct aod_bundle_input *in, const struct aod_bundle_plan *plan)
{
	const struct aod_anomaly *a = in->anomaly;
	char created[40], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	aod_format_wall(plan->created_ns, created, sizeof(created));
	fprintf(f, "aod diagnostics bundle %s\n", plan->stem);
	fprintf(f, "Created %s on %s (kernel %s) by aod %s.\n", created, plan->hostname,
		plan->kernel, AOD_VERSION);
	if (in->partial)
		fprintf(f, "PARTIAL: aod was stopped during the collection; actions that had not "
			   "finished were killed and are marked below.\n");
	fprintf(f, "\nWHAT FIRED\n");
	what_fired(f, a);
	per_key(f, a);
	worst_events(f, a);
	stuck_ops(f, in, plan);
	processes_involved(f, in);
	other_anomalies(f, in);
	actions(f, in, plan);
	events(f, in, plan);
	if (plan->ncut) {
		char cut[32], cap[32];

		fmt_bytes(plan->cut_bytes, cut, sizeof(cut));
		fmt_bytes(plan->max_bytes, cap, sizeof(cap));
		fprintf(f, "\nSIZE CAP: %llu files were cut by %s in all so that the bundle stays "
			   "under max_bundle_mb (%s); see manifest.json budget.cut.\n",
			(unsigned long long)plan->ncut, cut, cap);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
