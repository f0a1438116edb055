#!/bin/bash
# Runs inside the VM (booted by tcp.sh with run.sh -n: Debian's 6.1 kernel, where
# fentry and kprobes work and tcp:tcp_rcvbuf_grow does not exist yet). Drives the
# TCP probe's cases in one short boot and writes what happened to OUT; tcp.sh
# judges on the host. Every count here is the workload's own or the kernel's.
#
#   _guest-tcp.sh OUT AOD_BIN
#
# Two agent runs (probes.tcp on), each with its own attach set:
#   auto     tp_btf + fexit tcp_try_rmem_schedule (what the fallback order gives)
#   forced   AOD_TCP_ATTACH=raw_tp AOD_TCP_CLAMP=kprobe
# In each: N loopback connects (connect/accept histograms +N); N connects to a
# closed port (resets received +N; sent: 6.1 traces no reset sent without a
# socket); a 500 kB transfer to a receiver with a 4 KiB SO_RCVBUF (window clamps)
# and the same to a default one (the control). Then, in the auto run only: netem
# 100 ms on lo (connect and accept >= 2 x 100 ms: SYN, SYN-ACK, ACK all cross lo)
# and netem 10 % loss (retransmits = TcpRetransSegs, the guest has no other TCP).
set -u
OUT=$1 AOD=$2
LOAD=$(cd "$(dirname "$AOD")" && pwd)/tests/tcp_load
B=/bin/busybox
N=20
FACTS=$OUT/facts
: > "$FACTS"
fact() { echo "$1=$2" >> "$FACTS"; }
cs() { local u _r; read -r u _r < /proc/uptime; u=${u/./}; echo $((10#$u)); }
say() { local u _r; read -r u _r < /proc/uptime; echo "guest [$u] $*"; }
T0=$(cs)
# netem on lo and a stopped agent are for the throw-away guest only
[ "$(cat /proc/sys/kernel/hostname)" = smbvm ] || { echo "_guest-tcp.sh: runs in the smbvm guest only" >&2; exit 2; }

st() { "$AOD" status --config "$CFG" --json 2> /dev/null; }
# One status snapshot, one jq (each exec costs ~0.2 s under TCG): for PORT, the
# connect count and sum, the accept count and sum, then the counters
# resets_received resets_sent window_clamps retransmits
nums() { # port -> sets V=(...)
	local line
	line=$(st | jq -r --argjson p "$1" '
		def h(k; f): [(.tcp.histograms[k] // [])[] | select(.port == $p) | .[f]] | add // 0;
		def c(k): .tcp.counters[k] // 0;
		[h("connect"; "count"), h("connect"; "sum_ns"), h("accept"; "count"), h("accept"; "sum_ns"),
		 c("resets_received"), c("resets_sent"), c("window_clamps"), c("retransmits")] | @tsv')
	read -r -a V <<< "${line:-0 0 0 0 0 0 0 0}"
}
snmp() { awk -v f="$1" '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 } else for (i = 2; i <= NF; i++) if (n[i] == f) print $i }' /proc/net/snmp; }

AGENT=
start_agent() { # name env...
	local name=$1; shift
	mkdir -p "$OUT/$name" /run/aod-tcp   # unix sockets need the guest's tmpfs, not 9p
	CFG=$OUT/$name/aod.yaml
	cat > "$CFG" << EOF
watch_interval_sec: 1
aod_output_dir: $OUT/$name/aod
probes: {tcp: on}
agent: {control_socket: /run/aod-tcp/$name.sock}
EOF
	env "$@" "$AOD" agent --config "$CFG" > /dev/null 2> "$OUT/$name/agent.log" &
	AGENT=$!
	for _ in $(seq 1 150); do
		grep -q 'running: config' "$OUT/$name/agent.log" && break
		$B sleep 0.1
	done
	st > "$OUT/$name/status-start.json"
	fact "$name.mode" "$(jq -r '.probes[] | select(.name == "tcp") | "\(.state) \(.mode)"' "$OUT/$name/status-start.json")"
}
stop_agent() {
	kill -TERM "$AGENT" 2> /dev/null
	wait "$AGENT"
	fact "$1.exit" $?
}

connects() { # name: N to a listener, N to a closed port
	local name=$1 p=40100 q=40101 out srv b
	"$LOAD" serve 127.0.0.1 $p 30 > "$OUT/$name/serve.out" &
	srv=$!
	for _ in $(seq 1 30); do grep -q listening "$OUT/$name/serve.out" && break; $B sleep 0.1; done
	nums $p; b=("${V[@]}")
	out=$("$LOAD" connect 127.0.0.1 $p $N)
	nums $p
	fact "$name.connect_out" "$out"
	fact "$name.connect_hist" $((V[0] - b[0]))
	fact "$name.accept_hist" $((V[2] - b[2]))
	kill "$srv" 2> /dev/null
	b=("${V[@]}")
	out=$("$LOAD" connect 127.0.0.1 $q $N)
	nums $q
	fact "$name.closed_out" "$out"
	fact "$name.resets_received" $((V[4] - b[4]))
	fact "$name.resets_sent" $((V[5] - b[5]))
}

clamps() { # name: small receive buffer vs default
	local name=$1 p w0 w1 w2 pids=()
	for p in 40102 40103; do
		if [ $p = 40102 ]; then "$LOAD" sink 127.0.0.1 $p 20 4096 > "$OUT/$name/sink$p.out" &
		else "$LOAD" sink 127.0.0.1 $p 20 > "$OUT/$name/sink$p.out" &
		fi
		pids+=($!)
		for _ in $(seq 1 30); do grep -q listening "$OUT/$name/sink$p.out" && break; $B sleep 0.1; done
	done
	nums 0; w0=${V[6]}
	"$LOAD" send 127.0.0.1 40102 500000 > /dev/null
	nums 0; w1=${V[6]}
	"$LOAD" send 127.0.0.1 40103 500000 > /dev/null
	nums 0; w2=${V[6]}
	fact "$name.clamps_small" $((w1 - w0))
	fact "$name.clamps_default" $((w2 - w1))
	kill "${pids[@]}" 2> /dev/null
}

netem_cases() { # name
	local name=$1 p=40104 q=40105 b n m t0 t1 k0 k1
	modprobe sch_netem 2> /dev/null
	if ! tc qdisc add dev lo root netem delay 100ms; then
		fact skip.netem "tc qdisc add dev lo root netem failed"
		return
	fi
	"$LOAD" serve 127.0.0.1 $p 30 > "$OUT/$name/serve-slow.out" &
	local srv=$!
	for _ in $(seq 1 30); do grep -q listening "$OUT/$name/serve-slow.out" && break; $B sleep 0.1; done
	nums $p; b=("${V[@]}")
	fact "$name.slow_out" "$("$LOAD" connect 127.0.0.1 $p 3 5000)"
	nums $p
	n=$((V[0] - b[0])) m=$((V[2] - b[2]))
	fact "$name.slow_connects" $n
	fact "$name.slow_connect_mean_ms" $(((V[1] - b[1]) / (n > 0 ? n : 1) / 1000000))
	fact "$name.slow_accepts" $m
	fact "$name.slow_accept_mean_ms" $(((V[3] - b[3]) / (m > 0 ? m : 1) / 1000000))
	kill "$srv" 2> /dev/null
	tc qdisc change dev lo root netem loss 10%
	"$LOAD" sink 127.0.0.1 $q 30 > "$OUT/$name/sink-loss.out" &
	local sink=$!
	for _ in $(seq 1 30); do grep -q listening "$OUT/$name/sink-loss.out" && break; $B sleep 0.1; done
	nums 0; t0=${V[7]} k0=$(snmp RetransSegs)
	fact "$name.loss_out" "$("$LOAD" send 127.0.0.1 $q 4000000)"
	tc qdisc del dev lo root
	kill "$sink" 2> /dev/null
	# Count once both sides are quiet: the connection's last segments (its FIN,
	# lost under 10 %) are retransmitted on their timer after send returns, and
	# a read of one counter between two of the other's missed one (seen: aod
	# +9, kernel +10). Quiet: the kernel's count did not move over a read of
	# aod's, and aod's did not move since the previous round.
	local prev=-1 ka
	for _ in $(seq 1 20); do
		ka=$(snmp RetransSegs); $B sleep 1
		nums 0; t1=${V[7]} k1=$(snmp RetransSegs)
		[ "$ka" = "$k1" ] && [ "$t1" = "$prev" ] && break
		prev=$t1
	done
	fact "$name.retransmits" $((t1 - t0))
	fact "$name.retrans_segs" $((k1 - k0))
}

say "tcp cases start, kernel $(uname -r)"
fact kernel "$(uname -r)"
start_agent auto
connects auto
clamps auto
netem_cases auto
stop_agent auto
say "auto done at $((($(cs) - T0) / 100)) s"
start_agent forced AOD_TCP_ATTACH=raw_tp AOD_TCP_CLAMP=kprobe
connects forced
clamps forced
stop_agent forced
fact guest.seconds $((($(cs) - T0) / 100))
fact guest.done 1
say "tcp cases done in $((($(cs) - T0) / 100)) s"
