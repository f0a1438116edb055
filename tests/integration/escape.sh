#!/bin/bash
# Text shown to a person is safe: a process named with terminal escape
# sequences does the I/O behind an anomaly; its name reaches the log line,
# summary.txt and `aod bundles show` escaped, never as raw control bytes.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf escape || exit 0
make_workdir
make_loop escape 16M || exit 0
# comm is the executable's name: ESC [ 3 1 m, then "EVIL", then BEL
EVIL=$'\e[31mEVIL\a'
cp "$HELPERS/odirect_io" "$WORK/$EVIL"
cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
guardian:
  anomalies:
    evil:
      type: Latency
      tool: biolatency
      mode: trackonly
      acceptable_count: 5
      track_devices: [{device: $DEV, threshold: 0}]
      actions: [mounts]
agent:
  control_socket: $WORK/aod.sock
YAML
start_agent "$WORK/aod.yaml" || { fail escape-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
"$WORK/$EVIL" "$LOOP" 16 >/dev/null
wait_for 10 bash -c "ls '$WORK/out/batches' 2>/dev/null | grep -q '_block_latency.tar.zst$'"
b=$(ls "$WORK/out/batches" 2>/dev/null | grep '_block_latency.tar.zst$' | head -n 1)
[ -n "$b" ] || { fail escape-bundle "no bundle: $(tail -n 3 "$AGENT_LOG")"; exit 0; }
raw() { grep -c $'\e' "$1"; }
check "escape-name-reached-the-log" "the process name is not in the log: $(grep anomaly "$AGENT_LOG" | tail -n 1)" \
	grep -qF '[31mEVIL' "$AGENT_LOG"
check escape-log-has-no-raw-escapes "$(raw "$AGENT_LOG") lines with ESC in the agent log" test "$(raw "$AGENT_LOG")" = 0
tar --zstd -xOf "$WORK/out/batches/$b" --wildcards '*/summary.txt' > "$WORK/summary.txt"
check escape-summary "summary: $(grep -a EVIL "$WORK/summary.txt" | head -n 1)" \
	bash -c "grep -qF '\\x1b[31mEVIL\\x07' '$WORK/summary.txt' && ! grep -q \$'\\e' '$WORK/summary.txt'"
id=$(echo "$b" | cut -d_ -f2)
"$AOD_BIN" bundles show "$id" --dir "$WORK/out" > "$WORK/show.txt" 2>&1
check escape-bundles-show "show has raw ESC or lacks the name" \
	bash -c "grep -qF 'EVIL' '$WORK/show.txt' && ! grep -q \$'\\e' '$WORK/show.txt'"
# JSON carries it exactly (escaped the JSON way), for programs
check escape-json-exact "anomalies.jsonl: $(head -c 300 "$WORK/out/anomalies.jsonl")" \
	grep -qiF '\u001b[31mEVIL\u0007' "$WORK/out/anomalies.jsonl"
