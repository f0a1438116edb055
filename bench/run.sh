#!/bin/bash
# make bench: figures, no assertions. Each figure is printed with its target.
#  1. block I/O IOPS without / with the agent, interleaved pairs, median ratio
#  2. agent CPU seconds and peak RSS over the IOPS runs
#  3. start -> all available probes attached
#  4. emergency event -> anomaly delay
#  5. anomaly -> bundle complete with the default actions; bundle size
#  6. agent CPU and peak RSS during an anomaly storm
#  7. detector throughput (events/s through the rules, one core)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${AOD_BUILD:-build}
AOD=$TOP/$BUILD/aod
PAIRS=${BENCH_PAIRS:-5}
RUNTIME=${BENCH_RUNTIME:-4}
[ "$(id -u)" = 0 ] || { echo "bench: needs root (BPF)"; exit 1; }
WORK=$(mktemp -d /var/tmp/aod-bench.XXXXXX)
SHM=$(mktemp -d /dev/shm/aod-bench.XXXXXX)   # agent output here: its own writes must not feed the block probe
AGENT_PID= LOOP=
cleanup() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null; wait 2>/dev/null
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	rm -rf "$WORK" "$SHM"
}
trap cleanup EXIT

cfg() { # file block-threshold-ms acceptable emergency-ms actions holdoff
	cat > "$1" <<YAML
watch_interval_sec: 1
aod_output_dir: $SHM/out
guardian:
  anomalies:
    blocklat:
      type: Latency
      tool: biolatency
      acceptable_count: $3
      default_threshold_ms: $2
      emergency_threshold_ms: $4
      holdoff_sec: $6
      actions: $5
    smblat: {type: Latency, tool: smbslower, acceptable_count: 10, default_threshold_ms: 20}
cleanup: {max_total_log_size_mb: 500}
agent: {control_socket: $WORK/aod.sock}
YAML
}
start() {
	rm -rf "$SHM/out"
	"$AOD" agent --config "$1" > "$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 1 100); do grep -q 'running: config' "$WORK/agent.log" && return 0; sleep 0.05; done
	echo "bench: agent did not start: $(tail -n 3 "$WORK/agent.log")"; exit 1
}
stop() { kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=; }
cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
anon_kb() { awk '/RssAnon/ {print $2}' "/proc/$1/status"; }
# Resident pages of BPF map mappings: the ring buffer's kernel pages, mapped twice.
maps_kb() { awk '/^[0-9a-f]+-/ {m = ($6 == "anon_inode:bpf-map")} /^Rss:/ && m {s += $2} END {print s + 0}' "/proc/$1/smaps"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
fio_iops() {
	fio --name=aodbench --filename="$FIO_TARGET" --size=256M --rw=randrw --bs=4k --direct=1 \
	    --ioengine=libaio --iodepth=16 --runtime="$RUNTIME" --time_based --output-format=json 2>/dev/null |
		jq '.jobs[0].read.iops + .jobs[0].write.iops'
}

echo "== aod bench ($(uname -r), $(nproc) cores) =="
"$TOP/$BUILD/bench/bench_detector"
"$TOP/$BUILD/bench/bench_store" "$WORK"   # 8. store throughput, bytes per event
command -v fio >/dev/null || { echo "bench: fio missing (make deps test installs it)"; exit 1; }
# IOPS on a RAM-backed loop device: a real blk-mq device the probe sees, fast and
# steady, so the probe's relative cost is at its highest and the virtual disk's noise
# (tens of percent between runs here) stays out of the ratio.
FIO_TARGET=$WORK/fio.dat
if truncate -s 256M "$SHM/disk.img" && LOOP=$(losetup -f --show "$SHM/disk.img" 2>/dev/null); then
	FIO_TARGET=$LOOP
	echo "block IOPS target: $LOOP (loop device on tmpfs)"
else
	LOOP=
	echo "block IOPS target: $FIO_TARGET (no loop device: the virtual disk's noise shows in the ratio)"
fi
fio --name=prep --filename="$FIO_TARGET" --size=256M --rw=write --bs=1M --direct=1 >/dev/null 2>&1

# 1+2: block I/O with the default-like config (threshold 200 ms: aggregation only)
cfg "$WORK/io.yaml" 200 10 1000 '[mounts]' 60
ratios=() ; base=() ; withs=()
cpu=0 hwm=0 rss=0 mkb=0 akb=0
for i in $(seq 1 "$PAIRS"); do
	b=$(fio_iops)
	start "$WORK/io.yaml"
	c0=$(cpu_s "$AGENT_PID")
	w=$(fio_iops)
	c1=$(cpu_s "$AGENT_PID"); h=$(hwm_kb "$AGENT_PID"); r=$(rss_kb "$AGENT_PID"); mkb=$(maps_kb "$AGENT_PID"); akb=$(anon_kb "$AGENT_PID")
	stop
	cpu=$(echo "$cpu + $c1 - $c0" | bc -l); [ "$h" -gt "$hwm" ] && hwm=$h; [ "$r" -gt "$rss" ] && rss=$r
	base+=("$b"); withs+=("$w"); ratios+=("$(echo "$w / $b" | bc -l)")
	printf 'pair %d: without %.0f IOPS, with %.0f IOPS, ratio %.4f\n' "$i" "$b" "$w" "${ratios[-1]}"
done
r=$(printf '%s\n' "${ratios[@]}" | median)

# The kernel's own accounting of the probe: run time per invocation of aod's
# block programs (kernel.bpf_stats_enabled), over one more fio run. Unlike the
# IOPS ratio, this is not drowned by the device's run-to-run noise.
old_stats=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
if sysctl -qw kernel.bpf_stats_enabled=1 2>/dev/null; then
	start "$WORK/io.yaml"
	w=$(fio_iops)
	read -r ns cnt < <(bpftool -j prog show | jq -r '[.[] | select(.name | test("^aod_blk_")) ] |
		"\(map(.run_time_ns // 0) | add) \(map(.run_cnt // 0) | add)"')
	stop
	sysctl -qw kernel.bpf_stats_enabled="$old_stats"
	if [ "${cnt:-0}" -gt 0 ]; then
		per_op=$(echo "$ns / ($cnt / 2)" | bc -l)   # two programs per I/O: issue, complete
		printf 'block probe cost: %.0f ns per I/O (issue + complete, %d runs); at %.0f IOPS the probe keeps %.3f %% of one core busy, %.3f %% of all %d cores\n' \
			"$per_op" "$cnt" "$w" "$(echo "$per_op * $w / 10000000" | bc -l)" "$(echo "$per_op * $w / 10000000 / $(nproc)" | bc -l)" "$(nproc)"
	fi
else
	echo "block probe cost: kernel.bpf_stats_enabled cannot be set here"
fi
printf 'block IOPS: median without %.0f, with %.0f; median ratio %.4f -> slowdown %.2f %% (target <= 1 %%)\n' \
	"$(printf '%s\n' "${base[@]}" | median)" "$(printf '%s\n' "${withs[@]}" | median)" "$r" "$(echo "(1 - $r) * 100" | bc -l)"
printf 'agent CPU during %d x %d s of fio: %.2f s (%.2f %% of one core)\n' \
	"$PAIRS" "$RUNTIME" "$cpu" "$(echo "$cpu * 100 / ($PAIRS * $RUNTIME)" | bc -l)"
printf 'agent RSS while running: %.1f MiB (target <= 16 MiB): %.1f MiB the BPF ring buffer (kernel pages, mapped twice) + %.1f MiB heap and stacks + %.1f MiB shared libraries and the binary (file pages, shared)\n' \
	"$(echo "$rss / 1024" | bc -l)" "$(echo "$mkb / 1024" | bc -l)" "$(echo "$akb / 1024" | bc -l)" "$(echo "($rss - $mkb - $akb) / 1024" | bc -l)"
printf 'agent peak RSS (VmHWM, includes libbpf parsing the kernel BTF while loading): %.1f MiB\n' "$(echo "$hwm / 1024" | bc -l)"

# 3: attach time (median of 5 starts)
att=()
for i in 1 2 3 4 5; do
	start "$WORK/io.yaml"
	att+=("$("$AOD" status --socket "$WORK/aod.sock" --json | jq .probes_attach_ms)")
	stop
done
printf 'start -> probes attached: median %.1f ms over 5 starts (target <= 150 ms)\n' "$(printf '%s\n' "${att[@]}" | median)"

# 4: emergency delay. Every write to the loop device is an emergency; the
# anomaly's "detected" (wall clock when the live detector saw it) - the event's
# completion. ("id" is the event time at which the condition held.) One rule fires at most once per window W (1 s here): an
# emergency inside the quiet period after a fire is held to its end, which is the
# design, not delay. So each sample is one isolated request (dd, one 4 KiB
# O_DIRECT write), 2.5 s (> 2 W) after the previous one, and only the loop
# device counts (trackonly), so the host disk's own I/O cannot open a quiet period.
if [ -n "$LOOP" ]; then
	cfg "$WORK/em.yaml" 0 1000000 0.001 "[]" 0
	sed -i "s|emergency_threshold_ms: 0.001|&\n      mode: trackonly\n      track_devices: [${LOOP#/dev/}]|" "$WORK/em.yaml"
	start "$WORK/em.yaml"
	for i in $(seq 1 10); do
		dd if=/dev/zero of="$LOOP" bs=4k count=1 seek=$((i * 8)) oflag=direct conv=notrunc status=none
		sleep 2.5
	done
	stop
	jq -r 'select(.emergency) | ((.detected_ns - ([.worst[].wall_ns] | max)) / 1e6)' "$SHM/out/anomalies.jsonl" > "$WORK/delays"
	printf 'emergency event -> anomaly: median %.2f ms, max %.2f ms over %d anomalies from 10 isolated writes (target <= 20 ms)\n' \
		"$(median < "$WORK/delays")" "$(sort -g "$WORK/delays" | tail -n1)" "$(wc -l < "$WORK/delays")"
else
	echo "emergency event -> anomaly: no loop device here, not measured"
fi

# 5: anomaly -> bundle with the default actions
cfg "$WORK/b.yaml" 0 5 100000 '[dmesg, journalctl, debugdata, stats, mounts, smbinfo, syslogs]' 0
lat=() sizes=()
for i in 1 2 3; do
	start "$WORK/b.yaml"
	"$TOP/$BUILD/tests/odirect_io" "$WORK/b.dat" 16 4096 >/dev/null
	for _ in $(seq 1 100); do ls "$SHM/out/batches" 2>/dev/null | grep -q 'tar.zst$' && break; sleep 0.05; done
	sleep 0.2
	ms=$("$AOD" status --socket "$WORK/aod.sock" --json | jq .collector.last_bundle_ms)
	sz=$(stat -c %s "$SHM"/out/batches/aod_*.tar.zst | head -n1)
	stop; lat+=("$ms"); sizes+=("$sz")
done
printf 'anomaly -> bundle complete (default actions): median %s ms (target <= 2000 ms); bundle size median %s bytes\n' \
	"$(printf '%s\n' "${lat[@]}" | median)" "$(printf '%s\n' "${sizes[@]}" | median)"

# 6: anomaly storm: every window fires for 10 s, holdoff 0, default actions
start "$WORK/b.yaml"
sleep 1
echo 5 > "/proc/$AGENT_PID/clear_refs" # VmHWM from here: the storm, not libbpf's load-time peak
c0=$(cpu_s "$AGENT_PID")
end=$(( $(date +%s) + 10 ))
while [ "$(date +%s)" -lt "$end" ]; do "$TOP/$BUILD/tests/odirect_io" "$WORK/s.dat" 16 4096 >/dev/null; done
c1=$(cpu_s "$AGENT_PID"); h=$(hwm_kb "$AGENT_PID")
st=$("$AOD" status --socket "$WORK/aod.sock" --json)
stop
printf 'storm (10 s): %s anomalies, %s bundles, %s coalesced, %s events; agent CPU %.2f s, peak RSS during the storm %.1f MiB (target <= 32 MiB)\n' \
	"$(echo "$st" | jq .anomalies.total)" "$(echo "$st" | jq .collector.bundles_written)" \
	"$(echo "$st" | jq .collector.coalesced)" "$(echo "$st" | jq .dispatcher.events_decoded)" \
	"$(echo "$c1 - $c0" | bc -l)" "$(echo "$h / 1024" | bc -l)"
bash "$TOP/bench/http.sh"   # 8. HTTP: CPU per /metrics scrape, RSS after 10 000 scrapes
AOD_BUILD=$BUILD "$TOP/bench/tcp.sh" # 8: the TCP probe: connect storm slowdown, ns per event per program
AOD_BUILD=$BUILD "$TOP/bench/proc.sh" # 9: the process probe: exec storm and getppid next to execsnoop, lossless rate
