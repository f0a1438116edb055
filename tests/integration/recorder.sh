#!/bin/bash
# The flight recorder's loss, told by the bundle: a recorder of 50 events
# sees a few hundred block requests on a loop device; a snapshot's manifest
# must account for every one of them (written + lost), counted against the
# kernel's own per-device I/O counters (/sys/block/DEV/stat).
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf recorder || exit 0
make_workdir
make_loop recorder 64M || exit 0
CAP=50

cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
guardian:
  anomalies:
    every_io:
      type: Latency
      tool: biolatency
      mode: trackonly
      acceptable_count: 1000000
      emergency_threshold_ms: 3600000
      track_devices: [{device: $DEV, threshold: 0}]
watcher:
  actions: [mounts]
  flight_recorder_max_events: $CAP
agent:
  control_socket: $WORK/aod.sock
YAML
start_agent "$WORK/aod.yaml" || { fail recorder-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
# completed requests of every kind: reads, writes, discards, flushes
ios() { awk '{print $1 + $5 + $12 + $15}' "/sys/block/$DEV/stat"; }
before=$(ios)
"$HELPERS/odirect_io" "$LOOP" 200 4096 >/dev/null || { fail recorder-io "odirect_io on $LOOP failed"; exit 0; }
sleep 1
n=$(( $(ios) - before ))
"$AOD_BIN" snapshot --socket "$WORK/aod.sock" >/dev/null
wait_for 15 bash -c "ls '$WORK/out/batches' 2>/dev/null | grep -q '_manual_manual.tar.zst$'"
b=$(ls "$WORK/out/batches" 2>/dev/null | grep '_manual_manual.tar.zst$' | head -n 1)
[ -n "$b" ] || { fail recorder-snapshot "no snapshot bundle"; exit 0; }
m=$(tar --zstd -xOf "$WORK/out/batches/$b" --wildcards '*/manifest.json')
written=$(echo "$m" | jq '.events.written')
lost=$(echo "$m" | jq '.events.lost_in_recorder')
lines=$(tar --zstd -xOf "$WORK/out/batches/$b" --wildcards '*/events.jsonl' | jq -c --arg d "$DEV" 'select(.disk == $d)' | grep -c .)
check "recorder-keeps-its-capacity (written $written, $lines lines of $DEV)" "written $written lines $lines" \
	test "$written" = "$CAP" -a "$lines" = "$CAP"
check "recorder-loss-counted (written $written + lost $lost = $((written + lost)); the kernel completed $n)" \
	"written + lost != $n" test $((written + lost)) = "$n"
summary=$(tar --zstd -xOf "$WORK/out/batches/$b" --wildcards '*/summary.txt')
check recorder-loss-in-summary "summary: $(echo "$summary" | grep -i events.jsonl)" \
	grep -q "$lost events of this range were lost" <<< "$summary"
