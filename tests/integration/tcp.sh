#!/bin/bash
# The TCP probe with real parts: the agent (probes.tcp on, tcpconnlat,
# tcpreset and tcpretrans rules) read through `aod status --json` (the
# exporter API's numbers), loopback workloads of our own (tests/helpers/
# tcp_load) and two network namespaces joined by a veth pair with netem.
# Expected values come from the workload's own counts and the kernel's
# counters (/proc/net/snmp, /proc/net/netstat, an ftrace instance):
#   connect/accept histograms +N for N connects; resets both ways for N
#   connects to a closed port; retransmits = TcpRetransSegs under 10 % loss;
#   window clamps = the tracepoint's own count; backlog gauge N and
#   overflows past the limit = ListenOverflows; a tcpconnlat rule fires at
#   its threshold and not above the delay; tcpreset/tcpretrans rules fire;
#   the bundle names the endpoint and carries the listeners.
# Loss and delay: netem where the kernel has it; else (this host's kernel
# has no sch_netem) nftables in the test's own namespace: 10 % of the data
# segments dropped (numgen random), and every other SYN dropped, so that a
# connect waits for the SYN retransmit (initial RTO 1 s) instead of a delay.
# Namespaces, veths, nftables tables and the ftrace instance are the
# test's own, named with $$ and removed at exit; nothing touches the host's
# interfaces or firewall.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf tcp || exit 0
make_workdir
LOAD=$HELPERS/tcp_load
[ -x "$LOAD" ] || { fail tcp-helper "$LOAD missing (make tests-build)"; exit 0; }
NSA=aodtcp$$a NSB=aodtcp$$b VA=at$$a VB=at$$b
ADDR_A=10.213.$(( $$ % 200 )).1 ADDR_B=10.213.$(( $$ % 200 )).2
TRACE=/sys/kernel/tracing/instances/aodtcp$$
cleanup() {
	stop_agent 2>/dev/null
	kill $(jobs -p) 2>/dev/null; wait 2>/dev/null
	ip netns del "$NSA" 2>/dev/null; ip netns del "$NSB" 2>/dev/null
	[ -d "$TRACE" ] && { echo 0 > "$TRACE/events/tcp/tcp_rcvbuf_grow/enable"; rmdir "$TRACE"; } 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# a free port (nothing listening or connected on it now)
free_port() {
	local p
	while :; do
		p=$(( 20000 + RANDOM % 20000 ))
		ss -Htan "( sport = :$p or dport = :$p )" | grep -q . || { echo "$p"; return; }
	done
}
P_CONN=$(free_port) P_CLOSED=$(free_port) P_BACKLOG=$(free_port) P_SLOW=$(free_port) P_BULK=$(free_port)
N=50

# ---- two namespaces joined by a veth pair
netns_up() {
	ip netns add "$NSA" && ip netns add "$NSB" &&
	ip link add "$VA" netns "$NSA" type veth peer name "$VB" netns "$NSB" &&
	ip -n "$NSA" addr add "$ADDR_A/24" dev "$VA" && ip -n "$NSB" addr add "$ADDR_B/24" dev "$VB" &&
	ip -n "$NSA" link set "$VA" up && ip -n "$NSB" link set "$VB" up &&
	ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up
}
NETNS=1 SHAPER=
NETNS_CASES="tcp-retransmits-eq-TcpRetransSegs tcp-retransmits-counter tcpretrans-rule-fires tcp-window-clamps tcpconnlat-fires-at-threshold tcpconnlat-not-above-delay tcp-accept-latency-is-synack-rtt tcp-bundle"
if ! netns_up 2> "$WORK/netns.err"; then
	NETNS=0 WHY="cannot make network namespaces: $(head -c 200 "$WORK/netns.err")"
elif ip netns exec "$NSA" tc qdisc add dev "$VA" root netem delay 1ms 2>/dev/null; then
	ip netns exec "$NSA" tc qdisc del dev "$VA" root
	SHAPER=netem
elif command -v nft >/dev/null && ip netns exec "$NSB" nft add table inet aodtcp 2>/dev/null &&
     ip netns exec "$NSB" nft add chain inet aodtcp in '{ type filter hook input priority 0; }'; then
	SHAPER=nft   # drops on B's input: lost on the wire as far as A knows
else
	NETNS=0 WHY="neither netem (sch_netem) nor nft to make loss and delay"
fi
# a connect slowed by: netem 150 ms on the SYN-ACK, or a dropped first SYN (1 s)
if [ "$SHAPER" = netem ]; then SLOW_MIN=150 THR_LO=100 THR_HI=400; else SLOW_MIN=1000 THR_LO=500 THR_HI=2500; fi

cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
probes: {tcp: on}
guardian:
  anomalies:
    slowlo:
      type: Latency
      tool: tcpconnlat
      mode: trackonly
      acceptable_count: 1
      track_ports: [{port: $P_SLOW, threshold: $THR_LO}]
      emergency_threshold_ms: 60000
      holdoff_sec: 0
      actions: [mounts]
    slowhi:
      type: Latency
      tool: tcpconnlat
      mode: trackonly
      acceptable_count: 1
      track_ports: [{port: $P_SLOW, threshold: $THR_HI}]
      emergency_threshold_ms: 60000
      holdoff_sec: 0
      actions: [mounts]
    resets: {type: Error, tool: tcpreset, acceptable_count: $N, holdoff_sec: 0, actions: [mounts]}
    retrans: {type: Error, tool: tcpretrans, acceptable_count: 20, holdoff_sec: 0, actions: [mounts]}
watcher: {actions: [mounts]}
agent: {control_socket: $WORK/aod.sock}
YAML
start_agent "$WORK/aod.yaml" || { fail tcp-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }

st() { "$AOD_BIN" status --socket "$WORK/aod.sock" --json; }
cnt() { st | jq -r ".tcp.counters.$1"; }   # counter
hist() { st | jq -r "[.tcp.histograms.$1[] | select(.port == $2) | .count] | add // 0"; } # kind port
hist_sum() { st | jq -r "[.tcp.histograms.$1[] | select(.port == $2) | .sum_ns] | add // 0"; }
snmp() { # [netns] field: Tcp field from /proc/net/snmp
	local pre=()
	[ $# = 2 ] && { pre=(ip netns exec "$1"); shift; }
	"${pre[@]}" awk -v f="$1" '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 } else for (i = 2; i <= NF; i++) if (n[i] == f) print $i }' /proc/net/snmp
}
netstat_field() { # [netns] field: TcpExt field from /proc/net/netstat
	local pre=()
	[ $# = 2 ] && { pre=(ip netns exec "$1"); shift; }
	"${pre[@]}" awk -v f="$1" '$1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 } else for (i = 2; i <= NF; i++) if (n[i] == f) print $i }' /proc/net/netstat
}
anomalies() { cat "$WORK/out/anomalies.jsonl" 2>/dev/null; }

# ---- 1. attached, in the preferred mode, window clamps by the tracepoint
mode=$(st | jq -r '.probes[] | select(.name == "tcp") | "\(.state) \(.mode)"')
check tcp-attached "tcp probe: $mode" test "$mode" = "attached tp_btf"

# ---- 2. N connects to a loopback listener: connect and accept histograms +N
"$LOAD" serve 127.0.0.1 "$P_CONN" 20 > "$WORK/serve.out" &
wait_for 3 grep -q listening "$WORK/serve.out"
c0=$(hist connect "$P_CONN") a0=$(hist accept "$P_CONN") k0=$(cnt connects)
out=$("$LOAD" connect 127.0.0.1 "$P_CONN" $N)
ok=$(echo "$out" | sed -n 's/.*ok=\([0-9]*\).*/\1/p')
sleep 0.3
c1=$(hist connect "$P_CONN") a1=$(hist accept "$P_CONN") k1=$(cnt connects)
check "tcp-connect-latency-count (+$((c1 - c0)) for $ok connects)" "$out; histogram $c0 -> $c1" \
	test "$ok" = $N -a $((c1 - c0)) = "$ok"
check "tcp-accept-latency-count (+$((a1 - a0)))" "accept histogram $a0 -> $a1 for $ok accepts" \
	test $((a1 - a0)) = "$ok"
check "tcp-connects-counter (+$((k1 - k0)) >= $ok)" "connects $k0 -> $k1" test $((k1 - k0)) -ge "$ok"

# ---- 3. N connects to a closed port: the kernel sends each SYN a reset (sent,
# no socket: counted on the closed port) that the connecting socket receives.
# aod record, run meanwhile, gives the exact per-port split; TcpOutRsts the
# kernel's count of resets sent (this namespace).
"$AOD_BIN" record --duration 3 "$WORK/rst.jsonl" 2> "$WORK/rec.err" &
rec=$!
sleep 1.2
s0=$(cnt resets_sent) r0=$(cnt resets_received) f0=$(cnt connect_failures) o0=$(snmp OutRsts)
out=$("$LOAD" connect 127.0.0.1 "$P_CLOSED" $N)
s1=$(cnt resets_sent) r1=$(cnt resets_received) f1=$(cnt connect_failures) o1=$(snmp OutRsts)
wait $rec
refused=$(echo "$out" | sed -n 's/.*refused=\([0-9]*\).*/\1/p')
sent=$(jq -c "select(.kind == \"tcp_reset\" and .direction == \"sent\" and .lport == $P_CLOSED)" "$WORK/rst.jsonl" | wc -l)
recv=$(jq -c "select(.kind == \"tcp_reset\" and .direction == \"received\" and .rport == $P_CLOSED and .state == \"SYN_SENT\")" "$WORK/rst.jsonl" | wc -l)
echo "INFO: closed port $P_CLOSED: $refused refused; resets sent +$((s1 - s0)) (TcpOutRsts +$((o1 - o0))), received +$((r1 - r0)); recorded for the port: $sent sent (kernel -> 127.0.0.1:$P_CLOSED's clients), $recv received (by the SYN_SENT sockets)"
check "tcp-resets-received (+$recv for $refused refused)" "recorded $recv received, counter +$((r1 - r0))" \
	test "$refused" = $N -a "$recv" = "$refused" -a $((r1 - r0)) -ge "$refused"
check "tcp-resets-sent (+$sent for $refused refused)" "recorded $sent sent, counter +$((s1 - s0))" \
	test "$sent" = "$refused" -a $((s1 - s0)) -ge "$refused"
d=$(( (s1 - s0) - (o1 - o0) )); d=${d#-}
check "tcp-resets-sent-eq-TcpOutRsts (+$((s1 - s0)) vs +$((o1 - o0)))" "differ by $d" test "$d" -le 2
check "tcp-connect-failures (+$((f1 - f0)) >= $refused)" "connect_failures $f0 -> $f1" test $((f1 - f0)) -ge "$refused"
if wait_for 4 bash -c "jq -e 'select(.rule == \"resets\") | .keys[] | select(.key == \"127.0.0.1:$P_CLOSED\")' '$WORK/out/anomalies.jsonl' >/dev/null 2>&1"; then
	pass tcpreset-rule-fires
else
	fail tcpreset-rule-fires "no resets anomaly keyed 127.0.0.1:$P_CLOSED: $(anomalies | tail -c 400)"
fi

# ---- 4. a listener that never accepts (backlog 8): the gauge follows the
# queue; past backlog + 1 the kernel drops (ListenOverflows), and so do we
B=8
"$LOAD" listen 127.0.0.1 "$P_BACKLOG" $B 30 > "$WORK/listen.out" &
wait_for 3 grep -q listening "$WORK/listen.out"
lsn() { st | jq -r ".tcp.listeners[] | select(.listener == \"127.0.0.1:$P_BACKLOG\") | \"\(.backlog) \(.backlog_max)\""; }
ov() { st | jq -r .tcp.listen_overflows; }
v0=$(ov) k0=$(netstat_field ListenOverflows)
"$LOAD" connect 127.0.0.1 "$P_BACKLOG" 5 > /dev/null
read -r q qmax < <(lsn)
v1=$(ov) k1=$(netstat_field ListenOverflows)
check "tcp-listen-backlog (5 pending: gauge $q, max $qmax)" "listener 127.0.0.1:$P_BACKLOG: '$q $qmax'" \
	test "$q" = 5 -a "$qmax" = $B
check "tcp-listen-no-overflow-below-limit (+$((v1 - v0)))" "ListenOverflows +$((k1 - k0))" \
	test $((v1 - v0)) = 0 -a $((k1 - k0)) = 0
"$LOAD" connect 127.0.0.1 "$P_BACKLOG" 8 300 > "$WORK/over.out"
read -r q qmax < <(lsn)
v2=$(ov) k2=$(netstat_field ListenOverflows)
echo "INFO: 13 connects to a backlog-$B listener: queue $q (the kernel admits backlog + 1), overflows +$((v2 - v1)) (ListenOverflows +$((k2 - k1))); $(cat "$WORK/over.out")"
check "tcp-listen-backlog-full (gauge $q = $((B + 1)))" "queue $q" test "$q" = $((B + 1))
check "tcp-listen-overflows (+$((v2 - v1)) = ListenOverflows +$((k2 - k1)))" "aod +$((v2 - v1)), kernel +$((k2 - k1))" \
	test $((v2 - v1)) -ge 4 -a $((v2 - v1)) = $((k2 - k1))

if [ "$NETNS" = 0 ]; then
	for c in $NETNS_CASES; do skip "$c" "$WHY"; done
	stop_agent
	exit 0
fi

# ---- 5. 10 % of A's data segments lost (before B's stack sees them): A retransmits; every retransmitted
# segment is counted, equal to TcpRetransSegs (A + B + this namespace). B's
# receive buffer starts small (its own tcp_rmem), so that its first
# autotuning steps see rcv_ssthresh < 32 KiB: window clamps.
if [ "$SHAPER" = netem ]; then
	ip netns exec "$NSA" tc qdisc add dev "$VA" root netem loss 10%
else
	ip netns exec "$NSB" nft add rule inet aodtcp in tcp dport "$P_BULK" numgen random mod 10 == 0 drop
fi
ip netns exec "$NSB" sysctl -qw net.ipv4.tcp_rmem="4096 8192 262144"
ip netns exec "$NSB" "$LOAD" sink "$ADDR_B" "$P_BULK" 30 > "$WORK/sink.out" &
wait_for 3 grep -q listening "$WORK/sink.out"
clamp_trace_on() { # the tracepoint's own count of rcv_ssthresh < 32 KiB, in a private ftrace instance
	[ -d /sys/kernel/tracing/events/tcp/tcp_rcvbuf_grow ] || return 1
	mkdir "$TRACE" 2>/dev/null || return 1
	echo 'rcv_ssthresh < 32768' > "$TRACE/events/tcp/tcp_rcvbuf_grow/filter" &&
	echo 1 > "$TRACE/events/tcp/tcp_rcvbuf_grow/enable"
}
have_trace=0; clamp_trace_on && have_trace=1
w0=$(cnt window_clamps)
# aod record alongside: the retransmit records of this flow's two namespaces,
# exactly (the counter also has every other namespace's, as the kernel's
# per-namespace counters do not)
"$AOD_BIN" record --duration 30 "$WORK/rtx.jsonl" 2> "$WORK/rtx.err" &
rec=$!
sleep 1.2
t0=$(cnt retransmits) ra0=$(snmp "$NSA" RetransSegs) rb0=$(snmp "$NSB" RetransSegs) rh0=$(snmp RetransSegs)
fa0=$(netstat_field "$NSA" TCPRetransFail) fb0=$(netstat_field "$NSB" TCPRetransFail)
ip netns exec "$NSA" "$LOAD" send "$ADDR_B" "$P_BULK" 8000000 > "$WORK/send.out"
sleep 0.2
t1=$(cnt retransmits) ra1=$(snmp "$NSA" RetransSegs) rb1=$(snmp "$NSB" RetransSegs) rh1=$(snmp RetransSegs)
fa1=$(netstat_field "$NSA" TCPRetransFail) fb1=$(netstat_field "$NSB" TCPRetransFail)
w1=$(cnt window_clamps)
kill -INT "$rec"; wait "$rec"
[ "$have_trace" = 1 ] && { echo 0 > "$TRACE/events/tcp/tcp_rcvbuf_grow/enable"; traced=$(grep -c tcp_rcvbuf_grow "$TRACE/trace"); }
ours=$(( (ra1 - ra0) + (rb1 - rb0) ))
flow=$(jq -s "[.[] | select(.kind == \"tcp_retrans\" and ((.laddr == \"$ADDR_A\" and .raddr == \"$ADDR_B\") or
	(.laddr == \"$ADDR_B\" and .raddr == \"$ADDR_A\"))) | .segs] | add // 0" "$WORK/rtx.jsonl")
# what could tell aod and the kernel apart, for the failure message: retransmits
# the stack failed to send (counted by the kernel, maybe not traced), programs
# skipped because one was already running on that CPU, ring drops
why="TCPRetransFail +$((fa1 - fa0 + fb1 - fb0)); tcp probe: $(st | jq -c '.probes[] | select(.name == "tcp") | .counters | {recursion_misses, ringbuf_drops}')"
echo "INFO: 8 MB with 10 % loss ($SHAPER): TcpRetransSegs +$((ra1 - ra0)) in $NSA, +$((rb1 - rb0)) in $NSB, +$((rh1 - rh0)) here; aod: +$flow segments recorded between $ADDR_A and $ADDR_B, counter +$((t1 - t0)) (every namespace); $(cat "$WORK/send.out")"
check "tcp-retransmits-eq-TcpRetransSegs (+$flow vs +$ours in the two namespaces)" "recorded $flow, kernel $ours; $why" \
	test "$ours" -ge 20 -a "$flow" = "$ours"
check "tcp-retransmits-counter (+$((t1 - t0)) >= +$((ours + rh1 - rh0)) of these namespaces)" "counter +$((t1 - t0)); $why" \
	test $((t1 - t0)) -ge $((ours + rh1 - rh0 - 2))
if wait_for 4 bash -c "jq -e 'select(.rule == \"retrans\") | .keys[] | select(.key == \"$ADDR_B:$P_BULK\")' '$WORK/out/anomalies.jsonl' >/dev/null 2>&1"; then
	pass tcpretrans-rule-fires
else
	fail tcpretrans-rule-fires "no retrans anomaly keyed $ADDR_B:$P_BULK: $(anomalies | grep retrans | tail -c 300); status: $(st | jq -c '{tcp: .probes[2].counters, det: .detector, disp: .dispatcher}')"
fi
if [ "$have_trace" = 1 ]; then
	echo "INFO: window clamps (tcp_rcvbuf_grow with rcv_ssthresh < 32 KiB): aod +$((w1 - w0)), ftrace +$traced"
	d=$(( (w1 - w0) - traced )); d=${d#-}
	check "tcp-window-clamps (+$((w1 - w0)) vs traced +$traced)" "differ by $d" test "$traced" -ge 1 -a "$d" -le 2
else
	skip tcp-window-clamps "no tcp_rcvbuf_grow tracepoint in tracefs to compare with"
fi
if [ "$SHAPER" = netem ]; then
	ip netns exec "$NSA" tc qdisc del dev "$VA" root
else
	ip netns exec "$NSB" nft flush chain inet aodtcp in
fi

# ---- 6. a slow connect from A to B: slowlo fires (threshold below the delay),
# slowhi does not. netem: 150 ms on B's side, the SYN-ACK waits, and B's
# accept latency (the SYN-ACK's RTT) is >= 150 ms too. nft: B drops the
# first SYN of each connect, the connect takes >= 1 s (SYN retransmit),
# while B's accept latency (the RTT of the SYN-ACK that completed it) stays
# small: it is not the time since the first SYN.
if [ "$SHAPER" = netem ]; then
	ip netns exec "$NSB" tc qdisc add dev "$VB" root netem delay 150ms
else
	ip netns exec "$NSB" nft add rule inet aodtcp in tcp dport "$P_SLOW" \
		tcp flags \& \(syn \| ack\) == syn numgen inc mod 2 == 0 drop
fi
ip netns exec "$NSB" "$LOAD" serve "$ADDR_B" "$P_SLOW" 10 > "$WORK/slow.out" &
wait_for 3 grep -q listening "$WORK/slow.out"
a0=$(hist accept "$P_SLOW") as0=$(hist_sum accept "$P_SLOW")
ip netns exec "$NSA" "$LOAD" connect "$ADDR_B" "$P_SLOW" 3 4000 > "$WORK/slowc.out"
a1=$(hist accept "$P_SLOW") as1=$(hist_sum accept "$P_SLOW")
key="$ADDR_B:$P_SLOW"
if wait_for 4 bash -c "jq -e 'select(.rule == \"slowlo\")' '$WORK/out/anomalies.jsonl' >/dev/null 2>&1"; then
	line=$(anomalies | jq -c "select(.rule == \"slowlo\")" | head -n1)
	k=$(echo "$line" | jq -r '.keys[0].key') thr=$(echo "$line" | jq -r '.keys[0].threshold_ns') mx=$(echo "$line" | jq -r '.keys[0].max_latency_ns')
	check "tcpconnlat-fires-at-threshold ($SHAPER: $k, max $((mx / 1000000)) ms >= $SLOW_MIN, threshold $((thr / 1000000)) ms)" "$line" \
		test "$k" = "$key" -a "$thr" = $((THR_LO * 1000000)) -a "$mx" -ge $((SLOW_MIN * 1000000))
else
	fail tcpconnlat-fires-at-threshold "no slowlo anomaly: $(cat "$WORK/slowc.out"); $(anomalies | tail -c 300)"
fi
sleep 1
check "tcpconnlat-not-above-delay (threshold $THR_HI ms)" "slowhi fired: $(anomalies | grep slowhi | head -c 300)" \
	test -z "$(anomalies | jq -c 'select(.rule == "slowhi")')"
n=$((a1 - a0))
avg=$(( n > 0 ? (as1 - as0) / n / 1000 : 0 ))   # usec
if [ "$SHAPER" = netem ]; then
	check "tcp-accept-latency-is-synack-rtt ($n accepts, mean $avg us; netem 150 ms on the SYN-ACK)" \
		"accept histogram +$n, sum +$((as1 - as0)) ns" test "$n" = 3 -a "$avg" -ge 150000 -a "$avg" -lt 1000000
else
	check "tcp-accept-latency-is-synack-rtt ($n accepts, mean $avg us while each connect took >= 1 s)" \
		"accept histogram +$n, sum +$((as1 - as0)) ns" test "$n" = 3 -a "$avg" -lt 100000
fi
[ "$SHAPER" = netem ] && ip netns exec "$NSB" tc qdisc del dev "$VB" root

# ---- 7. the slowlo bundle names the endpoint and carries the listeners
b=
wait_for 6 bash -c "ls '$WORK/out/batches' 2>/dev/null | grep -q '_tcp_latency.tar.zst$'" &&
	b=$(ls "$WORK/out/batches" | grep '_tcp_latency.tar.zst$' | head -n1)
if [ -n "$b" ]; then
	mkdir -p "$WORK/b" && tar --zstd -xf "$WORK/out/batches/$b" -C "$WORK/b"
	sum=$(cat "$WORK"/b/*/summary.txt 2>/dev/null) socks=$(cat "$WORK"/b/*/sockets.txt 2>/dev/null)
	check tcp-bundle "summary or sockets.txt lacks the endpoint / listeners: $(echo "$sum" | head -c 300)" \
		bash -c "grep -q 'TCP connects' <<< \"\$0\" && grep -q '$key' <<< \"\$0\" && grep -q 'TCP listeners' <<< \"\$1\"" "$sum" "$socks"
else
	fail tcp-bundle "no tcp latency bundle: $(ls "$WORK/out/batches" 2>&1 | head -c 200)"
fi

stop_agent
check tcp-agent-exits-clean "$(tail -n 3 "$WORK/agent.log")" grep -q 'stopped' "$WORK/agent.log"
