#!/bin/bash
# SMB rules on the host, driven by events recorded in the SMB VM
# (tests/data/smb-vm-netem.jsonl: netem 50 ms on lo, every command ~100-200 ms).
set -u
. "$(dirname "$0")/lib.sh"
need_tools replay-smb jq || exit 0
REC=$AOD_TOP/tests/data/smb-vm-netem.jsonl
WORK=$(mktemp -d /var/tmp/aod-replay.XXXXXX); trap 'rm -rf "$WORK"' EXIT
mkcfg() { # file threshold_ms
	cat > "$1" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
guardian:
  anomalies:
    smblat:
      type: Latency
      tool: smbslower
      acceptable_count: 3
      default_threshold_ms: $2
YAML
}
mkcfg "$WORK/20.yaml" 20; mkcfg "$WORK/500.yaml" 500
"$AOD_BIN" replay "$REC" --config "$WORK/20.yaml" --json > "$WORK/20.jsonl" 2>"$WORK/20.err"; rc=$?
check replay-vm-recording-runs "exit $rc: $(cat "$WORK/20.err")" test $rc = 0
n=$(jq -s 'map(select(.source == "smb" and .type == "latency")) | length' "$WORK/20.jsonl")
cmds=$(jq -r '.keys[].key' "$WORK/20.jsonl" | sort -u | tr '\n' ' ')
check "replay-vm-20ms-fires ($n anomalies: $cmds)" "no SMB latency anomaly" test "$n" -ge 1
check replay-vm-names-commands "keys: $cmds" bash -c "echo '$cmds' | grep -q SMB2_WRITE && echo '$cmds' | grep -q SMB2_READ"
jq -e '.worst[0].latency_ns >= 90000000 and (.worst[0].comm | length > 0)' "$WORK/20.jsonl" >/dev/null 2>&1
check replay-vm-worst-events "worst events lack latency/comm" test $? = 0
"$AOD_BIN" replay "$REC" --config "$WORK/500.yaml" --json > "$WORK/500.jsonl" 2>"$WORK/500.err"; rc=$?
m=$(grep -c '"source":"smb"' "$WORK/500.jsonl")
check "replay-vm-500ms-silent ($m)" "exit $rc, $m anomalies at 500 ms: $(head -c 200 "$WORK/500.err")" test "$rc" = 0 -a "$m" = 0
