#!/bin/bash
# Running as a service: sd_notify READY/WATCHDOG/STOPPING on a real notify
# socket, refusal without privileges, the systemd unit verified by
# systemd-analyze, and SIGTERM in the middle of a collection (stops within 5 s,
# the bundle in progress finished and marked partial).
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf service || exit 0
make_workdir
cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
guardian:
  anomalies:
    blocklat: {type: Latency, tool: biolatency, acceptable_count: 5, default_threshold_ms: 0, actions: [mounts, long]}
watcher:
  custom_actions:
    - {name: long, argv: ["/bin/sleep", "60"], timeout_sec: 50}
agent:
  control_socket: $WORK/aod.sock
YAML
chmod 644 "$WORK/aod.yaml"; chmod 755 "$WORK"

# sd_notify protocol, against a listening datagram socket
"$HELPERS/notify_listen" "$WORK/notify.sock" 6 > "$WORK/notify.txt" &
lpid=$!; sleep 0.3
NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=400000 "$AOD_BIN" agent --config "$WORK/aod.yaml" > "$WORK/agent.log" 2>&1 &
apid=$!
sleep 2.5
kill -TERM "$apid"; wait "$apid"; rc=$?
wait "$lpid"
check sd-notify-ready "no READY=1: $(tr '\n' ' ' < "$WORK/notify.txt")" grep -qx 'READY=1' "$WORK/notify.txt"
wd=$(grep -cx 'WATCHDOG=1' "$WORK/notify.txt")
check "sd-notify-watchdog ($wd pings in 2.5 s at WATCHDOG_USEC=0.4 s)" "only $wd WATCHDOG=1" test "$wd" -ge 3
check sd-notify-stopping "no STOPPING=1" grep -qx 'STOPPING=1' "$WORK/notify.txt"
check clean-exit "exit $rc" test "$rc" = 0

# without CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN: refuses, names what is missing
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$AOD_BIN" agent --config "$WORK/aod.yaml" 2>&1); rc=$?
if [ "$rc" = 1 ] && echo "$out" | grep -q 'CAP_BPF' && echo "$out" | grep -q 'CAP_PERFMON'; then
	pass refuses-without-privileges
else
	fail refuses-without-privileges "exit $rc: $out"
fi

# the unit file, with the binary path of this build
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/local/bin/aod|$AOD_BIN|g; s|/etc/aod/aod.yaml|$WORK/aod.yaml|g" \
		"$AOD_TOP/packaging/aod.service" > "$WORK/aod.service"
	out=$(systemd-analyze verify "$WORK/aod.service" 2>&1)
	check systemd-unit-verifies "$out" test -z "$out"
	for k in Type=notify ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes CapabilityBoundingSet= ReadWritePaths= WatchdogSec=; do
		grep -q "^$k" "$AOD_TOP/packaging/aod.service" || fail "unit-has-$k" "missing"
	done
	pass unit-hardening-keys
else
	skip systemd-unit-verifies "systemd-analyze not installed"
fi

# SIGTERM during a collection: stop within 5 s, bundle finished as partial
start_agent "$WORK/aod.yaml" || { fail term-agent-start "$(tail -n 3 "$AGENT_LOG")"; exit 0; }
"$HELPERS/odirect_io" "$WORK/io.dat" 32 4096 >/dev/null
wait_for 6 pgrep -f '^/bin/sleep 60$' >/dev/null
t0=$(date +%s%N)
kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; rc=$?; AGENT_PID=
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "term-during-collection-stops (${ms} ms)" "took $ms ms, exit $rc" test "$ms" -le 5000 -a "$rc" = 0
check term-action-killed "the action outlived the agent" bash -c "! pgrep -f '^/bin/sleep 60$' >/dev/null"
b=$(ls "$WORK/out/batches" 2>/dev/null | grep -E '^aod_[0-9]+_block_latency.tar.zst$' | head -n1)
if [ -n "$b" ]; then
	tar --zstd -xOf "$WORK/out/batches/$b" --wildcards '*/manifest.json' | jq -e '.partial == true' >/dev/null
	check term-bundle-partial "bundle not marked partial" test $? = 0
else
	fail term-bundle-partial "no bundle written at stop: $(ls -a "$WORK/out/batches" 2>/dev/null | tr '\n' ' ')"
fi
left=$(ls -a "$WORK/out/batches" 2>/dev/null | grep -cE '^\.(staging-|aod_)' || true)
check term-nothing-half-written "$left staging/tmp leftovers" test "$left" = 0
