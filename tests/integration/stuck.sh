#!/bin/bash
# Block requests that hang, on the real kernel: a loop device on a FUSE file
# (tests/helpers/stallfs) that stalls while a flag file exists. While a
# request hangs the agent reports it stuck (once), within the emergency
# threshold + 1 s of its start; when it completes it is measured but not
# counted again; one that hangs past the in-flight timeout is still measured
# when it completes (late).
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf stuck || exit 0
make_workdir
[ -c /dev/fuse ] || { skip stuck "no /dev/fuse (FUSE not in this kernel)"; exit 0; }
command -v losetup >/dev/null || { skip stuck "losetup missing"; exit 0; }

FLAG=$WORK/stall FUSE_PID= LOOP=
cleanup_stuck() {
	rm -f "$FLAG"
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	umount "$WORK/fuse" 2>/dev/null
	[ -n "$FUSE_PID" ] && kill "$FUSE_PID" 2>/dev/null
	stop_agent 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup_stuck EXIT
mkdir -p "$WORK/fuse"
"$HELPERS/stallfs" "$WORK/fuse" 16 "$FLAG" > "$WORK/stallfs.log" 2>&1 &
FUSE_PID=$!
wait_for 5 test -e "$WORK/fuse/disk" || { fail stuck-setup "stallfs did not mount: $(cat "$WORK/stallfs.log")"; exit 0; }
make_loop stuck 16M "$WORK/fuse/disk" || exit 0
EMERG_MS=500

cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
guardian:
  anomalies:
    hang:
      type: Latency
      tool: biolatency
      mode: trackonly
      acceptable_count: 100000
      track_devices: [{device: $DEV, threshold: 100}]
      emergency_threshold_ms: $EMERG_MS
      holdoff_sec: 0
      actions: [mounts]
cleanup: {max_total_log_size_mb: 50}
watcher: {actions: [mounts]}
agent:
  control_socket: $WORK/aod.sock
  smb_inflight_timeout_sec: 2
  stuck_sweep_ms: 100
YAML
start_agent "$WORK/aod.yaml" || { fail stuck-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }

ms() { echo $(( $(date +%s%N) / 1000000 )); }
anoms() { [ -s "$WORK/out/anomalies.jsonl" ] && jq -c --arg t "$1" 'select(.source == "block" and .type == $t)' "$WORK/out/anomalies.jsonl"; }
nanoms() { anoms "$1" | grep -c . ; }
# one O_DIRECT 4 KiB write to the loop device, timed by itself
hung_write() { # stall_ms: keeps the device stalled that long; prints the write's own ms
	local t0 t1
	touch "$FLAG"
	t0=$(ms)
	dd if=/dev/zero of="$LOOP" bs=4096 count=1 seek="$2" oflag=direct status=none &
	local dd=$!
	sleep "$(echo "$1 / 1000" | bc -l)"
	rm -f "$FLAG"
	wait "$dd"; t1=$(ms)
	echo $((t1 - t0))
}

# 1. a 1.5 s hang: stuck while it hangs, completes inside the in-flight timeout
t_start=$(ms)
hung_write 1500 1 > "$WORK/w1" &
w1=$!
if wait_for 6 bash -c "[ \$(jq -c 'select(.type == \"stuck\")' '$WORK/out/anomalies.jsonl' 2>/dev/null | grep -c .) -ge 1 ]"; then
	seen=$(( $(ms) - t_start ))
	a=$(anoms stuck | head -n 1)
	# the agent's own account: fired (id) vs the op's start (window_start)
	lag=$(echo "$a" | jq '(.id - .window_start_ns) / 1e6 | floor')
	check "stuck-reported-while-hanging (${lag} ms after the op's start, seen by the test after ${seen} ms)" \
		"fired ${lag} ms after the start, bound $((EMERG_MS + 1000)) ms" test "$lag" -le $((EMERG_MS + 1000)) -a "$lag" -ge "$EMERG_MS"
	echo "$a" | jq -e --arg d "$DEV" '.keys[0].key == $d and .total == 1 and .worst[0].comm == "dd" and
		.worst[0].kind == "blk_stuck" and .worst[0].age_ns >= 500000000 and .worst[0].op == "write"' >/dev/null
	rc=$?
	check stuck-anomaly-content "$(echo "$a" | jq -c '{keys, total, worst: [.worst[] | {comm, kind, age_ns, op}]}')" test "$rc" = 0
else
	fail stuck-reported-while-hanging "no stuck anomaly within 6 s: $(tail -n 3 "$WORK/agent.log" | tr '\n' ' ')"
fi
wait "$w1"
sleep 1.5
check "stuck-not-counted-twice (write took $(cat "$WORK/w1") ms)" \
	"latency anomalies after completion: $(anoms latency)" test "$(nanoms latency)" = 0
check stuck-once "$(nanoms stuck) stuck anomalies for one op" test "$(nanoms stuck)" = 1
b=$(ls "$WORK/out/batches" 2>/dev/null | grep -E '^aod_[0-9]+_block_stuck\.tar\.zst$' | head -n 1)
if [ -n "$b" ]; then
	tar --zstd -xOf "$WORK/out/batches/$b" --wildcards '*/summary.txt' > "$WORK/summary1.txt"
	grep -q "STUCK" "$WORK/summary1.txt" && grep -q "$DEV" "$WORK/summary1.txt" && grep -q ' dd ' "$WORK/summary1.txt"
	rc=$?
	check stuck-bundle-summary "summary: $(head -c 400 "$WORK/summary1.txt")" test "$rc" = 0
else
	fail stuck-bundle-summary "no block stuck bundle: $(ls "$WORK/out/batches" 2>/dev/null | tr '\n' ' ')"
fi

# 2. a 3.5 s hang, past the 2 s in-flight timeout: expired, and measured when it ends
hung_write 3500 2 > "$WORK/w2"
took=$(cat "$WORK/w2")
sleep 1
st=$("$AOD_BIN" status --socket "$WORK/aod.sock" --json)
exp=$(echo "$st" | jq '.probes[] | select(.name == "block") | .counters.inflight_expired')
late=$(echo "$st" | jq '.probes[] | select(.name == "block") | .counters.late_matched')
check "late-completion-measured (expired $exp, late $late)" "status: expired $exp late $late" \
	test "${exp:-0}" -ge 1 -a "${late:-0}" -ge 1
check stuck-not-counted-twice-late "latency anomalies: $(anoms latency)" test "$(nanoms latency)" = 0
"$AOD_BIN" snapshot --socket "$WORK/aod.sock" >/dev/null
wait_for 10 bash -c "ls '$WORK/out/batches' | grep -q '_manual_manual.tar.zst$'"
m=$(ls "$WORK/out/batches" | grep '_manual_manual.tar.zst$' | head -n 1)
ev=$(tar --zstd -xOf "$WORK/out/batches/$m" --wildcards '*/events.jsonl' 2>/dev/null |
	jq -c --arg d "$DEV" 'select(.kind == "blk_slow" and .disk == $d and .late == true)' | head -n 1)
if [ -n "$ev" ]; then
	lat=$(echo "$ev" | jq '.latency_ns / 1e6 | floor')
	# ground truth: the write's own duration, as dd's parent timed it
	diff=$(( lat > took ? lat - took : took - lat ))
	check "late-latency-matches-the-workload (agent ${lat} ms, dd ${took} ms)" \
		"differs by ${diff} ms" test "$diff" -le 500
	echo "$ev" | jq -e '.was_stuck == true and .comm == "dd"' >/dev/null
	check late-event-flags "$ev" test $? = 0
else
	fail late-latency-matches-the-workload "no late blk_slow event in the snapshot's events.jsonl"
fi
stop_agent
