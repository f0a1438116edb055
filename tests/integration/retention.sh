#!/bin/bash
# SpaceWatcher inside the running agent. 1: far below the budget, a bundle older than
# max_log_age_days goes (age alone, not size) and crash leftovers are removed at start.
# 2: restarted with 2.4 MiB of bundles against a budget of 2 MiB -> emergency cleanup to
# <= 50 %, oldest (by mtime, not by name) first. Foreign files are never touched.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf retention || exit 0
make_workdir
B=$WORK/out/batches
mkdir -p "$B" && chmod 700 "$B"
now=$(date +%s)
bundle() { # name-seconds mtime-seconds size: path of a new bundle
	local f=$B/aod_$(($1 * 1000000000))_block_latency.tar.zst
	head -c "$3" /dev/urandom > "$f"
	touch -d "@$2" "$f"
	echo "$f"
}
sizes() { find "$B" -maxdepth 1 -name 'aod_*.tar.zst' -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
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
store: {enabled: false}   # the byte counts below are bundles only; store.sh tests the shared budget
YAML

# 1. age: 3 kB of bundles in a 2 MiB budget; the 4-day-old one must go all the same
old=$(bundle $((now - 4 * 86400)) $((now - 4 * 86400)) 1000)
fresh1=$(bundle $((now - 120)) $((now - 120)) 1000)
fresh2=$(bundle $((now - 60)) $((now - 60)) 1000)
echo keep > "$B/notes.txt"; echo keep > "$B/aod_1_block_latency.tar.zst.bak"
mkdir "$B/.staging-42"; echo x > "$B/.staging-42/dmesg"
echo x > "$B/.aod_43_block_latency.tar.zst.tmp"
start_agent "$WORK/aod.yaml" || { fail retention-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
wait_for 20 test ! -e "$old"
if [ -e "$old" ]; then
	fail retention-age "the 4-day-old bundle is still there 20 s after start, 0.1 % of the budget used"
elif ! grep -q "retention: deleted $(basename "$old") .*reason age" "$AGENT_LOG"; then
	fail retention-age "deleted, but not for its age: $(grep 'retention: deleted' "$AGENT_LOG" | tail -n 1)"
else
	check retention-age "the fresh bundles went too (nothing else is over any limit)" test -e "$fresh1" -a -e "$fresh2"
fi
check retention-staging-cleaned "crash leftovers remain" wait_for 10 test ! -e "$B/.staging-42" -a ! -e "$B/.aod_43_block_latency.tar.zst.tmp"
stop_agent

# 2. size: five 500 kB bundles, an hour old, whose names (ids) do not sort like their
# mtimes: bundle i gets mtime rank r[i] (5 = newest). Oldest first keeps the two of rank 4
# and 5 (and the two small fresh ones): 2 x 500 kB + 2 kB <= 1 MiB < 3 x 500 kB.
r=(- 4 1 5 2 3)
keep=
for i in 1 2 3 4 5; do
	f=$(bundle $((now - 3600 + i)) $((now - 3600 + ${r[i]} * 60)) 512000)
	[ "${r[i]}" -ge 4 ] && keep="$keep $(basename "$f")"
done
keep=$(echo $keep "$(basename "$fresh1")" "$(basename "$fresh2")" | tr ' ' '\n' | sort | tr '\n' ' ')
start_agent "$WORK/aod.yaml" || { fail retention-agent-restart "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
within_half() { [ "$(sizes)" -le 1048576 ]; }
wait_for 20 within_half
total=$(sizes)
check "retention-budget-holds ($total bytes)" "total $total > 1 MiB (50 % of 2 MiB) 20 s after start" test "$total" -le 1048576
kept=$(ls "$B" | grep -E '^aod_[0-9]+_block_latency.tar.zst$' | sort | tr '\n' ' ')
check retention-oldest-first "kept: $kept; want (oldest mtimes deleted first): $keep" test "$kept" = "$keep"
check retention-emergency-logged "no emergency in the log" grep -q emergency "$AGENT_LOG"
check retention-foreign-untouched "foreign files removed" test -e "$B/notes.txt" -a -e "$B/aod_1_block_latency.tar.zst.bak"
stop_agent
