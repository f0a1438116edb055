// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TCP: connect and accept latency, connect failures, RTT, retransmits,
 * resets and window clamps, aggregated in the kernel (docs/tcp.md defines
 * each one).
 *
 *   sock:inet_sock_set_state  SYN_SENT starts a connect (in-flight map, keyed
 *                             by the socket); SYN_SENT -> ESTABLISHED ends it
 *                             (histogram by remote port), SYN_SENT -> CLOSE
 *                             is a failure; SYN_RECV -> ESTABLISHED is an
 *                             accept, measured by the child's first RTT
 *                             sample (the SYN-ACK's, taken just before)
 *   tcp:tcp_probe             every segment received on an established
 *                             socket: its srtt into the RTT histogram
 *   tcp:tcp_retransmit_skb    segments retransmitted (tcp_skb_pcount)
 *   tcp:tcp_retransmit_synack SYN-ACKs retransmitted (counted by the kernel's
 *                             TcpRetransSegs too)
 *   tcp:tcp_send_reset, tcp:tcp_receive_reset
 *   tcp:tcp_rcvbuf_grow       (in 6.18, not in 6.1) window clamps:
 *                             rcv_ssthresh < 32 KiB;
 *                             older kernels: fexit or kprobe+kretprobe on
 *                             tcp_try_rmem_schedule, LinMonitor's hook
 *
 * Histograms and counters never leave the kernel; only slow connects,
 * retransmits and resets that a rule asks for (knobs) become ring records.
 * Every tracepoint program exists as tp_btf (preferred) and raw_tp (same
 * arguments); user space loads one set plus one window-clamp hook. Only the
 * first arguments are read, so the ones later kernels appended
 * (tcp_retransmit_skb's err, tcp_send_reset's reason; in 6.18, not in 6.1)
 * do not matter.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"
#include "common.bpf.h"
#include "hist.bpf.h"
#include "tcp.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_TCP_INFLIGHT_MAX);
	__type(key, __u64); /* struct sock * */
	__type(value, struct aod_tcp_start);
} tcp_inflight SEC(".maps");

/* One map per histogram, keyed by port; user space inserts the "other" key
 * (AOD_TCP_PORT_OTHER) at load, so it is there when the map is full.
 * Per-CPU values: the RTT histogram takes a sample per received segment,
 * and plain adds on a CPU's own copy cost less than atomics on a shared
 * one (user space sums the CPUs). */
#define TCP_HIST_MAP(name)                                   \
	struct {                                             \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH);      \
		__uint(max_entries, AOD_TCP_PORTS_MAX);      \
		__type(key, __u32);                          \
		__type(value, struct aod_tcp_hist);          \
	} name SEC(".maps")

TCP_HIST_MAP(tcp_hist_connect);
TCP_HIST_MAP(tcp_hist_accept);
TCP_HIST_MAP(tcp_hist_rtt);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AOD_TCP_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tcp_counters SEC(".maps");

/* Knobs: written by user space at start and on reload. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AOD_TCP_THRESH_PORTS_MAX);
	__type(key, __u32);   /* remote port */
	__type(value, __u64); /* ns, AOD_THRESH_OFF: never slow */
} tcp_port_thresh SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aod_tcp_knobs);
} tcp_knobs SEC(".maps");

/* kprobe window-clamp hook: the socket seen at entry, per thread, until the
 * kretprobe. Sized down to 1 entry by user space in other modes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* pid_tgid, or the CPU in softirq with no task */
	__type(value, __u64); /* struct sock * */
} tcp_rmem_stash SEC(".maps");

static const struct aod_tcp_hist zero_tcp_hist;

static __always_inline void tcp_cnt_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&tcp_counters, &idx);

	if (v)
		*v += n; /* per-CPU slot: no other writer */
}

static __always_inline struct aod_tcp_knobs *knobs(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tcp_knobs, &zero);
}

/* Count one sample under port, or under "other" when the map is full. */
static __always_inline void hist_add(void *map, __u32 port, __u64 ns)
{
	struct aod_tcp_hist *h = bpf_map_lookup_elem(map, &port);

	if (!h) {
		bpf_map_update_elem(map, &port, &zero_tcp_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(map, &port);
	}
	if (!h) {
		port = AOD_TCP_PORT_OTHER;
		tcp_cnt_add(AOD_TCP_CNT_KEY_OVERFLOW, 1);
		h = bpf_map_lookup_elem(map, &port);
		if (!h)
			return;
	}
	/* this CPU's copy. Each map has one writer program, and a program
	 * never nests in itself on a CPU (the kernel skips such a run and
	 * counts a recursion miss), so plain adds lose nothing. */
	h->hist.slots[hist_index(ns)] += 1;
	h->sum_ns += ns;
}

/* ---- addresses ---- */

static __always_inline void fill_common(struct aod_raw_tcp *t, const struct sock_common *c)
{
	__u32 a;

	t->family = BPF_CORE_READ(c, skc_family);
	t->lport = BPF_CORE_READ(c, skc_num);
	t->rport = bpf_ntohs(BPF_CORE_READ(c, skc_dport));
	t->state = BPF_CORE_READ(c, skc_state);
	if (t->family == AF_INET6) {
		BPF_CORE_READ_INTO(&t->laddr, c, skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&t->raddr, c, skc_v6_daddr);
		return;
	}
	a = BPF_CORE_READ(c, skc_rcv_saddr);
	__builtin_memcpy(t->laddr, &a, 4);
	a = BPF_CORE_READ(c, skc_daddr);
	__builtin_memcpy(t->raddr, &a, 4);
}

/* Wire offsets (RFC 791, 8200, 9293): no kernel layout involved. */
#define IP4_SADDR 12
#define IP4_DADDR 16
#define IP6_SADDR 8
#define IP6_DADDR 24

/* A reset sent with no socket (a segment to a closed port): the addresses of
 * the segment it answers. Kernels since "trace: tcp: fully support
 * trace_tcp_send_reset" (6.10) fire the tracepoint then; 6.1 fires it only
 * with a full socket. */
static __always_inline void fill_skb(struct aod_raw_tcp *t, const struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	unsigned char *nh = head + BPF_CORE_READ(skb, network_header);
	unsigned char *th = head + BPF_CORE_READ(skb, transport_header);
	__u16 ports[2] = {};
	__u8 ver = 0;

	bpf_probe_read_kernel(&ver, 1, nh);
	bpf_probe_read_kernel(ports, sizeof(ports), th);
	t->rport = bpf_ntohs(ports[0]);
	t->lport = bpf_ntohs(ports[1]);
	t->state = 0;
	if (ver >> 4 == 6) {
		t->family = AF_INET6;
		bpf_probe_read_kernel(t->raddr, 16, nh + IP6_SADDR);
		bpf_probe_read_kernel(t->laddr, 16, nh + IP6_DADDR);
	} else {
		t->family = AF_INET;
		bpf_probe_read_kernel(t->raddr, 4, nh + IP4_SADDR);
		bpf_probe_read_kernel(t->laddr, 4, nh + IP4_DADDR);
	}
}

/* A TCP record stamped with the current task; the caller fills e->tcp. */
static __always_inline struct aod_raw_event *tcp_reserve(__u32 kind)
{
	struct aod_raw_event *e = ev_reserve(kind);
	__u64 id = bpf_get_current_pid_tgid();

	if (!e)
		return NULL;
	__builtin_memset(&e->tcp, 0, sizeof(e->tcp));
	e->h.pid = (__u32)id;
	e->h.tgid = id >> 32;
	e->h.ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(e->h.comm, sizeof(e->h.comm));
	return e;
}

/* ---- connects and accepts ---- */

static __always_inline void connect_start(const struct sock *sk)
{
	__u64 key = (__u64)sk, id = bpf_get_current_pid_tgid();
	struct aod_tcp_start st = {};

	st.ts_ns = bpf_ktime_get_ns();
	st.pid = (__u32)id;
	st.tgid = id >> 32;
	bpf_get_current_comm(st.comm, sizeof(st.comm));
	if (bpf_map_update_elem(&tcp_inflight, &key, &st, BPF_ANY))
		cnt_inc(AOD_CNT_INFLIGHT_FULL);
}

static __always_inline __u64 connect_threshold(__u32 rport, const struct aod_tcp_knobs *k)
{
	__u64 *th = bpf_map_lookup_elem(&tcp_port_thresh, &rport);

	return th ? *th : k->connect_threshold_ns;
}

static __always_inline void emit_connect(const struct sock *sk, const struct aod_tcp_start *st,
					 __u64 latency, bool emergency)
{
	struct aod_raw_event *e = tcp_reserve(AOD_RAW_TCP_CONNECT);

	if (!e)
		return;
	e->h.pid = st->pid; /* the process that called connect() */
	e->h.tgid = st->tgid;
	__builtin_memcpy(e->h.comm, st->comm, sizeof(e->h.comm));
	fill_common(&e->tcp, (const struct sock_common *)sk);
	e->tcp.latency_ns = latency;
	ev_submit(e, emergency);
}

/* SYN_SENT -> ESTABLISHED (ok) or CLOSE: the connect's end. */
static __always_inline void connect_end(const struct sock *sk, bool ok)
{
	__u64 key = (__u64)sk, now = bpf_ktime_get_ns(), latency, thresh;
	struct aod_tcp_start st, *sp;
	struct aod_tcp_knobs *k;
	__u32 rport;

	cnt_inc(AOD_CNT_OPS);
	tcp_cnt_add(ok ? AOD_TCP_CNT_CONNECTS : AOD_TCP_CNT_CONNECT_FAILS, 1);
	sp = bpf_map_lookup_elem(&tcp_inflight, &key);
	if (!sp) {
		cnt_inc(AOD_CNT_UNMATCHED); /* started before the probe attached */
		return;
	}
	st = *sp; /* copy before delete: a freed element can be reused at once */
	bpf_map_delete_elem(&tcp_inflight, &key);
	if (!ok)
		return;
	latency = now - st.ts_ns;
	rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	hist_add(&tcp_hist_connect, rport, latency);
	k = knobs();
	if (!k)
		return;
	thresh = connect_threshold(rport, k);
	if (thresh != AOD_THRESH_OFF && latency >= thresh)
		emit_connect(sk, &st, latency, latency >= k->emergency_ns);
}

/*
 * SYN_RECV -> ESTABLISHED: the child socket completes the handshake. Its
 * request socket fired no state change, so the latency is what the child
 * knows: its srtt, which at this point is its one RTT sample, the SYN-ACK's
 * (tcp_synack_rtt_meas(), run just before the state change: SYN-ACK sent ->
 * the ACK that completes the handshake). 0 when the kernel took no sample
 * (e.g. a SYN-ACK retransmitted without timestamps): counted, not measured.
 */
static __always_inline void accept_end(const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;

	cnt_inc(AOD_CNT_OPS);
	tcp_cnt_add(AOD_TCP_CNT_ACCEPTS, 1);
	if (srtt_us)
		hist_add(&tcp_hist_accept, BPF_CORE_READ(sk, __sk_common.skc_num),
			 srtt_us * 1000);
}

/* Most transitions (closing ones) are not ours: decided on the arguments
 * alone, before anything is read from the socket. */
static __always_inline int on_state(const struct sock *sk, int old, int new)
{
	bool start = new == TCP_SYN_SENT, end = old == TCP_SYN_SENT;
	bool accepted = old == TCP_SYN_RECV && new == TCP_ESTABLISHED;

	if (!(start || end || accepted) ||
	    BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (start)
		connect_start(sk);
	else if (end)
		connect_end(sk, new == TCP_ESTABLISHED);
	else
		accept_end(sk);
	return 0;
}

/* ---- RTT, retransmits, resets, window clamps ---- */

static __always_inline int on_probe(const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	__u32 lport, rport;

	if (!srtt_us)
		return 0;
	lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	hist_add(&tcp_hist_rtt, lport < rport ? lport : rport, srtt_us * 1000);
	return 0;
}

static __always_inline int on_retransmit(const struct sock *sk, const struct sk_buff *skb)
{
	const struct tcp_skb_cb *cb = (const void *)skb->cb;
	struct aod_tcp_knobs *k = knobs();
	struct aod_raw_event *e;
	__u32 segs = BPF_CORE_READ(cb, tcp_gso_segs);

	if (!segs)
		segs = 1;
	tcp_cnt_add(AOD_TCP_CNT_RETRANS_SEGS, segs);
	if (!k || !k->enabled_retrans || !(e = tcp_reserve(AOD_RAW_TCP_RETRANS)))
		return 0;
	fill_common(&e->tcp, (const struct sock_common *)sk);
	e->tcp.segs = segs;
	ev_submit(e, false);
	return 0;
}

/* A SYN-ACK retransmitted for a request socket: one segment. */
static __always_inline int on_synack(const struct request_sock *req)
{
	struct aod_tcp_knobs *k = knobs();
	struct aod_raw_event *e;

	tcp_cnt_add(AOD_TCP_CNT_RETRANS_SEGS, 1);
	tcp_cnt_add(AOD_TCP_CNT_RETRANS_SYNACK, 1);
	if (!k || !k->enabled_retrans || !(e = tcp_reserve(AOD_RAW_TCP_RETRANS)))
		return 0;
	fill_common(&e->tcp, &req->__req_common);
	e->tcp.segs = 1;
	ev_submit(e, false);
	return 0;
}

static __always_inline int on_reset(const struct sock *sk, const struct sk_buff *skb, __u8 dir)
{
	struct aod_tcp_knobs *k = knobs();
	struct aod_raw_event *e;

	tcp_cnt_add(dir == AOD_TCP_DIR_SENT ? AOD_TCP_CNT_RESETS_SENT : AOD_TCP_CNT_RESETS_RECEIVED, 1);
	if (!k || !k->enabled_reset || !(e = tcp_reserve(AOD_RAW_TCP_RESET)))
		return 0;
	if (sk)
		fill_common(&e->tcp, (const struct sock_common *)sk);
	else if (skb)
		fill_skb(&e->tcp, skb);
	e->tcp.dir = dir;
	ev_submit(e, false);
	return 0;
}

static __always_inline int check_clamp(const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	if (sk && BPF_CORE_READ(tp, rcv_ssthresh) < AOD_TCP_CLAMP_BYTES)
		tcp_cnt_add(AOD_TCP_CNT_WINDOW_CLAMPS, 1);
	return 0;
}

/* ---- tp_btf ---- */

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(aod_tcp_st_bt, const struct sock *sk, int old, int new)
{
	return on_state(sk, old, new);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(aod_tcp_rtt_bt, const struct sock *sk)
{
	return on_probe(sk);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(aod_tcp_rtx_bt, const struct sock *sk, const struct sk_buff *skb)
{
	return on_retransmit(sk, skb);
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(aod_tcp_sar_bt, const struct sock *sk, const struct request_sock *req)
{
	return on_synack(req);
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(aod_tcp_rsts_bt, const struct sock *sk, const struct sk_buff *skb)
{
	return on_reset(sk, skb, AOD_TCP_DIR_SENT);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(aod_tcp_rstr_bt, const struct sock *sk)
{
	return on_reset(sk, NULL, AOD_TCP_DIR_RECEIVED);
}

SEC("tp_btf/tcp_rcvbuf_grow")
int BPF_PROG(aod_tcp_rcvb_bt, const struct sock *sk)
{
	return check_clamp(sk);
}

/* ---- raw_tp: the same TP_PROTO arguments ---- */

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(aod_tcp_st_rt, const struct sock *sk, int old, int new)
{
	return on_state(sk, old, new);
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(aod_tcp_rtt_rt, const struct sock *sk)
{
	return on_probe(sk);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(aod_tcp_rtx_rt, const struct sock *sk, const struct sk_buff *skb)
{
	return on_retransmit(sk, skb);
}

SEC("raw_tp/tcp_retransmit_synack")
int BPF_PROG(aod_tcp_sar_rt, const struct sock *sk, const struct request_sock *req)
{
	return on_synack(req);
}

SEC("raw_tp/tcp_send_reset")
int BPF_PROG(aod_tcp_rsts_rt, const struct sock *sk, const struct sk_buff *skb)
{
	return on_reset(sk, skb, AOD_TCP_DIR_SENT);
}

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(aod_tcp_rstr_rt, const struct sock *sk)
{
	return on_reset(sk, NULL, AOD_TCP_DIR_RECEIVED);
}

SEC("raw_tp/tcp_rcvbuf_grow")
int BPF_PROG(aod_tcp_rcvb_rt, const struct sock *sk)
{
	return check_clamp(sk);
}

/* ---- window clamps before tcp_rcvbuf_grow: LinMonitor's hook ----
 * static int tcp_try_rmem_schedule(struct sock *sk, struct sk_buff *skb,
 *				     unsigned int size): rcv_ssthresh after it
 * ran (tcp_clamp_window() may have lowered it). */

SEC("fexit/tcp_try_rmem_schedule")
int BPF_PROG(aod_tcp_rmem_fx, struct sock *sk)
{
	return check_clamp(sk);
}

static __always_inline __u64 stash_key(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	return id ? id : (__u64)bpf_get_smp_processor_id();
}

SEC("kprobe/tcp_try_rmem_schedule")
int BPF_KPROBE(aod_tcp_rmem_kp, struct sock *sk)
{
	__u64 key = stash_key(), v = (__u64)sk;

	bpf_map_update_elem(&tcp_rmem_stash, &key, &v, BPF_ANY);
	return 0;
}

SEC("kretprobe/tcp_try_rmem_schedule")
int BPF_KRETPROBE(aod_tcp_rmem_kr)
{
	__u64 key = stash_key(), *v = bpf_map_lookup_elem(&tcp_rmem_stash, &key);
	const struct sock *sk;

	if (!v)
		return 0;
	sk = (const struct sock *)*v;
	bpf_map_delete_elem(&tcp_rmem_stash, &key);
	return check_clamp(sk);
}
