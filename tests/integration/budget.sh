#!/bin/bash
# The output budget covers the anomaly log too, and the SpaceWatcher checks
# right after a bundle is published, not only on its timer.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf budget || exit 0
make_workdir
KIB=1024
seed_bundles() { # count size_kib: bundles oldest first, a minute apart
	local now i f
	now=$(date +%s)
	for i in $(seq 1 "$1"); do
		f=$B/aod_$(( (now - 3600 + i) * 1000000000 ))_block_latency.tar.zst
		head -c $(($2 * KIB)) /dev/urandom > "$f"
		touch -d "@$((now - 3600 + i * 60))" "$f"
	done
}
bundle_bytes() { find "$B" -maxdepth 1 -name 'aod_*.tar.zst' -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
log_bytes() { find "$WORK/out" -maxdepth 1 -name 'anomalies.jsonl*' -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
config() { # budget_mb interval
	cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
guardian:
  anomalies:
    blocklat: {type: Latency, tool: biolatency, acceptable_count: 100000, default_threshold_ms: 5000}
cleanup:
  cleanup_interval_sec: $2
  max_total_log_size_mb: $1
  max_anomaly_log_mb: 2
watcher: {actions: [mounts]}
agent:
  control_socket: $WORK/aod.sock
YAML
}

# 1. 1.2 MiB of anomaly log (within its own 2 MiB) and 1 MiB of bundles in a
#    2 MiB budget: the bundles get what the log leaves
B=$WORK/out/batches
mkdir -p "$B" && chmod 700 "$B"
for g in "" .1 .2 .3; do head -c $((300 * KIB)) /dev/zero | tr '\0' 'x' > "$WORK/out/anomalies.jsonl$g"; done
seed_bundles 4 256
config 2 2
start_agent "$WORK/aod.yaml" || { fail budget-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
sleep 2
logs=$(log_bytes) bundles=$(bundle_bytes) budget=$((2 * 1024 * KIB))
check "budget-counts-the-anomaly-log (log $logs + bundles $bundles <= $budget)" \
	"log $logs + bundles $bundles > budget $budget" test $((logs + bundles)) -le "$budget"
check "budget-log-not-deleted ($logs bytes kept)" "the space watcher deleted anomaly logs" \
	test "$logs" = $((4 * 300 * KIB))
stop_agent

# 2. the check right after a bundle: bundles at 89 % of the budget, a timer of
#    an hour; the snapshot's bundle crosses 90 % and must trigger a cleanup now
rm -rf "$WORK/out"; mkdir -p "$B" && chmod 700 "$B"
seed_bundles 4 230   # 920 KiB: 89.8 % of 1 MiB; a bundle of >= 2 KiB crosses 90 %
config 1 3600
start_agent "$WORK/aod.yaml" || { fail budget-agent-start-2 "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
sleep 1
oldest=$(ls "$B" | grep -E '^aod_[0-9]+_block_latency.tar.zst$' | sort | head -n 1)
check budget-quiet-below-90 "a bundle went before any new one" test -e "$B/$oldest"
"$AOD_BIN" snapshot --socket "$WORK/aod.sock" >/dev/null
if wait_for 10 test ! -e "$B/$oldest"; then
	pass "budget-checked-after-publish ($(grep -c 'retention: deleted' "$AGENT_LOG") deleted)"
else
	fail budget-checked-after-publish "oldest bundle still there 10 s after the snapshot (timer 1 h): $(grep retention "$AGENT_LOG" | tail -n 2)"
fi
stop_agent
