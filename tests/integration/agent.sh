#!/bin/bash
# The agent on the real kernel of this host: block latency anomaly from real
# O_DIRECT I/O, SMB probe waiting (no cifs module here), SIGHUP with a good and
# a bad config, SIGTERM releasing the agent's own BPF links and programs.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf agent || exit 0
need_tools agent jq bpftool || exit 0
make_workdir
W=2   # watch_interval_sec

block_config() { # file threshold_ms acceptable_count
	cat > "$1" <<YAML
watch_interval_sec: $W
aod_output_dir: $WORK/out
guardian:
  anomalies:
    blocklat:
      type: Latency
      tool: biolatency
      acceptable_count: $3
      default_threshold_ms: $2
      holdoff_sec: 1
      actions: [mounts]
    smblat:
      type: Latency
      tool: smbslower
      acceptable_count: 5
      default_threshold_ms: 20
      actions: [stats]
cleanup:
  max_total_log_size_mb: 50
watcher:
  actions: [mounts]
agent:
  control_socket: $WORK/aod.sock
YAML
}

block_config "$WORK/aod.yaml" 0 5
if ! start_agent "$WORK/aod.yaml"; then
	fail agent-start "agent did not start: $(tail -n 5 "$WORK/agent.log" | tr '\n' ' ')"
	exit 0
fi
pass agent-start

# aod status: block attached, SMB waiting for the cifs module
"$AOD_BIN" status --socket "$WORK/aod.sock" > "$WORK/status.txt" 2>&1
if grep -Eq '^block +attached' "$WORK/status.txt"; then pass status-block-attached
else fail status-block-attached "$(cat "$WORK/status.txt")"; fi
if lsmod 2>/dev/null | grep -q '^cifs '; then
	skip status-smb-waiting "the cifs module is loaded on this host"
elif grep -Eq '^smb +waiting .*cifs' "$WORK/status.txt"; then pass status-smb-waiting
else fail status-smb-waiting "$(grep '^smb' "$WORK/status.txt")"; fi
"$AOD_BIN" status --socket "$WORK/aod.sock" --json | jq -e '.probes | length == 4 and (map(.name) | index("proc")) != null' >/dev/null
check status-json "status --json is not the expected JSON" test $? = 0
# The agent's own links (from its fds): block issue + complete at least, each one
# attached to one of the agent's own programs.
links=$(agent_link_ids "$AGENT_PID") progs=$(agent_prog_ids "$AGENT_PID")
links_ok() {
	local id p n=0
	for id in $links; do
		p=$(bpftool -j link show id "$id" 2>/dev/null | jq -r '.prog_id // empty')
		[[ " $progs " == *" $p "* ]] || return 1
		n=$((n + 1))
	done
	[ "$n" -ge 2 ]
}
check "links-attached (links $links)" "the agent holds links '$links' on programs '$progs'" links_ok

# Real O_DIRECT I/O on the disk behind $WORK: every op is over 0 ms.
io_end=0 io_start=$(date +%s%N)
"$HELPERS/odirect_io" "$WORK/io.dat" 64 4096 >/dev/null && io_end=$(date +%s%N)
found() { [ -s "$WORK/out/anomalies.jsonl" ] && jq -e 'select(.source=="block" and .type=="latency")' "$WORK/out/anomalies.jsonl" >/dev/null 2>&1; }
if wait_for $((6 * W)) found; then
	pass block-latency-anomaly
	seen=$(date +%s%N)
	took=$(( (seen - io_end) / 1000000 ))
	echo "block anomaly seen ${took} ms after the I/O ended (waited up to $((6 * W)) s)"
else
	fail block-latency-anomaly "no block latency anomaly within $((6 * W)) s: $(tail -n 3 "$WORK/agent.log" | tr '\n' ' ')"
fi
a=$(jq -c 'select(.source=="block")' "$WORK/out/anomalies.jsonl" 2>/dev/null | head -n1)
if echo "$a" | jq -e '.keys | length > 0 and (.[0].count >= 5)' >/dev/null 2>&1 &&
   echo "$a" | jq -e '.worst | length > 0 and (.[0].latency_ns > 0) and (.[0].comm | length > 0)' >/dev/null 2>&1; then
	pass block-anomaly-content
else
	fail block-anomaly-content "keys/worst missing: $a"
fi
# detected_ns: the agent's clock when it saw the condition, after the event
# time (id) and between the I/O's start and the moment this test read the line.
check anomaly-detected-time "detected_ns not in [id, io start .. seen]: $a" \
	jq -e --argjson lo "$io_start" --argjson hi "${seen:-0}" \
	'.detected_ns >= .id and .detected_ns >= $lo and .detected_ns <= $hi' <<< "$a" >/dev/null
grep -q 'anomaly id=.* source=block type=latency' "$WORK/agent.log"
check anomaly-log-line "no one-line anomaly log" test $? = 0

# SIGHUP with a bad config: logged, agent keeps running on the old config.
hash_before=$("$AOD_BIN" status --socket "$WORK/aod.sock" --json | jq -r .config.hash)
cp "$WORK/aod.yaml" "$WORK/good.yaml"
printf 'watch_interval_sec: 1\nguardian:\n  anomalies:\n    x:\n      type: Latency\n      tool: biolatency\n      acceptable_cont: 3\n' >> "$WORK/aod.yaml"
kill -HUP "$AGENT_PID"
wait_for 10 grep -q 'config reload failed' "$WORK/agent.log"
if kill -0 "$AGENT_PID" 2>/dev/null && grep -q 'config reload failed' "$WORK/agent.log" &&
   [ "$("$AOD_BIN" status --socket "$WORK/aod.sock" --json | jq -r .config.hash)" = "$hash_before" ]; then
	pass sighup-bad-config-kept
else
	fail sighup-bad-config-kept "$(grep -i reload "$WORK/agent.log" | tail -n 2 | tr '\n' ' ')"
fi
# SIGHUP with a good config: a 1 s threshold stops further anomalies, and the
# new threshold reaches the kernel's maps without reloading any program; back
# to 0 ms, the same I/O fires again.
reloads_ok() { [ "$("$AOD_BIN" status --socket "$WORK/aod.sock" --json | jq '.config_reloads.ok')" = "$1" ]; }
nanom() { wc -l < "$WORK/out/anomalies.jsonl"; }
progs_before=$(agent_prog_ids "$AGENT_PID")
block_config "$WORK/aod.yaml" 1000 5
# the rest of the first burst fires once the rule's quiet window (W) is over
sleep $((W + 1))
n_before=$(nanom)
kill -HUP "$AGENT_PID"
wait_for 10 reloads_ok 1; raised=$?
"$HELPERS/odirect_io" "$WORK/io.dat" 64 4096 >/dev/null; sleep $((2 * W))
n_after=$(nanom)
block_config "$WORK/aod.yaml" 0 5
kill -HUP "$AGENT_PID"
wait_for 10 reloads_ok 2; lowered=$?
"$HELPERS/odirect_io" "$WORK/io.dat" 64 4096 >/dev/null
more() { [ "$(nanom)" -gt "$n_after" ]; }
wait_for $((3 * W)) more
n_again=$(nanom)
if [ "$raised" != 0 ] || ! grep -q 'config reloaded' "$WORK/agent.log"; then
	fail sighup-reload-thresholds "no successful reload within 10 s of SIGHUP"
elif [ "$n_after" != "$n_before" ]; then
	fail sighup-reload-thresholds "anomalies $n_before -> $n_after after raising the threshold to 1 s"
elif [ "$lowered" != 0 ]; then
	fail sighup-reload-thresholds "the second reload (threshold back to 0) did not succeed within 10 s"
elif [ "$n_again" -le "$n_after" ]; then
	fail sighup-reload-thresholds "no anomaly within $((3 * W)) s of the I/O after lowering the threshold to 0 again"
else
	pass "sighup-reload-thresholds (anomalies $n_before, $n_after at 1 s, $n_again at 0 ms)"
fi
progs_after=$(agent_prog_ids "$AGENT_PID")
check "sighup-programs-not-reloaded (ids $progs_after)" "before: $progs_before after: $progs_after" \
	test -n "$progs_before" -a "$progs_before" = "$progs_after"

# SIGTERM: stops within 2 s, and the agent's links and programs are gone.
links=$(agent_link_ids "$AGENT_PID") progs=$(agent_prog_ids "$AGENT_PID")
t0=$(date +%s%N)
kill -TERM "$AGENT_PID"
stopped=no
for _ in $(seq 1 40); do kill -0 "$AGENT_PID" 2>/dev/null || { stopped=yes; break; }; sleep 0.05; done
t_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$AGENT_PID"; rc=$?
AGENT_PID=
if [ $stopped = yes ] && [ $rc = 0 ]; then pass "sigterm-stop (${t_ms} ms)"
else fail sigterm-stop "still running after 2 s or exit $rc"; fi
check links-released "links '$links' still exist after the stop" wait_for 5 bpf_ids_gone link $links
check progs-released "programs '$progs' still exist after the stop" wait_for 5 bpf_ids_gone prog $progs
check socket-removed "control socket left behind" test ! -e "$WORK/aod.sock"
