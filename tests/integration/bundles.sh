#!/bin/bash
# Bundles on the real kernel: a block anomaly -> a tar.zst with manifest,
# summary, events and every action's file; action timeout and missing binary;
# snapshots (SIGUSR1 and `aod snapshot`); `aod bundles`; holdoff and the
# limit of concurrent actions during an anomaly storm; kill -9 mid-collection.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf bundles || exit 0
make_workdir
command -v zstd >/dev/null || { skip bundles "zstd binary missing (tar --zstd needs it)"; exit 0; }

config() { # file holdoff extra-custom-actions-yaml rule-actions
	cat > "$1" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
guardian:
  anomalies:
    blocklat:
      type: Latency
      tool: biolatency
      acceptable_count: 5
      default_threshold_ms: 0
      holdoff_sec: $2
      actions: $4
cleanup:
  max_total_log_size_mb: 100
store: {enabled: false}   # this rule counts every I/O of every disk: the store's own too
watcher:
  actions: [mounts, stats]
  max_concurrent_tasks: 4
  custom_actions:
$3
agent:
  control_socket: $WORK/aod.sock
YAML
}
bundles() { ls "$WORK/out/batches" 2>/dev/null | grep -E '^aod_[0-9]+_[a-z0-9]+_[a-z0-9]+\.tar\.zst$'; }
nbundles() { bundles | grep -c "$1"; }
io() { "$HELPERS/odirect_io" "$WORK/io.dat" 32 4096 >/dev/null; }

# 1. anomaly -> bundle, with a slow action (timeout) and a missing binary
config "$WORK/a.yaml" 60 '    - {name: slowcmd, argv: ["/bin/sleep", "30"], timeout_sec: 2}
    - {name: nosuch, argv: ["/nonexistent/aod-tool", "--x"]}' '[mounts, stats, dmesg, slowcmd, nosuch]'
start_agent "$WORK/a.yaml" || { fail bundle-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
io
t_anomaly=
wait_for 4 test -s "$WORK/out/anomalies.jsonl" && t_anomaly=$(date +%s%N)
if wait_for 6 bash -c "ls '$WORK/out/batches' 2>/dev/null | grep -q '_block_latency.tar.zst$'"; then
	took=$(( ($(date +%s%N) - t_anomaly) / 1000000 ))
	# timeout 2 s + 2 s: the bundle is complete although slowcmd would run 30 s
	check "bundle-within-timeout+2s (${took} ms)" "bundle took ${took} ms" test "$took" -le 4000
else
	fail bundle-written "no block latency bundle: $(grep -i bundle "$WORK/agent.log" | tail -n 3)"
fi
b=$(bundles | grep _block_latency | head -n1)
if [ -n "$b" ]; then
	list=$(tar --zstd -tf "$WORK/out/batches/$b" 2>&1)
	missing=
	for f in manifest.json summary.txt events.jsonl aod-status.json mounts stats dmesg slowcmd meminfo pressure loadavg diskstats processes sockets; do
		echo "$list" | grep -q "/$f" || missing="$missing $f"
	done
	check bundle-contents "missing:$missing (have: $(echo $list))" test -z "$missing"
	mkdir -p "$WORK/x" && tar --zstd -xf "$WORK/out/batches/$b" -C "$WORK/x"
	m=$(find "$WORK/x" -name manifest.json | head -n1)
	jq -e '.anomaly.source == "block" and .anomaly.type == "latency" and .anomaly.rule == "blocklat"' "$m" >/dev/null
	check manifest-anomaly "manifest anomaly fields wrong" test $? = 0
	jq -e '[.actions[] | select(.name == "slowcmd")][0] | .timed_out == true' "$m" >/dev/null
	check manifest-timed-out "slowcmd not marked timed_out: $(jq -c '.actions[] | select(.name=="slowcmd")' "$m")" test $? = 0
	jq -e '[.actions[] | select(.name == "nosuch")][0] | (.error | test("not found|No such"))' "$m" >/dev/null
	check manifest-missing-binary "nosuch: $(jq -c '.actions[] | select(.name=="nosuch")' "$m")" test $? = 0
	jq -e '[.actions[] | select(.name == "mounts")][0] | .exit_code == 0 and .bytes > 0 and .timed_out == false' "$m" >/dev/null
	check manifest-action-ok "mounts: $(jq -c '.actions[] | select(.name=="mounts")' "$m")" test $? = 0
	jq -e '.aod_version and .hostname and .kernel and .config.hash' "$m" >/dev/null
	check manifest-host "version/host/kernel/config hash missing" test $? = 0
	s=$(find "$WORK/x" -name summary.txt | head -n1)
	grep -q blocklat "$s" && grep -qi 'timed out' "$s"
	check summary-explains "summary lacks the rule or the timed-out action" test $? = 0
	e=$(find "$WORK/x" -name events.jsonl | head -n1)
	check events-jsonl "events.jsonl empty" test -s "$e"
	perms=$(stat -c %a "$WORK/out/batches/$b")
	check bundle-mode-0600 "mode $perms" test "$perms" = 600
	check batches-mode-0700 "mode $(stat -c %a "$WORK/out/batches")" test "$(stat -c %a "$WORK/out/batches")" = 700
	inner=$(tar --zstd -tvf "$WORK/out/batches/$b" | awk '{print $1}' | sort -u | tr '\n' ' ')
	check archive-modes "modes inside: $inner" bash -c "! echo '$inner' | grep -qE -- '-r..r|-...r..r|d...r'"
fi

# 2. snapshots: SIGUSR1 and aod snapshot; aod bundles lists and shows them
kill -USR1 "$AGENT_PID"
wait_for 15 bash -c "ls '$WORK/out/batches' | grep -q '_manual_manual.tar.zst$'"
check snapshot-sigusr1 "no manual bundle after SIGUSR1" test "$(nbundles _manual_manual)" -ge 1
"$AOD_BIN" snapshot --socket "$WORK/aod.sock" >/dev/null
wait_for 15 bash -c "[ \$(ls '$WORK/out/batches' | grep -c '_manual_manual.tar.zst$') -ge 2 ]"
check snapshot-command "aod snapshot wrote no second manual bundle" test "$(nbundles _manual_manual)" -ge 2
"$AOD_BIN" bundles --dir "$WORK/out" > "$WORK/list.txt" 2>&1
check bundles-list "aod bundles: $(head -c 300 "$WORK/list.txt")" grep -q block "$WORK/list.txt"
id=$(bundles | grep _block_latency | head -n1 | cut -d_ -f2)
"$AOD_BIN" bundles show "$id" --dir "$WORK/out" > "$WORK/show.txt" 2>&1
check bundles-show "aod bundles show: $(head -c 300 "$WORK/show.txt")" grep -q blocklat "$WORK/show.txt"
"$AOD_BIN" bundles show 12345 --dir "$WORK/out" >/dev/null 2>&1
check bundles-show-unknown "unknown id did not fail with 1" test $? = 1
stop_agent

# 3. storm: holdoff 30 s, 10 actions of 1 s each: at most 4 at once, observed
rm -rf "$WORK/out"
customs=
for i in $(seq 1 10); do customs+="    - {name: nap$i, argv: [\"/bin/sleep\", \"1.$i\"], timeout_sec: 5}"$'\n'; done
config "$WORK/b.yaml" 30 "$customs" "[nap1, nap2, nap3, nap4, nap5, nap6, nap7, nap8, nap9, nap10]"
start_agent "$WORK/b.yaml" || { fail storm-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
peak=0
for round in 1 2 3 4 5; do
	io
	for _ in $(seq 1 10); do
		n=$(pgrep -c -f '^/bin/sleep 1\.[0-9]+$' || true)
		[ "$n" -gt "$peak" ] && peak=$n
		sleep 0.1
	done
done
wait_for 10 bash -c "[ \$(ls '$WORK/out/batches' 2>/dev/null | grep -c '_block_latency.tar.zst$') -ge 1 ]"
sleep 4
anoms=$(jq -s 'map(select(.source=="block")) | length' "$WORK/out/anomalies.jsonl")
nb=$(nbundles _block_latency)
st=$("$AOD_BIN" status --socket "$WORK/aod.sock" --json)
held=$(echo "$st" | jq '.collector.suppressed + .collector.coalesced')
agent_peak=$(echo "$st" | jq '.collector.max_concurrent_peak')
check "storm-holdoff ($anoms anomalies, $nb bundle)" "anomalies $anoms bundles $nb held $held" \
	test "$anoms" -ge 3 -a "$nb" = 1 -a "$held" -ge 2
check "storm-max-4-actions (observed $peak processes, agent peak $agent_peak)" \
	"peak $peak / $agent_peak" test "$peak" -le 4 -a "$peak" -ge 3 -a "$agent_peak" = 4
stop_agent

# 4. kill -9 in the middle of a collection, then restart: nothing half written
rm -rf "$WORK/out"
config "$WORK/c.yaml" 60 '    - {name: long, argv: ["/bin/sleep", "30"], timeout_sec: 20}' '[long]'
start_agent "$WORK/c.yaml" || { fail kill9-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
io
wait_for 6 bash -c "ls -a '$WORK/out/batches' 2>/dev/null | grep -q '^.staging-'"
staged=$(ls -a "$WORK/out/batches" 2>/dev/null | grep -c '^.staging-')
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
pkill -f '^/bin/sleep 30$' 2>/dev/null
check kill9-during-collection "no staging dir seen before the kill" test "$staged" -ge 1
check kill9-no-partial-bundle "a bundle is visible: $(bundles)" test -z "$(bundles)"
start_agent "$WORK/c.yaml" || fail kill9-restart "agent did not restart"
sleep 1
left=$(ls -a "$WORK/out/batches" | grep -cE '^\.(staging-|aod_)' || true)
check kill9-staging-cleaned "$left leftovers after restart" test "$left" = 0
stop_agent
