#!/bin/bash
# aod health on this host, whatever its init: the JSON with every documented key, what
# happens without systemd (units, boot and deps skipped with the reason, the rest still
# there, exit 0), per-group figures against the cgroup files of a group made here, the
# kernel ring buffer as the log source, control characters escaped, the history (save,
# list, show, diff, max_files 0 keeps all), usage errors. On a host where PID 1 is
# systemd the no-systemd cases say SKIP (tests/vm/health.sh covers systemd).
set -u
. "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d /var/tmp/aod-health.XXXXXX)
CG_DIRS=() LOAD_PID=
cleanup() {
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2> /dev/null && wait "$LOAD_PID" 2> /dev/null
	for d in "${CG_DIRS[@]}"; do rmdir "$d" 2> /dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
KEYS=$AOD_TOP/tests/helpers/health_keys.sh
DOC=$AOD_TOP/docs/health.md
MARK=aod-health-test-marker-$$

cat > "$WORK/cfg.yaml" <<EOF
watch_interval_sec: 1
aod_output_dir: $WORK/aod
health:
  history_dir: $WORK/hist
  max_files: 0
  sample_ms: 200
  log_patterns:
    - {name: aod-test-marker, class: Warning, regex: "$MARK"}
EOF
sed -e 's/max_files: 0/max_files: 2/' -e "s|$WORK/hist|$WORK/hist2|" "$WORK/cfg.yaml" > "$WORK/cfg2.yaml"
H() { "$AOD_BIN" health -c "$WORK/cfg.yaml" "$@"; }
J() { jq -r "$2" "$WORK/$1" 2> /dev/null; }
systemd_pid1() { [ -d /run/systemd/system ]; }

# ---- a cgroup of our own, with a process holding 8 MiB (ground truth for resources) ----
# Its name carries an escape sequence: the text output must show it escaped.
GNAME=aod-health-test-$$-$'\e'[31m
GJSON="/aod-health-test-$$-\\x1b[31m"     # how the report names it (escaped)
make_group() {
	local v2 v1 root
	[ "$(id -u)" = 0 ] || return 1
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	v1=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ { print $5; exit }' /proc/self/mountinfo)
	for root in $v2 $v1; do
		mkdir "$root/$GNAME" 2> /dev/null || return 1
		CG_DIRS=("$root/$GNAME" "${CG_DIRS[@]}")
	done
	# join the group first, then allocate: v1 does not move charges with a process
	(for root in $v2 $v1; do echo "$BASHPID" > "$root/$GNAME/cgroup.procs" || exit 1; done
	 exec "$HELPERS/health_load" mem 8) > "$WORK/load.out" &
	LOAD_PID=$!
	wait_for 5 grep -q holding "$WORK/load.out" || return 1
	GROUP=/$GNAME GV2=$v2 GV1=$v1
	return 0
}
have_group=false
make_group && have_group=true
kmsg=false
if [ "$(id -u)" = 0 ] && echo "<4>$MARK: a line for aod health's log test" > /dev/kmsg 2> /dev/null; then kmsg=true; fi

H -o json > "$WORK/r1.json" 2> "$WORK/r1.err"; rc1=$?
if [ "$have_group" = true ]; then   # ground truth right after the report
	if [ -n "$GV1" ]; then cat "$GV1$GROUP/memory.usage_in_bytes" > "$WORK/truth.mem"
	else cat "$GV2$GROUP/memory.current" > "$WORK/truth.mem"; fi
	grep -c . "${GV2:-$GV1}$GROUP/cgroup.procs" > "$WORK/truth.tasks"
	awk '$1 == "usage_usec" { print $2 }' "$GV2$GROUP/cpu.stat" > "$WORK/truth.cpu" 2> /dev/null
fi

# ---- the report ----
why=""
jq -e 'type == "object"' "$WORK/r1.json" > /dev/null 2>&1 || why="not a JSON object: $(head -c 200 "$WORK/r1.json")"
[ -z "$why" ] && miss=$("$KEYS" "$DOC" "$WORK/r1.json" | head -n 3 | tr '\n' ' ') && [ -n "$miss" ] &&
	why="documented keys missing: $miss"
[ -z "$why" ] && [ "$(J r1.json '.resources.system.mem_total_bytes > 0')" != true ] && why="no system memory figures"
[ -z "$why" ] && [ "$(J r1.json '.resources.system.cpu_count')" -lt 1 ] && why="no CPU count"
check health-host-json "$why" test -z "$why"

if systemd_pid1; then
	skip health-host-no-systemd "PID 1 is systemd here (tests/vm/health.sh covers it)"
else
	why=""
	[ "$rc1" = 0 ] || why="exit $rc1 on a host with no failed unit: $(head -c 200 "$WORK/r1.err")"
	[ -z "$why" ] && [ "$(J r1.json .systemd.available)" != false ] && why="systemd.available is not false"
	reason=$(J r1.json .systemd.reason)
	[ -z "$why" ] && ! grep -q "PID 1 is '$(cat /proc/1/comm)'" <<< "$reason" && why="reason does not name PID 1: $reason"
	for s in units boot deps; do
		[ -z "$why" ] && [ "$(J r1.json ".$s.skipped")" != "$reason" ] && why="$s.skipped is '$(J r1.json ".$s.skipped")'"
	done
	[ -z "$why" ] && [ "$(J r1.json '.resources.skipped, .logs.skipped' | sort -u)" != null ] && why="resources or logs skipped"
	[ -z "$why" ] && [ "$(J r1.json '.errors | length')" != 0 ] && why="errors: $(J r1.json .errors)"
	# "degraded", not "healthy": the marker written to /dev/kmsg matches a pattern
	[ -z "$why" ] && [ "$(J r1.json .summary.status)" = failed ] && why="status failed"
	NO_COLOR=1 H --no-save > "$WORK/r1.txt" 2>&1
	[ -z "$why" ] && [ "$(grep -c 'not systemd' "$WORK/r1.txt")" != 1 ] && why="the text says 'not systemd' $(grep -c 'not systemd' "$WORK/r1.txt") times, want once"
	check health-host-no-systemd "$why" test -z "$why"
fi

if [ "$have_group" = true ]; then
	e=$(jq -c --arg g "$GJSON" '.resources.units[] | select(.name == $g)' "$WORK/r1.json")
	m=$(jq -r .memory_current_bytes <<< "$e" 2> /dev/null) t=$(cat "$WORK/truth.mem")
	why=""
	[ -n "$e" ] || why="group $GROUP not in resources.units"
	[ -z "$why" ] && ! awk -v a="$m" -v b="$t" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a >= 8388608 && (d <= 1048576 || d <= b / 10)) }' &&
		why="memory_current_bytes $m, the cgroup file says $t"
	[ -z "$why" ] && [ "$(jq -r .tasks <<< "$e")" != "$(cat "$WORK/truth.tasks")" ] && why="tasks $(jq -r .tasks <<< "$e"), cgroup.procs $(cat "$WORK/truth.tasks")"
	[ -z "$why" ] && [ -n "$GV1" ] && [ "$(jq -r .source.memory <<< "$e")" != v1 ] && why="memory source $(jq -r .source.memory <<< "$e") on a hybrid host"
	[ -z "$why" ] && [ -s "$WORK/truth.cpu" ] && ! awk -v a="$(jq -r .cpu_usage_usec <<< "$e")" -v b="$(cat "$WORK/truth.cpu")" \
		'BEGIN { exit !(a <= b && b - a < 1000000) }' && why="cpu_usage_usec $(jq -r .cpu_usage_usec <<< "$e"), cpu.stat $(cat "$WORK/truth.cpu")"
	[ -z "$why" ] && [ "$(J r1.json .resources.cgroup.mode)" != "$([ -n "$GV1" ] && echo hybrid || echo unified)" ] &&
		why="cgroup mode $(J r1.json .resources.cgroup.mode)"
	check health-host-cgroup "$why" test -z "$why"
else
	skip health-host-cgroup "cannot make a cgroup here (not root, or the cgroup fs is read-only)"
fi

if [ "$kmsg" = true ]; then
	why=""
	[ "$(J r1.json .logs.source)" = journal ] || [ "$(J r1.json .logs.source)" = kmsg+files ] || why="source $(J r1.json .logs.source)"
	[ -z "$why" ] && ! jq -e --arg m "$MARK" '.logs.patterns[] | select(.name == "aod-test-marker" and .count >= 1 and
		.class == "Warning" and .level == "WARNING") | .examples[] | select(contains($m))' "$WORK/r1.json" > /dev/null &&
		why="the marker written to /dev/kmsg was not counted: $(J r1.json '.logs.patterns')"
	check health-host-logs "$why" test -z "$why"
else
	skip health-host-logs "cannot write to /dev/kmsg (not root)"
fi

# ---- control characters never reach the terminal raw ----
if [ "$have_group" = true ]; then
	NO_COLOR=1 H --no-save > "$WORK/esc.txt" 2>&1
	why=""
	grep -q $'\e' "$WORK/esc.txt" && why="a raw ESC in the text output"
	[ -z "$why" ] && grep -q $'\e' "$WORK/r1.json" && why="a raw ESC in the JSON output"
	[ -z "$why" ] && ! grep -qF "aod-health-test-$$-\x1b[31m" "$WORK/esc.txt" && why="the group is not shown escaped (\\x1b)"
	check health-host-escape "$why" test -z "$why"
else
	skip health-host-escape "no cgroup with an escape sequence in its name could be made"
fi

# ---- text: 80 columns, colour only on a terminal ----
NO_COLOR=1 H --no-save > "$WORK/text.txt" 2>&1
long=$(awk 'length($0) > 80' "$WORK/text.txt" | head -n 1)
check health-host-text "a line over 80 columns or an escape when piped: $long" \
	test -z "$long" -a "$(grep -c $'\e' "$WORK/text.txt")" = 0

# ---- history ----
H -o json > "$WORK/r2.json" 2> /dev/null
H -o json > "$WORK/r3.json" 2> /dev/null
H history -o json > "$WORK/hist.json"; hrc=$?
why=""
[ "$hrc" = 0 ] || why="history exited $hrc"
[ -z "$why" ] && [ "$(J hist.json length)" != 3 ] && why="$(J hist.json length) reports listed, want 3 (max_files 0 keeps all)"
[ -z "$why" ] && [ "$(J hist.json '.[0].id')" != "$(J r3.json .id)" ] && why="newest is $(J hist.json '.[0].id'), want $(J r3.json .id)"
[ -z "$why" ] && [ "$(stat -c %a "$WORK/hist")" != 700 ] && why="history dir mode $(stat -c %a "$WORK/hist")"
[ -z "$why" ] && [ "$(stat -c %a "$WORK/hist"/report-*.json.zst | sort -u)" != 600 ] && why="report files not 0600"
[ -z "$why" ] && ! zstd -dc "$WORK/hist/report-$(J r1.json .id).json.zst" 2> /dev/null | jq -e --arg id "$(J r1.json .id)" '.id == $id' > /dev/null &&
	why="report-<id>.json.zst is not zstd-compressed JSON of that report"
check health-host-history "$why" test -z "$why"
for i in 1 2 3; do "$AOD_BIN" health -c "$WORK/cfg2.yaml" --no-save > /dev/null 2>&1; "$AOD_BIN" health -c "$WORK/cfg2.yaml" -o json > /dev/null 2>&1; done
check health-host-max-files "max_files 2 keeps $(ls "$WORK/hist2" | wc -l) files" test "$(ls "$WORK/hist2" | grep -c '^report-')" = 2
H show 2 -o json > "$WORK/show.json"; src=$?
check health-host-show "show 2 is not report 2 ($src)" test "$src" = 0 -a "$(J show.json .id)" = "$(J r2.json .id)"
H diff 3 1 -o json > "$WORK/diff.json"; drc=$?
why=""
[ "$drc" = 0 ] || why="diff exited $drc"
[ -z "$why" ] && [ "$(J diff.json '.from.id + " " + .to.id')" != "$(J r1.json .id) $(J r3.json .id)" ] && why="diff 3 1 compared $(J diff.json '.from.id + " " + .to.id')"
[ -z "$why" ] && [ "$(J diff.json 'has("new_problems") and has("resolved") and has("resource_changes")')" != true ] && why="diff lacks its keys"
check health-host-diff "$why" test -z "$why"
H show nosuch > /dev/null 2>&1
check health-host-show-missing "show of an unknown id did not exit 1" test $? = 1

# ---- parts, unit, usage ----
before=$(ls "$WORK/hist" | wc -l)
H resources -o json > "$WORK/part.json"; prc=$?
check health-host-part "resources alone: exit $prc, parts $(J part.json '.parts | join(",")'), saved $(($(ls "$WORK/hist" | wc -l) - before))" \
	test "$prc" = 0 -a "$(J part.json '.parts | join(",")')" = resources -a "$(ls "$WORK/hist" | wc -l)" = "$before"
if ! systemd_pid1; then
	H unit ssh.service -o json > "$WORK/unit.json"; urc=$?
	check health-host-unit-no-systemd "unit without systemd: exit $urc, skipped $(J unit.json .skipped)" \
		test "$urc" = 1 -a "$(J unit.json '.skipped | test("not systemd")')" = true
fi
rc_is() { # name expected-rc cmd...
	local name=$1 want=$2 out rc; shift 2
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" = "$want" ]; then pass "$name"; else fail "$name" "exit $rc (want $want): $(echo "$out" | head -c 200)"; fi
}
rc_is health-usage-unknown 2 H frobnicate
rc_is health-usage-output 2 H -o xml
rc_is health-usage-since 2 H logs --since "next tuesday"
rc_is health-usage-limit 2 H history -n x
rc_is health-usage-extra 2 H units extra
rc_is health-usage-processes 2 H history --processes
rc_is health-help 0 "$AOD_BIN" health --help
H logs --since -1h -o json > "$WORK/since.json"
check health-host-since "--since -1h: boot_only $(J since.json .logs.boot_only), since $(J since.json .logs.since)" \
	test "$(J since.json .logs.boot_only)" = false -a "$(J since.json '.logs.since != null')" = true

# ---- --processes: execs and exits during the analysis, by cgroup ----
# A shell moved into a cgroup of our own runs N commands, K of them failing (K-1 exit 1,
# one killed by SIGKILL), between two reads of a fifo, while `aod health resources
# --processes` is attached; its own counts are the ground truth. The shell stays alive until
# the report is made, so its own exit is not among them.
check_procs_keys() { # report.json of one part: prints why not, or nothing (the other parts' keys are absent)
	if ! jq -e 'type == "object"' "$1" > /dev/null 2>&1; then echo "not a JSON object: $(head -c 200 "$1")"; return; fi
	"$KEYS" "$DOC" "$1" | grep -E ': (processes|schema|id|errors|systemd|summary)' | head -n 3 | tr '\n' ' '
}
PJ() { jq -c "$2" "$WORK/$1" 2> /dev/null; }
if need_root_bpf health-processes-cgroup; then
	PN=12 PK=4 PCG=aod-health-procs-$$
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	mkfifo "$WORK/go" "$WORK/done"
	printf 'watch_interval_sec: 1\naod_output_dir: %s/aod\nhealth:\n  history_dir: %s/hist-procs\n  sample_ms: 4000\n' \
		"$WORK" "$WORK" > "$WORK/procs.yaml"
	why=""
	if [ -z "$v2" ] || ! mkdir "$v2/$PCG" 2> /dev/null; then
		why="cannot make a cgroup2 group under '$v2'"
	else
		CG_DIRS=("$v2/$PCG" "${CG_DIRS[@]}")
		(echo "$BASHPID" > "$v2/$PCG/cgroup.procs" || exit 1
		 read -r _ < "$WORK/go"
		 execs=0 failed=0
		 for ((i = 0; i < PN - PK; i++)); do /bin/true; execs=$((execs + 1)); done
		 for ((i = 0; i < PK - 1; i++)); do /bin/false || failed=$((failed + 1)); execs=$((execs + 1)); done
		 /bin/sh -c 'kill -KILL $$' || failed=$((failed + 1)); execs=$((execs + 1))
		 echo "$execs $failed" > "$WORK/procs.truth"
		 read -r _ < "$WORK/done") 2> "$WORK/workload.err" &   # (bash's "Killed" line)
		wpid=$!
		AOD_LOG_LEVEL=debug timeout 60 "$AOD_BIN" health -c "$WORK/procs.yaml" resources --processes -o json \
			> "$WORK/procs.json" 2> "$WORK/procs.err" &
		apid=$!
		if ! wait_for 20 grep -q 'health: tracing processes' "$WORK/procs.err"; then
			why="the probe did not attach in 20 s: $(grep -v libbpf "$WORK/procs.err" | tail -n 2 | tr '\n' ' ')"
		fi
		timeout 10 sh -c 'echo go > "$1"' _ "$WORK/go"
		wait_for 10 test -s "$WORK/procs.truth"
		if ! kill -0 "$apid" 2> /dev/null && [ -z "$why" ]; then
			why="the analysis ended before the workload did (no ground truth)"
		fi
		wait "$apid"; prc=$?
		timeout 10 sh -c 'echo done > "$1"' _ "$WORK/done"
		wait "$wpid"
		read -r texecs tfailed < "$WORK/procs.truth" 2> /dev/null
		e=$(jq -c --arg c "/$PCG" '.processes.units[] | select(.cgroup == $c)' "$WORK/procs.json" 2> /dev/null)
		[ -z "$why" ] && [ "$prc" != 0 ] && why="exit $prc: $(PJ procs.json '.errors')"
		[ -z "$why" ] && [ "${texecs:-} ${tfailed:-}" != "$PN $PK" ] && why="the workload counted '${texecs:-} ${tfailed:-}', want '$PN $PK'"
		[ -z "$why" ] && miss=$(check_procs_keys "$WORK/procs.json") && [ -n "$miss" ] && why="documented keys missing: $miss"
		[ -z "$why" ] && [ -z "$e" ] && why="no processes.units entry for /$PCG: $(PJ procs.json '[.processes.units[].name]')"
		[ -z "$why" ] && got=$(jq -r '"\(.execs) \(.exits) \(.failed)"' <<< "$e") &&
			[ "$got" != "$texecs $texecs $tfailed" ] && why="execs exits failed '$got', the workload ran '$texecs $texecs $tfailed'"
		[ -z "$why" ] && got=$(jq -r '[.commands[] | select(.command == "false") | "\(.execs) \(.failed)"] | join(",")' <<< "$e") &&
			[ "$got" != "$((PK - 1)) $((PK - 1))" ] && why="command false: '$got', want '$((PK - 1)) $((PK - 1))'"
		[ -z "$why" ] && [ "$(jq --arg n "/$PCG" '[.processes.failures[] | select(.name == $n and .signal == 9)] | length' "$WORK/procs.json")" != 1 ] &&
			why="no failure by signal 9 in /$PCG: $(PJ procs.json '.processes.failures')"
		[ -z "$why" ] && [ "$(J procs.json '.parts | join(",")')" != resources,processes ] && why="parts $(PJ procs.json '.parts')"
		[ -z "$why" ] && [ "$(J procs.json ".processes.execs >= $PN and .processes.lost == 0 and (.processes.mode | type) == \"string\"")" != true ] &&
			why="totals or mode wrong: $(PJ procs.json '.processes | del(.units, .failures)')"
	fi
	check health-processes-cgroup "$why" test -z "$why"
fi
if [ "$(id -u)" = 0 ] && [ -r /sys/kernel/btf/vmlinux ]; then
	NO_COLOR=1 H resources --processes > "$WORK/procs.txt" 2>&1
	long=$(awk 'length($0) > 80' "$WORK/procs.txt" | head -n 1)
	why=""
	grep -q '^== Processes during the analysis' "$WORK/procs.txt" || why="no processes section in the text"
	[ -z "$why" ] && ! grep -q 'execs, .* exits' "$WORK/procs.txt" && why="no counts line: $(sed -n '/Processes/,$p' "$WORK/procs.txt" | head -n 3)"
	[ -z "$why" ] && [ -n "$long" ] && why="a line over 80 columns: $long"
	check health-processes-text "$why" test -z "$why"
fi
why=""
[ "$(J r1.json '.processes.requested == false and (.processes.skipped | test("--processes")) and .processes.units == []')" = true ] ||
	why="without --processes: $(PJ r1.json '.processes | del(.units, .failures)')"
[ -z "$why" ] && grep -q 'Processes during' "$WORK/text.txt" && why="the text shows a processes section without --processes"
check health-processes-off "$why" test -z "$why"
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
	(cd / && setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		"$AOD_BIN" health resources --processes -o json) > "$WORK/procs-nobody.json" 2> "$WORK/procs-nobody.err"; nrc=$?
	why=""
	[ "$nrc" = 0 ] || why="exit $nrc as nobody: $(head -c 200 "$WORK/procs-nobody.err")"
	[ -z "$why" ] && miss=$(check_procs_keys "$WORK/procs-nobody.json") && [ -n "$miss" ] && why="documented keys missing: $miss"
	[ -z "$why" ] && [ "$(J procs-nobody.json '.processes.requested and (.processes.skipped | test("not root")) and .processes.error == null and .processes.units == []')" != true ] &&
		why="as nobody: $(PJ procs-nobody.json '.processes | del(.units, .failures)')"
	check health-processes-unprivileged "$why" test -z "$why"
else
	skip health-processes-unprivileged "needs root to switch to nobody"
fi

# ---- the agent's HealthReport thread: health.interval_sec makes and saves reports ----
reports_at_least() { [ "$(ls "$WORK/agent-hist" 2> /dev/null | grep -c '^report-')" -ge "$1" ]; }
if need_root_bpf health-agent-loop; then
	cat > "$WORK/agent.yaml" <<EOA
watch_interval_sec: 1
aod_output_dir: $WORK/agent-out
agent:
  control_socket: $WORK/aod.sock
health:
  history_dir: $WORK/agent-hist
  interval_sec: 1
  sample_ms: 100
EOA
	why=""
	if ! start_agent "$WORK/agent.yaml" "$WORK/agent.log"; then
		why="the agent did not start: $(tail -n 3 "$WORK/agent.log" | tr '\n' ' ')"
	elif ! wait_for 20 reports_at_least 2; then
		why="fewer than 2 reports saved in 20 s: $(ls "$WORK/agent-hist" 2> /dev/null | tr '\n' ' ')"
	fi
	t0=$(date +%s%N)
	stop_agent
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ -z "$why" ] && ! grep -q 'health: report .*: \(healthy\|degraded\|failed\)' "$WORK/agent.log" && why="no report line in the agent's log"
	[ -z "$why" ] && f=$(ls "$WORK/agent-hist"/report-*.json.zst | head -n 1) &&
		! zstd -dc "$f" | jq -e '.parts == ["units", "boot", "resources", "deps", "logs"] and (.scores | type == "object")' > /dev/null &&
		why="a saved report is not a full scored report"
	[ -z "$why" ] && [ "$ms" -gt 5000 ] && why="the agent took $ms ms to stop"
	check health-agent-loop "$why" test -z "$why"
fi
