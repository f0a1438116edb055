#!/bin/bash
# Running as a service: sd_notify READY/WATCHDOG/STOPPING on a real notify
# socket, refusal without privileges, the systemd unit verified by
# systemd-analyze, and SIGTERM in the middle of a collection (stops within 5 s,
# the bundle in progress finished and marked partial).
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf service || exit 0
need_tools service jq tar zstd setpriv || exit 0
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
"$HELPERS/notify_listen" "$WORK/notify.sock" 60 > "$WORK/notify.txt" &
lpid=$!
wait_for 10 test -S "$WORK/notify.sock"
NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=400000 "$AOD_BIN" agent --config "$WORK/aod.yaml" > "$WORK/agent.log" 2>&1 &
apid=$!
notes() { grep -cx "$1" "$WORK/notify.txt"; }
pinged() { [ "$(notes WATCHDOG=1)" -ge 3 ]; }
wait_for 20 grep -qx 'READY=1' "$WORK/notify.txt"
wait_for 20 pinged   # every 0.2 s once ready
kill -TERM "$apid"; wait "$apid"; rc=$?
wait_for 5 grep -qx 'STOPPING=1' "$WORK/notify.txt"
kill "$lpid"; wait "$lpid" 2>/dev/null
check sd-notify-ready "no READY=1: $(tr '\n' ' ' < "$WORK/notify.txt")" grep -qx 'READY=1' "$WORK/notify.txt"
wd=$(notes WATCHDOG=1)
check "sd-notify-watchdog ($wd pings at WATCHDOG_USEC=0.4 s)" "only $wd WATCHDOG=1 within 20 s of READY=1" test "$wd" -ge 3
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
if need_tools systemd-unit-verifies systemd-analyze; then
	sed "s|/usr/local/bin/aod|$AOD_BIN|g; s|/etc/aod/aod.yaml|$WORK/aod.yaml|g" \
		"$AOD_TOP/packaging/aod.service" > "$WORK/aod.service"
	out=$(systemd-analyze verify "$WORK/aod.service" 2>&1)
	check systemd-unit-verifies "$out" test -z "$out"
fi
# each key with the value that matters (an ERE for the rest of the line)
bad=
for kv in 'Type=notify$' 'WatchdogSec=[1-9][0-9]*$' 'NoNewPrivileges=yes$' 'ProtectSystem=strict$' \
	'PrivateTmp=yes$' 'ReadWritePaths=/var/log/aod /run/aod$' \
	'CapabilityBoundingSet=(.* )?CAP_BPF( |$)' 'CapabilityBoundingSet=(.* )?CAP_PERFMON( |$)'; do
	grep -Eq "^$kv" "$AOD_TOP/packaging/aod.service" || bad="$bad ${kv%%\$}"
done
check unit-hardening-keys "packaging/aod.service lacks:$bad" test -z "$bad"

# SIGTERM during a collection: stop within 5 s, bundle finished as partial
start_agent "$WORK/aod.yaml" || { fail term-agent-start "$(tail -n 3 "$AGENT_LOG")"; exit 0; }
"$HELPERS/odirect_io" "$WORK/io.dat" 32 4096 >/dev/null
# the action, found among the agent's own descendants (pid and start time: one process)
action_running() { act=$(procs_below "$AGENT_PID" '^/bin/sleep 60 $' | head -n 1); [ -n "$act" ]; }
act=
wait_for 20 action_running
act_start=$(proc_start "${act:-0}")
t0=$(date +%s%N)
kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; rc=$?; AGENT_PID=
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "term-during-collection-stops (${ms} ms)" "took $ms ms, exit $rc" test "$ms" -le 5000 -a "$rc" = 0
action_gone() { [ "$(proc_start "$act")" != "$act_start" ]; }
if [ -z "$act" ] || [ -z "$act_start" ]; then
	fail term-action-killed "the action /bin/sleep 60 was not seen among the agent's descendants within 20 s, before the TERM"
else
	check "term-action-killed (pid $act)" "the action (pid $act) outlived the agent by 2 s" wait_for 2 action_gone
fi
b=$(ls "$WORK/out/batches" 2>/dev/null | grep -E '^aod_[0-9]+_block_latency.tar.zst$' | head -n1)
if [ -n "$b" ]; then
	tar --zstd -xOf "$WORK/out/batches/$b" --wildcards '*/manifest.json' | jq -e '.partial == true' >/dev/null
	check term-bundle-partial "bundle not marked partial" test $? = 0
else
	fail term-bundle-partial "no bundle written at stop: $(ls -a "$WORK/out/batches" 2>/dev/null | tr '\n' ' ')"
fi
left=$(ls -a "$WORK/out/batches" 2>/dev/null | grep -cE '^\.(staging-|aod_)' || true)
check term-nothing-half-written "$left staging/tmp leftovers" test "$left" = 0
