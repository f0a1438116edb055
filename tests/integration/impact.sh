#!/bin/bash
# aod impact on the real kernel: 2N runs, interleaved (ground truth: the workload itself
# looks for an agent beside it), workload times against the workload's own clock, the
# agent's sampled RSS against /proc read independently by the workload, the CSV against
# the documented columns, the SVG well-formed with its series, "within noise" for a
# workload the agent leaves alone and "slower" for one the agent really slows (a rule
# that fires on the workload's own block I/O, with an action that holds a lock the
# workload then needs: the agent's work on the workload's path), a failing workload,
# --duration, no privileges, usage errors.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf impact || exit 0
need_tools impact xmllint awk setpriv || exit 0
make_workdir
W=$HELPERS/impact_work
DOC=$AOD_TOP/docs/impact.md
col() { # FILE NAME: the index (1-based) of column NAME in FILE's header
	head -n1 "$1" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1
}

# ---- usage errors: exit 2, a message that names the problem ----
usage_case() { # name expected-message args...
	local name=$1 msg=$2 out rc; shift 2
	out=$("$AOD_BIN" impact "$@" 2>&1 >/dev/null); rc=$?
	if [ "$rc" = 2 ] && grep -q -- "$msg" <<<"$out"; then pass "impact-usage-$name"
	else fail "impact-usage-$name" "rc $rc, message: $(head -c 200 <<<"$out")"; fi
}
usage_case no-workload "no workload" --repeat 2
usage_case repeat-zero "--repeat '0'" --repeat 0 -- /bin/true
usage_case repeat-word "--repeat 'many'" --repeat many -- /bin/true
usage_case duration "--duration '-1'" --duration -1 -- /bin/true
usage_case format "--format 'xml'" --format xml -- /bin/true
usage_case option "unrecognized option" --bogus -- /bin/true
usage_case not-found "'no-such-workload-aod': not found" -- no-such-workload-aod
mkdir -p "$WORK/full" && touch "$WORK/full/x"
usage_case outdir-not-empty "not empty" --output-dir "$WORK/full" -- /bin/true
printf 'watch_interval_sec: 0\n' > "$WORK/bad.yaml"
usage_case bad-config "watch_interval_sec" --config "$WORK/bad.yaml" -- /bin/true
out=$("$AOD_BIN" help impact); rc=$?
check impact-help "aod help impact: rc $rc" bash -c "[ $rc = 0 ] && grep -q -- '--repeat N' <<<\"\$1\"" _ "$out"

# ---- without privileges: the agent cannot start, and it says why ----
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$AOD_BIN" impact --repeat 1 -- /bin/true 2>&1); rc=$?
if [ "$rc" = 1 ] && grep -q "the agent cannot start: it needs CAP_BPF" <<<"$out"; then
	pass impact-unprivileged
elif grep -q "Permission denied" <<<"$out" && [ "$rc" = 126 ]; then
	skip impact-unprivileged "nobody cannot execute $AOD_BIN"
else fail impact-unprivileged "rc $rc: $out"; fi

# ---- the main measurement: N=5 of a fixed amount of CPU work, CSV and SVG ----
N=5
O=$WORK/o1
"$AOD_BIN" impact --repeat $N --output-dir "$O" --format csv --plot "$WORK/p.svg" \
	-- "$W" 120 > "$WORK/o1.csv" 2> "$WORK/o1.err"; rc=$?
check impact-csv-exit "rc $rc: $(tail -n 3 "$WORK/o1.err")" test "$rc" = 0

# the header is the documented one, every row has every column
doc_header=$(awk '/csv-columns/ { getline; getline; print; exit }' "$DOC")
check impact-csv-documented-header "header '$(head -n1 "$WORK/o1.csv")' vs doc '$doc_header'" \
	test "$(head -n1 "$WORK/o1.csv")" = "$doc_header"
ncols=$(head -n1 "$WORK/o1.csv" | awk -F, '{ print NF }')
bad=$(awk -F, -v n="$ncols" 'NF != n' "$WORK/o1.csv" | head -n 3)
check impact-csv-columns "rows without $ncols columns: $bad" test -z "$bad"
C_RUN=$(col "$WORK/o1.csv" run) C_WITH=$(col "$WORK/o1.csv" with_agent)
C_WALL=$(col "$WORK/o1.csv" wall_s) C_USER=$(col "$WORK/o1.csv" user_s)
C_SYS=$(col "$WORK/o1.csv" sys_s) C_PID=$(col "$WORK/o1.csv" agent_pid)
C_RSSMAX=$(col "$WORK/o1.csv" agent_rss_max_kib) C_RSS=$(col "$WORK/o1.csv" agent_rss_kib)
C_T=$(col "$WORK/o1.csv" t_s)
runs=$(grep -c '^run,' "$WORK/o1.csv")
check impact-2n-runs "$runs run rows, expected $((2 * N))" test "$runs" = $((2 * N))
outs=$(ls "$O" | grep -c '^run-[0-9][0-9]\.out$')
check impact-2n-workload-executions "$outs run-NN.out files" test "$outs" = $((2 * N))
order=$(awk -F, -v c="$C_WITH" '$1 == "run" { printf "%s", $c }' "$WORK/o1.csv")
check impact-interleaved-csv "with_agent order $order" test "$order" = 0101010101

# per run: what the workload saw (ground truth) against the report
rep() { sed -n 's/.*\b'"$2"'=\([^ ]*\).*/\1/p' "$O/run-$(printf %02d "$1").out"; }
seen= wall_bad= cpu_bad= rss_bad= pid_bad=
for i in $(seq 1 $((2 * N))); do
	row=$(awk -F, -v r="$i" '$1 == "run" && $2 == r' "$WORK/o1.csv")
	f() { cut -d, -f"$1" <<<"$row"; }
	apid=$(rep "$i" agent_pid)
	[ "$apid" = none ] && seen+=0 || seen+=1
	[ "$apid" = none ] && apid=
	[ "$apid" = "$(f "$C_PID")" ] || pid_bad+=" run $i: workload saw '$apid', report '$(f "$C_PID")'"
	# the report's wall: at least the workload's own elapsed time, and not much more
	# (exec and exit: 0.5 s + 20% on a loaded machine; under ASan, exit checks for leaks)
	el=$(rep "$i" elapsed_ns)
	awk -v w="$(f "$C_WALL")" -v e="$el" 'BEGIN { e /= 1e9; exit !(w >= e && w - e < 0.5 + 0.2 * e) }' ||
		wall_bad+=" run $i: wall $(f "$C_WALL") vs own $el ns"
	# the report's CPU (rusage): what the workload's own CPU clock says, give or take
	# a 10 ms tick and 50 ms for exec and exit
	oc=$(rep "$i" cpu_ns)
	awk -v u="$(f "$C_USER")" -v s="$(f "$C_SYS")" -v c="$oc" \
		'BEGIN { c /= 1e9; exit !(u + s >= c - 0.011 && u + s <= c + 0.05) }' ||
		cpu_bad+=" run $i: cpu $(f "$C_USER")+$(f "$C_SYS") vs own $oc ns"
	if [ -n "$apid" ]; then
		lo=$(rep "$i" rss_min_kib) hi=$(rep "$i" rss_max_kib)
		# every sample of this agent, and its max, within 25% of what /proc showed the workload
		awk -F, -v p="$apid" -v c="$C_RSS" -v m="$C_RSSMAX" -v lo="$lo" -v hi="$hi" -v pc="$C_PID" '
			$1 == "sample" && $pc == p { n++; if ($c < 0.75 * lo || $c > 1.25 * hi) bad++ }
			$1 == "run" && $pc == p { if ($m < 0.75 * lo || $m > 1.25 * hi) bad++ }
			END { exit !(n > 0 && !bad) }' "$WORK/o1.csv" ||
			rss_bad+=" run $i: workload saw $lo-$hi KiB"
	fi
done
check impact-interleaved-ground-truth "workloads saw an agent in order $seen" test "$seen" = 0101010101
check impact-agent-pid "$pid_bad" test -z "$pid_bad"
check impact-wall-from-runs "$wall_bad" test -z "$wall_bad"
check impact-cpu-from-rusage "$cpu_bad" test -z "$cpu_bad"
check impact-rss-matches-proc "$rss_bad" test -z "$rss_bad"
# samples every ~200 ms: per with-agent run at least wall/0.25 - 1 of them, t increasing
bad=$(awk -F, -v t="$C_T" -v w="$C_WALL" -v pc="$C_PID" '
	$1 == "run" && $3 == 1 { want[$pc] = $w / 0.25 - 1 }
	$1 == "sample" { if ($pc in last && $t <= last[$pc]) print "t not increasing"; last[$pc] = $t; n[$pc]++ }
	END { for (p in want) if (n[p] < want[p]) print "agent " p ": " n[p] " samples" }' "$WORK/o1.csv")
check impact-sample-period "$bad" test -z "$bad"

# the SVG: well-formed, the series there
if xmllint --noout "$WORK/p.svg" 2> "$WORK/xml.err"; then pass impact-svg-well-formed
else fail impact-svg-well-formed "$(head -n 3 "$WORK/xml.err")"; fi
cnt() { grep -c -- "$1" "$WORK/p.svg"; }
check impact-svg-series "cpu $(cnt '<polyline class="cpu"') rss $(cnt '<polyline class="rss"') \
without $(cnt '<rect class="without"') with $(cnt '<rect class="with"')" \
	test "$(cnt '<polyline class="cpu"')/$(cnt '<polyline class="rss"')/$(cnt '<rect class="without"')/$(cnt '<rect class="with"')" = "$N/$N/$N/$N"
check impact-svg-axes "axis labels missing" bash -c "grep -q 'CPU (% of one core)' '$WORK/p.svg' &&
	grep -q 'RSS (MiB)' '$WORK/p.svg' && grep -q 'wall time (s)' '$WORK/p.svg' &&
	grep -q 'time since the workload started (s)' '$WORK/p.svg'"
[ -d "$O/agent-02/out" ] && pass impact-agent-own-output-dir ||
	fail impact-agent-own-output-dir "no $O/agent-02/out"

# ---- the same workload, text: within noise ----
"$AOD_BIN" impact --repeat $N -- "$W" 120 > "$WORK/t1.txt" 2> "$WORK/t1.err"; rc=$?
verdict=$(awk '/^workload wall time/ { w = 1 } w && /verdict:/ { print; exit }' "$WORK/t1.txt")
has() { grep -q -- "$1" <<<"$2"; }
check impact-within-noise "rc $rc, $verdict" has 'verdict: within noise' "$rc $verdict"
check impact-text-sections "missing a section" bash -c "grep -q '^agent CPU: ' '$WORK/t1.txt' &&
	grep -q '^agent RSS (VmRSS' '$WORK/t1.txt' && grep -q '^output directory: +' '$WORK/t1.txt' &&
	grep -q 'loss counters (summed over runs): ringbuf_drops [0-9]' '$WORK/t1.txt' &&
	[ \$(grep -cE '^ +[0-9]+ (with|without) ' '$WORK/t1.txt') = $((2 * N)) ]"
tmpdirs=$(ls -d /var/tmp/aod-impact.* 2>/dev/null | wc -l)
check impact-tempdir-removed "$tmpdirs /var/tmp/aod-impact.* left" test "$tmpdirs" = 0

# ---- a workload the agent really slows: its own block I/O (on a loop device of its
# own) fires a rule whose action holds a lock for 4 s; the workload sleeps 2 s, then
# needs that lock. Without the agent: ~2 s; with it: until the action lets go ----
make_loop impact-slow 64M || exit 0
mkfs.ext4 -q "$LOOP" && mkdir -p "$WORK/mnt" && mount "$LOOP" "$WORK/mnt" || {
	fail impact-slow-setup "mkfs/mount $LOOP"; exit 0; }
trap 'umount "$WORK/mnt" 2>/dev/null; losetup -d "$LOOP"; rm -rf "$WORK"' EXIT
cat > "$WORK/slow.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/unused
guardian:
  anomalies:
    blocklat:
      type: Latency
      tool: biolatency
      acceptable_count: 1
      default_threshold_ms: 0
      holdoff_sec: 600
      actions: [holdlock]
store: {enabled: false}
watcher:
  actions: [mounts]
  custom_actions:
    - {name: holdlock, argv: ["/usr/bin/flock", "$WORK/lock", "/bin/sleep", "4"], timeout_sec: 10}
YAML
"$AOD_BIN" impact --repeat 3 --config "$WORK/slow.yaml" --output-dir "$WORK/o3" -- \
	"$W" -w "$WORK/mnt/io.dat" -n 64 -s 2000 -l "$WORK/lock" 1 > "$WORK/s.txt" 2> "$WORK/s.err"; rc=$?
verdict=$(awk '/^workload wall time/ { w = 1 } w && /verdict:/ { print; exit }' "$WORK/s.txt")
check impact-slower "rc $rc: $verdict $(tail -n 2 "$WORK/s.err")" has 'verdict: slower by' "$rc $verdict"
ratio=$(awk '/^workload wall time/ { w = 1 } w && /ratio with/ { print $4; exit }' "$WORK/s.txt")
check "impact-slower-ratio ($ratio)" "ratio $ratio, expected > 1.3" awk -v r="$ratio" 'BEGIN { exit !(r > 1.3) }'
# and the cause was the agent: each with-agent run wrote a bundle with the action's file
nb=$(ls "$WORK"/o3/agent-0[246]/out/batches/*.tar.zst 2>/dev/null | wc -l)
check impact-slower-cause "$nb bundles from the 3 with-agent runs" test "$nb" -ge 2

# ---- a failing workload: exit 1, the run named ----
out=$("$AOD_BIN" impact --repeat 2 -- /bin/sh -c 'echo boom >&2; exit 3' 2>&1); rc=$?
check impact-workload-fails "rc $rc: $out" has \
	'^1 aod impact: run 1 (without the agent) failed: /bin/sh exited with status 3: boom' "$rc $out"

# ---- SIGTERM mid-run (run 2, with the agent): workload and agent stopped, exit 130,
# nothing reported, nothing left. Run 1 is quick, run 2 sleeps 30 s ----
"$AOD_BIN" impact --repeat 1 -- /bin/sh -c "[ -e '$WORK/flag' ] && exec /bin/sleep 30; touch '$WORK/flag'" \
	> "$WORK/i.out" 2> "$WORK/i.err" &
IPID=$!
has_below() { [ -n "$(procs_below "$IPID" "$1")" ]; }
wait_for 60 has_below '^/bin/sleep 30 $'
agent=$(procs_below "$IPID" ' agent --config ') work=$(procs_below "$IPID" '^/bin/sleep 30 $')
kill -TERM "$IPID"; wait "$IPID"; rc=$?
left=
for p in $agent $work; do kill -0 "$p" 2>/dev/null && left+=" $p"; done
check impact-interrupted "rc $rc, agent '$agent' workload '$work', left:$left, $(cat "$WORK/i.err")" \
	test "$rc/${agent:+a}/${work:+w}/$left/$(wc -c < "$WORK/i.out")" = "130/a/w//0"

# ---- the agent dies during run 2: exit 1, and the message says how ----
"$AOD_BIN" impact --repeat 1 -- /bin/sh -c "[ -e '$WORK/flag2' ] && exec /bin/sleep 4; touch '$WORK/flag2'" \
	> /dev/null 2> "$WORK/k.err" &
IPID=$!
wait_for 60 has_below '^/bin/sleep 4 $'
agent=$(procs_below "$IPID" ' agent --config ')
[ -n "$agent" ] && kill -KILL $agent
wait "$IPID"; rc=$?
check impact-agent-died "rc $rc, agent '$agent': $(cat "$WORK/k.err")" has \
	"^1 aod impact: run 2 (with the agent): the agent was killed by signal 9" "$rc $(cat "$WORK/k.err")"

# ---- --duration: a run repeats the workload until S seconds ----
"$AOD_BIN" impact --repeat 1 --duration 1 --format csv -- "$W" 20 > "$WORK/d.csv" 2>&1; rc=$?
bad=$(awk -F, '$1 == "run" && !($4 >= 2 && $5 >= 1.0) { print "run " $2 ": " $4 " iterations, " $5 " s" }' "$WORK/d.csv")
nrun=$(grep -c '^run,' "$WORK/d.csv")
check impact-duration "rc $rc, $nrun runs: $bad" test "$rc/$nrun/$bad" = 0/2/
