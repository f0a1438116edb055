#!/bin/bash
# A reload tells the truth: keys that cannot change at runtime keep their
# running values and status says a restart is needed; thresholds that cannot
# be written to the kernel are rolled back there too; one agent per control
# socket, and nothing that is not a stale socket of ours is ever removed.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf reload || exit 0
make_workdir

config() { # file threshold_ms ringbuf_mb tasks
	cat > "$1" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
guardian:
  anomalies:
    blocklat: {type: Latency, tool: biolatency, acceptable_count: 100000, default_threshold_ms: $2}
watcher:
  actions: [mounts]
  max_concurrent_tasks: $4
agent:
  control_socket: $WORK/aod.sock
  ringbuf_mb: $3
YAML
}
# the agent's own BPF maps, by name (from its fds: never another process's)
agent_map_id() { # pid name
	local id
	for id in $(grep -h '^map_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un); do
		[ "$(bpftool -j map show id "$id" 2>/dev/null | jq -r .name)" = "$2" ] && { echo "$id"; return; }
	done
}
blk_threshold() { bpftool -j map dump id "$(agent_map_id "$1" blk_knobs)" | jq '.[0].formatted.value.default_threshold_ns'; }
ring_bytes() { bpftool -j map show id "$(agent_map_id "$1" aod_events)" | jq .max_entries; }
status() { "$AOD_BIN" status --socket "$WORK/aod.sock" "$@"; }

# 1. keys that need a restart
config "$WORK/a.yaml" 200 1 4
start_agent "$WORK/a.yaml" || { fail reload-agent-start "$(tail -n 5 "$AGENT_LOG")"; exit 0; }
check "reload-ring-at-start ($(ring_bytes "$AGENT_PID") bytes)" "ring $(ring_bytes "$AGENT_PID")" \
	test "$(ring_bytes "$AGENT_PID")" = 1048576
config "$WORK/a.yaml" 300 2 2
kill -HUP "$AGENT_PID"
wait_for 5 bash -c "'$AOD_BIN' status --socket '$WORK/aod.sock' --json | jq -e '.config_reloads.ok == 1' >/dev/null"
rn=$(status --json | jq -r .config.restart_needed)
check "reload-says-restart-needed ($rn)" "restart_needed: '$rn'" \
	test "$rn" = "agent.ringbuf_mb, watcher.max_concurrent_tasks"
check reload-restart-needed-in-status "aod status: $(status | grep -i restart)" \
	bash -c "'$AOD_BIN' status --socket '$WORK/aod.sock' | grep -q 'restart needed: agent.ringbuf_mb, watcher.max_concurrent_tasks'"
check reload-restart-needed-logged "log: $(grep -i restart "$AGENT_LOG" | tail -n 1)" \
	grep -q 'agent.ringbuf_mb, watcher.max_concurrent_tasks changed; they take effect only after a restart' "$AGENT_LOG"
check "reload-running-ring-kept ($(ring_bytes "$AGENT_PID") bytes)" "ring resized?" \
	test "$(ring_bytes "$AGENT_PID")" = 1048576
check "reload-thresholds-applied ($(blk_threshold "$AGENT_PID") ns)" "kernel threshold $(blk_threshold "$AGENT_PID")" \
	test "$(blk_threshold "$AGENT_PID")" = 300000000
stop_agent

# 2. kernel thresholds that cannot be written: rolled back, in the kernel too
config "$WORK/b.yaml" 200 1 4
AOD_TEST_FAIL_KNOB_WRITES=1 start_agent "$WORK/b.yaml" || { fail reload-agent-start-2 "$(tail -n 5 "$AGENT_LOG")"; exit 0; }
hash0=$(status --json | jq -r .config.hash)
config "$WORK/b.yaml" 700 1 4
kill -HUP "$AGENT_PID"
wait_for 5 bash -c "'$AOD_BIN' status --socket '$WORK/aod.sock' --json | jq -e '.config_reloads.failed == 1' >/dev/null"
st=$(status --json)
check "reload-knob-failure-is-a-failed-reload" "reloads: $(echo "$st" | jq -c .config_reloads)" \
	test "$(echo "$st" | jq '.config_reloads.failed')" = 1 -a "$(echo "$st" | jq '.config_reloads.ok')" = 0
check reload-knob-failure-keeps-config "hash $hash0 -> $(echo "$st" | jq -r .config.hash)" \
	test "$(echo "$st" | jq -r .config.hash)" = "$hash0"
check "reload-knob-failure-rolled-back-in-kernel ($(blk_threshold "$AGENT_PID") ns)" \
	"kernel threshold $(blk_threshold "$AGENT_PID"), want the running 200000000" \
	test "$(blk_threshold "$AGENT_PID")" = 200000000
check reload-knob-failure-logged-once "$(grep -c 'could not be written to the kernel' "$AGENT_LOG") lines" \
	test "$(grep -c 'could not be written to the kernel' "$AGENT_LOG")" = 1
kill -HUP "$AGENT_PID" # nothing injected any more: now it goes in
wait_for 5 bash -c "'$AOD_BIN' status --socket '$WORK/aod.sock' --json | jq -e '.config_reloads.ok == 1' >/dev/null"
check "reload-after-failure-applies ($(blk_threshold "$AGENT_PID") ns)" "kernel threshold $(blk_threshold "$AGENT_PID")" \
	test "$(blk_threshold "$AGENT_PID")" = 700000000

# 3. a second agent on the same socket refuses and changes nothing
first=$AGENT_PID progs=$(agent_prog_ids "$AGENT_PID")
timeout 20 "$AOD_BIN" agent --config "$WORK/b.yaml" > "$WORK/second.log" 2>&1
rc=$?
check "reload-second-agent-refused (exit $rc)" "exit $rc: $(tail -n 2 "$WORK/second.log")" \
	bash -c "[ $rc = 1 ] && grep -q 'another aod agent is running with it' '$WORK/second.log'"
check reload-second-agent-attached-nothing "$(grep -c 'attached' "$WORK/second.log") attach lines" \
	bash -c "! grep -q 'attached' '$WORK/second.log'"
check reload-first-agent-unharmed "status: $(status 2>&1 | head -n 1)" \
	bash -c "'$AOD_BIN' status --socket '$WORK/aod.sock' --json | jq -e '.pid == $first' >/dev/null && [ '$(agent_prog_ids "$first")' = '$progs' ]"
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=

# 4. after a kill -9 the socket is stale: the next agent takes it
start_agent "$WORK/b.yaml"
check reload-stale-socket-replaced "$(tail -n 2 "$AGENT_LOG")" \
	bash -c "'$AOD_BIN' status --socket '$WORK/aod.sock' --json | jq -e '.pid == $AGENT_PID' >/dev/null"
stop_agent

# 5. a path that is not a socket is never removed
echo "precious" > "$WORK/aod.sock"
timeout 20 "$AOD_BIN" agent --config "$WORK/b.yaml" > "$WORK/file.log" 2>&1
rc=$?
check "reload-not-a-socket-refused (exit $rc)" "$(tail -n 1 "$WORK/file.log")" \
	bash -c "[ $rc = 1 ] && grep -q 'exists and is not a socket' '$WORK/file.log' && [ \"\$(cat '$WORK/aod.sock')\" = precious ]"
