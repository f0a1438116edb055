#!/bin/bash
# make bench, the TCP probe (called by bench/run.sh; runs alone too). Figures,
# no assertions:
#  1. a connect storm (tests/helpers/tcp_load storm: a loopback listener that
#     accepts and closes, a client connecting in a loop) without / with the
#     agent (probes.tcp on, a tcpconnlat rule at 200 ms: aggregation only, no
#     ring records), interleaved pairs, median ratio (target: slowdown <= 10 %)
#  2. kernel cost per event of each TCP program (kernel.bpf_stats_enabled),
#     over one more storm with the agent
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${AOD_BUILD:-build}
AOD=$TOP/$BUILD/aod
LOAD=$TOP/$BUILD/tests/tcp_load
PAIRS=${BENCH_TCP_PAIRS:-${BENCH_PAIRS:-5}}
RUNTIME=${BENCH_TCP_RUNTIME:-3}
[ "$(id -u)" = 0 ] || { echo "bench tcp: needs root (BPF)"; exit 1; }
[ -x "$LOAD" ] || { echo "bench tcp: $LOAD missing (make tests-build)"; exit 1; }
WORK=$(mktemp -d /dev/shm/aod-bench-tcp.XXXXXX)
AGENT_PID=
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
cleanup() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null; wait 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
probes: {tcp: on}
guardian:
  anomalies:
    connlat: {type: Latency, tool: tcpconnlat, acceptable_count: 10, default_threshold_ms: 200}
agent: {control_socket: $WORK/aod.sock}
YAML
start() {
	"$AOD" agent --config "$WORK/aod.yaml" > "$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 1 100); do grep -q 'running: config' "$WORK/agent.log" && return 0; sleep 0.05; done
	echo "bench tcp: agent did not start: $(tail -n 3 "$WORK/agent.log")"; exit 1
}
stop() { kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=; }
storm() { "$LOAD" storm "$RUNTIME" | sed -n 's/.*per_sec=\([0-9]*\) cpu_us_per_connect=\([0-9.]*\).*/\1 \2/p'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# 1: interleaved pairs, the order alternating so that drift hits both sides;
# one storm first to warm up (page cache, socket slabs, CPU frequency)
storm > /dev/null
ratios=() base=() withs=() cratios=()
for i in $(seq 1 "$PAIRS"); do
	if [ $((i % 2)) = 1 ]; then read -r b bc < <(storm); start; read -r w wc < <(storm); stop
	else start; read -r w wc < <(storm); stop; read -r b bc < <(storm); fi
	base+=("$b"); withs+=("$w"); ratios+=("$(echo "$w / $b" | bc -l)"); cratios+=("$(echo "$wc / $bc" | bc -l)")
	printf 'tcp storm pair %d: without %d connects/s (%.1f us CPU each), with %d connects/s (%.1f us), ratio %.4f\n' \
		"$i" "$b" "$bc" "$w" "$wc" "${ratios[-1]}"
done
r=$(printf '%s\n' "${ratios[@]}" | median)
cr=$(printf '%s\n' "${cratios[@]}" | median)
printf 'tcp connect storm: median without %.0f, with %.0f connects/s; median ratio %.4f -> slowdown %.2f %% (target <= 10 %%)\n' \
	"$(printf '%s\n' "${base[@]}" | median)" "$(printf '%s\n' "${withs[@]}" | median)" "$r" "$(echo "(1 - $r) * 100" | bc -l)"
printf 'tcp connect storm: CPU per connect (the storm'"'"'s own, loopback softirq included) median ratio with/without %.4f -> +%.2f %%\n' \
	"$cr" "$(echo "($cr - 1) * 100" | bc -l)"

# 2: the kernel's accounting of each program over one storm
if ! sysctl -qw kernel.bpf_stats_enabled=1 2>/dev/null; then
	echo "tcp probe cost: kernel.bpf_stats_enabled cannot be set here"
	exit 0
fi
start
ids=$(grep -h '^prog_id:' /proc/"$AGENT_PID"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un | tr '\n' ' ')
snap() { for id in $ids; do bpftool -j prog show id "$id" 2>/dev/null; done | jq -s -c '.[] | select(.name | test("^aod_tcp_"))'; }
snap > "$WORK/s0"
"$LOAD" storm "$RUNTIME" > "$WORK/storm.out"
snap > "$WORK/s1"
st=$("$AOD" status --socket "$WORK/aod.sock" --json)
stop
echo "tcp probe cost per event (run_time_ns / run_cnt over one ${RUNTIME} s storm: $(cat "$WORK/storm.out")):"
jq -s -r 'group_by(.id)[] | select(length == 2) |
	{name: .[0].name, ns: ((.[1].run_time_ns // 0) - (.[0].run_time_ns // 0)),
	 n: ((.[1].run_cnt // 0) - (.[0].run_cnt // 0))} |
	"  \(.name): \(.n) runs, \(if .n > 0 then (.ns / .n | floor) else "-" end) ns per event"' "$WORK/s0" "$WORK/s1"
jq -s -r '[group_by(.id)[] | select(length == 2) | ((.[1].run_time_ns // 0) - (.[0].run_time_ns // 0))] | add' "$WORK/s0" "$WORK/s1" |
	awk -v c="$(sed -n 's/.*connects=\([0-9]*\).*/\1/p' "$WORK/storm.out")" '{ if (c > 0) printf "  all TCP programs: %.0f ns per connect (%d connects)\n", $1 / c, c }'
echo "  ring records during the storm: $(echo "$st" | jq '.probes[] | select(.name == "tcp") | .counters.events') (a 200 ms threshold: none expected)"
