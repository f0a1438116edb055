#!/bin/bash
# SpaceWatcher inside the running agent: a budget of 2 MiB with 2.5 MiB of
# existing bundles -> emergency cleanup oldest first to <= 50 %; a bundle older
# than max_log_age_days goes; crash leftovers are removed at start; foreign
# files are never touched.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf retention || exit 0
make_workdir
B=$WORK/out/batches
mkdir -p "$B" && chmod 700 "$B"
now=$(date +%s)
for i in 1 2 3 4 5; do   # 512 KiB each, oldest first (i=1 oldest)
	f=$B/aod_$(( (now - 3600 + i) * 1000000000 ))_block_latency.tar.zst
	head -c 524288 /dev/urandom > "$f"
	touch -d "@$((now - 3600 + i * 60))" "$f"
done
old=$B/aod_$(( (now - 4 * 86400) * 1000000000 ))_smb_error.tar.zst
head -c 1000 /dev/urandom > "$old"; touch -d "@$((now - 4 * 86400))" "$old"
echo keep > "$B/notes.txt"; echo keep > "$B/aod_1_block_latency.tar.zst.bak"
mkdir "$B/.staging-42"; echo x > "$B/.staging-42/dmesg"
echo x > "$B/.aod_43_block_latency.tar.zst.tmp"
cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
guardian:
  anomalies:
    blocklat: {type: Latency, tool: biolatency, acceptable_count: 100000, default_threshold_ms: 5000}
cleanup:
  cleanup_interval_sec: 2
  max_log_age_days: 2
  max_total_log_size_mb: 2
agent:
  control_socket: $WORK/aod.sock
YAML
start_agent "$WORK/aod.yaml" || { fail retention-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
sleep 2
total=$(find "$B" -maxdepth 1 -name 'aod_*.tar.zst' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
check "retention-budget-holds ($total bytes)" "total $total > 1 MiB (50 % of 2 MiB)" test "$total" -le 1048576
kept=$(ls "$B" | grep -E '^aod_[0-9]+_block_latency.tar.zst$' | sort)
newest2=$(ls "$B" | grep -E '^aod_[0-9]+_block_latency.tar.zst$' | sort | tail -n 2)
check retention-oldest-first "kept: $kept" test "$kept" = "$newest2"
check retention-age "4-day-old bundle still there" test ! -e "$old"
check retention-emergency-logged "no emergency in the log" grep -q emergency "$AGENT_LOG"
check retention-foreign-untouched "foreign files removed" test -e "$B/notes.txt" -a -e "$B/aod_1_block_latency.tar.zst.bak"
check retention-staging-cleaned "crash leftovers remain" test ! -e "$B/.staging-42" -a ! -e "$B/.aod_43_block_latency.tar.zst.tmp"
stop_agent
