#!/bin/bash
# aod health against a real systemd: Debian's kernel in QEMU (TCG), the host's root over 9p
# with a tmpfs overlay, and /lib/systemd/systemd as PID 1 with a real journal (sysvm/).
# Test units installed before boot: a unit that fails, a flapping one, a socket whose
# service fails, a socket that refuses, a timer whose service fails, a unit whose Requires=
# dependency fails, a Requires= cycle, a service OOM-killed by its MemoryMax, a segfault, a
# unit doing I/O, one with steady memory. ONE boot runs tests/vm/_guest-health.sh (four
# reports, ground truth read directly next to each); this script judges on the host.
#
#   tests/vm/health.sh                 boot and judge
#   tests/vm/health.sh --eval RUNDIR   judge a previous run again (no boot)
#
# Env: AOD_BIN (default build/aod), SMBVM_DIR (default /var/tmp/aod-smbvm; the kernel and
# initramfs of tests/vm/smbvm are reused, runs go to $SMBVM_DIR/health-runs/).
# Always exits 0: the verdicts are the PASS/FAIL/SKIP lines (see tests/run-all.sh).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${AOD_TOP:-$(cd "$HERE/../.." && pwd)}
AOD=${AOD_BIN:-$TOP/build/aod}
BUILD=${AOD_BUILD:-build}
LOAD=$TOP/$BUILD/tests/health_load
export SMBVM_DIR=${SMBVM_DIR:-/var/tmp/aod-smbvm}
VM_TIMEOUT=${AOD_HEALTH_VM_TIMEOUT:-600}  # TCG only here (no usable KVM): a loaded host makes the guest slow
MIB=1048576
CASES="health-vm-boot health-vm-json health-vm-exit health-vm-failed health-vm-oom health-vm-segfault
health-vm-flapping health-vm-socket health-vm-timer health-vm-dependency health-vm-cycle
health-vm-journal-lines health-vm-io health-vm-memory health-vm-boot-times health-vm-blame
health-vm-critical-chain health-vm-history health-vm-diff health-vm-score health-vm-text health-vm-unit
health-vm-rule-bundle health-vm-processes"

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
skip() { echo "SKIP: $1: $2"; }
info() { echo "INFO: $*"; }
skip_all() { local c; for c in $CASES; do skip "$c" "$1"; done; exit 0; }
fail_first() {
	local c
	fail health-vm-boot "$1"
	for c in $CASES; do [ "$c" = health-vm-boot ] || skip "$c" "not run (see health-vm-boot)"; done
	exit 0
}

boot() { # sets RUN
	local t0 rc why
	[ "$(id -u)" = 0 ] || skip_all "needs root (qemu, the VM's artifacts)"
	[ -x "$AOD" ] || fail_first "no aod binary at $AOD (run make)"
	[ -x "$LOAD" ] || fail_first "no $LOAD (make tests-build)"
	[ -x /lib/systemd/systemd ] || fail_first "no /lib/systemd/systemd on the host (apt-get install systemd)"
	mkdir -p "$SMBVM_DIR/health-runs" || fail_first "cannot create $SMBVM_DIR"
	RUN=$(mktemp -d "$SMBVM_DIR/health-runs/$(date +%Y%m%d-%H%M%S).XXXX")
	ls -1d "$SMBVM_DIR"/health-runs/*/ 2> /dev/null | head -n -5 | while read -r d; do rm -rf "$d"; done
	info "run dir $RUN"
	mkdir -p "$RUN/out"
	if ! "$HERE/smbvm/setup.sh" > "$RUN/setup.log" 2>&1; then
		why=$(grep '^setup: ' "$RUN/setup.log" | tail -n 1)
		command -v qemu-system-x86_64 > /dev/null ||
			skip_all "QEMU is not installable here: ${why:-see $RUN/setup.log}"
		fail_first "VM setup failed: ${why:-$(tail -n 1 "$RUN/setup.log")} (log: $RUN/setup.log)"
	fi
	t0=$(date +%s)
	"$HERE/sysvm/run.sh" -t "$VM_TIMEOUT" -o "$RUN/out" -j "$HERE/_guest-health.sh" -a "$AOD" -l "$LOAD" \
		> "$RUN/console.log" 2>&1
	rc=$?
	echo "$rc" > "$RUN/vm.rc"
	info "VM: exit $rc after $(($(date +%s) - t0)) s"
}

# ------------------------------------------------------------------------------ helpers --
F() { awk -v k="$1" 'index($0, k "=") == 1 { v = substr($0, length(k) + 2) } END { print v }' "$OUT/facts" 2> /dev/null; }
J() { jq -r "$2" "$OUT/$1" 2> /dev/null; }            # file filter
SP() { # file unit property: from systemctl show's blocks (one per unit, properties in any order)
	awk -v u="$2" -v k="$3" 'BEGIN { RS = "" } { id = ""; v = ""
		for (i = 1; i <= NF; i++) { if ($i ~ /^Id=/) id = substr($i, 4); if (index($i, k "=") == 1) v = substr($i, length(k) + 2) }
		if (id == u) print v }' FS='\n' "$OUT/$1"
}
T() { SP "$1/units.txt" "$2" "$3"; }       # truthN unit property
entry() { # run list unit: the unit's entry in units.<list>
	jq -c --arg u "$3" ".units.$2[] | select(.name == \$u)" "$OUT/run$1.json" 2> /dev/null | head -n 1
}
check() { # case verdict-message (empty = PASS)
	if [ -z "$2" ]; then pass "$1"; else fail "$1" "$2"; fi
}

c_boot() {
	local why=""
	[ -f "$OUT/facts" ] || why="the guest job never ran (console: $(tail -n 3 "$RUN/console.log" | tr '\n' ' '))"
	[ -z "$why" ] && [ -z "$(F end)" ] && why="the guest job did not finish (job.log: $(tail -n 2 "$OUT/job.log" | tr '\n' ' '))"
	[ -z "$why" ] && grep -q '=timeout' "$OUT/facts" && why="a test unit never got to its state: $(grep '=timeout' "$OUT/facts" | tr '\n' ' ')"
	check health-vm-boot "$why"
}

c_json() {
	local n why="" miss
	for n in 1 2 3 4; do
		jq -e 'type == "object"' "$OUT/run$n.json" > /dev/null 2>&1 || { why="run$n.json is not a JSON object"; break; }
		miss=$("$TOP/tests/helpers/health_keys.sh" "$TOP/docs/health.md" "$OUT/run$n.json" | head -n 3 | tr '\n' ' ')
		[ -n "$miss" ] && { why="run$n.json lacks documented keys: $miss"; break; }
	done
	[ -z "$why" ] && [ "$(J run1.json '.systemd.available')" != true ] && why="systemd.available is not true"
	[ -z "$why" ] && [ "$(J run1.json '.units.skipped')" != null ] && why="units skipped: $(J run1.json .units.skipped)"
	[ -z "$why" ] && [ "$(J run1.json '.logs.source')" != journal ] && why="logs.source $(J run1.json .logs.source), not journal"
	check health-vm-json "$why"
}

c_exit() {
	local why=""
	[ "$(F run1.rc)" = 1 ] || why="aod health exited $(F run1.rc) with failed units (want 1)"
	[ -z "$why" ] && [ "$(F units.rc)" != 1 ] && why="aod health units exited $(F units.rc) (want 1)"
	[ -z "$why" ] && [ "$(J run1.json '.summary.status')" != failed ] && why="summary.status $(J run1.json .summary.status)"
	check health-vm-exit "$why"
}

c_failed() {
	local u e why="" r t
	for u in aod-fail.service aod-dep-fail.service aod-timer.service aod-segv.service aod-sock.socket; do
		e=$(entry 1 failed "$u")
		[ -n "$e" ] || { why="$u not in units.failed"; break; }
		r=$(jq -r .result <<< "$e") t=$(T truth1 "$u" Result)
		[ "$r" = "$t" ] || { why="$u result '$r', systemctl show says '$t'"; break; }
	done
	[ -z "$why" ] && [ "$(jq -r .result <<< "$(entry 1 failed aod-fail.service)")" != exit-code ] && why="aod-fail.service result not exit-code"
	[ -z "$why" ] && ! grep -qE '^(signal|core-dump)$' <<< "$(jq -r .result <<< "$(entry 1 failed aod-segv.service)")" &&
		why="aod-segv.service result is not signal/core-dump"
	[ -z "$why" ] && [ -n "$(entry 1 failed aod-mem.service)$(entry 1 failed aod-io.service)" ] && why="a healthy unit is listed as failed"
	check health-vm-failed "$why"
}

c_oom() {
	local e why=""
	e=$(entry 1 failed aod-oom.service)
	[ -n "$e" ] || why="aod-oom.service not in units.failed"
	[ -z "$why" ] && [ "$(jq -r .result <<< "$e")" != oom-kill ] && why="aod-oom.service result $(jq -r .result <<< "$e"), not oom-kill"
	[ -z "$why" ] && ! jq -e '.logs.patterns[] | select(.name == "oom-killer" and .class == "OOM" and .count >= 1) |
		.examples[] | select(test("health_load"))' "$OUT/run1.json" > /dev/null 2>&1 &&
		why="no oom-killer log pattern naming health_load: $(J run1.json '[.logs.patterns[].name] | join(",")')"
	check health-vm-oom "$why"
}

c_segfault() {
	local why=""
	jq -e '.logs.patterns[] | select(.name == "segfault" and .class == "Error" and .level == "INFO") |
		.examples[] | select(test("health_load\\[[0-9]+\\]: segfault at 0"))' "$OUT/run1.json" > /dev/null 2>&1 ||
		why="no segfault pattern (class Error, level INFO) naming health_load: $(J run1.json '[.logs.patterns[] | .name + ":" + .level] | join(",")')"
	check health-vm-segfault "$why"
}

c_flapping() {
	local e n t why=""
	e=$(entry 1 flapping aod-flap.service)
	n=$(jq -r .n_restarts <<< "$e" 2> /dev/null) t=$(T truth1 aod-flap.service NRestarts)
	[ -n "$e" ] || why="aod-flap.service not in units.flapping"
	[ -z "$why" ] && { [ "$n" -ge 3 ] && [ "$n" -le "$t" ]; } 2> /dev/null || [ -n "$why" ] ||
		why="n_restarts $n: want >= 3 and <= NRestarts read after the run ($t)"
	[ -z "$why" ] && [ "$(J run1.json '[.units.flapping[].name] | length')" != 1 ] && why="other units flapping: $(J run1.json '[.units.flapping[].name] | join(",")')"
	check health-vm-flapping "$why"
}

c_socket() {
	local e r why=""
	e=$(entry 1 sockets aod-sock.socket)
	[ -n "$e" ] || why="aod-sock.socket not in units.sockets"
	[ -z "$why" ] && [ "$(jq -r .result <<< "$e")" != service-start-limit-hit ] && why="aod-sock.socket result $(jq -r .result <<< "$e")"
	r=$(entry 1 sockets aod-refuse.socket)
	[ -z "$why" ] && [ -z "$r" ] && why="aod-refuse.socket not in units.sockets"
	[ -z "$why" ] && [ "$(jq -r .n_refused <<< "$r")" != "$(T truth1 aod-refuse.socket NRefused)" ] &&
		why="aod-refuse.socket n_refused $(jq -r .n_refused <<< "$r"), systemctl show $(T truth1 aod-refuse.socket NRefused)"
	[ -z "$why" ] && ! jq -r .reason <<< "$r" | grep -q 'refused' && why="reason: $(jq -r .reason <<< "$r")"
	check health-vm-socket "$why"
}

c_timer() {
	local e why=""
	e=$(entry 1 timers aod-timer.timer)
	[ -n "$e" ] || why="aod-timer.timer not in units.timers"
	[ -z "$why" ] && ! jq -r .reason <<< "$e" | grep -q 'aod-timer.service' && why="reason does not name its service: $(jq -r .reason <<< "$e")"
	check health-vm-timer "$why"
}

c_dependency() {
	local why=""
	[ -n "$(entry 1 dependency_failed aod-needs-dep.service)" ] || why="aod-needs-dep.service not in units.dependency_failed"
	[ -z "$why" ] && ! jq -e '.deps.units[] | select(.unit == "aod-needs-dep.service" and .why == "dependency" and
		.explained and (.explained_by | index("aod-dep-fail.service"))) | .dependencies[] |
		select(.name == "aod-dep-fail.service" and .type == "Requires" and .active_state == "failed" and .explains)' \
		"$OUT/run1.json" > /dev/null 2>&1 && why="deps does not explain aod-needs-dep.service by aod-dep-fail.service (Requires, failed)"
	[ -z "$why" ] && jq -e '.deps.units[] | select(.unit == "aod-fail.service") | .explained' "$OUT/run1.json" > /dev/null 2>&1 &&
		why="aod-fail.service (fails by itself) is said to be explained by a dependency"
	check health-vm-dependency "$why"
}

c_cycle() {
	local why=""
	jq -e '.deps.cycles[] | select(.path == ["aod-cycle-a.service", "aod-cycle-b.service", "aod-cycle-a.service"]
		and .edges == ["Requires", "Requires"])' "$OUT/run1.json" > /dev/null 2>&1 ||
		why="no aod-cycle-a -> aod-cycle-b -> aod-cycle-a (Requires) cycle in deps.cycles: $(J run1.json '[.deps.cycles[].path | join(">")] | join(" ; ")')"
	[ -z "$why" ] && [ "$(J run1.json '.deps.cycles_found')" -lt 1 ] && why="cycles_found < 1"
	check health-vm-cycle "$why"
}

c_journal_lines() {
	local last mine why=""
	last=$(grep -v '^$' "$OUT/aod-fail.journal" | tail -n 1)
	mine=$(J run1.json '.units.failed[] | select(.name == "aod-fail.service") | .recent_logs[-1]')
	grep -q 'aod-fail: about to exit 3' "$OUT/aod-fail.journal" || why="the journal itself lacks the unit's line"
	[ -z "$why" ] && ! J run1.json '.units.failed[] | select(.name == "aod-fail.service") | .recent_logs[]' |
		grep -q ' aod-fail: about to exit 3$' && why="recent_logs lack 'aod-fail: about to exit 3'"
	[ -z "$why" ] && [ "${mine#* }" != "$last" ] && why="last line '${mine#* }', journalctl says '$last'"
	check health-vm-journal-lines "$why"
}

c_io() {
	local rd wr tr tw top why=""
	rd=$(J run1.json '.resources.units[] | select(.name == "aod-io.service") | .io_read_bytes')
	wr=$(J run1.json '.resources.units[] | select(.name == "aod-io.service") | .io_write_bytes')
	tr=$(awk '{for(i=2;i<=NF;i++) if ($i ~ /^rbytes=/) s += substr($i, 8)} END {print s + 0}' "$OUT/truth1/aod-io.service.io.stat")
	tw=$(awk '{for(i=2;i<=NF;i++) if ($i ~ /^wbytes=/) s += substr($i, 8)} END {print s + 0}' "$OUT/truth1/aod-io.service.io.stat")
	top=$(J run1.json '.resources.top_io[0].name')
	[ "$rd" = "$tr" ] && [ "$wr" = "$tw" ] || why="report read/write $rd/$wr bytes, io.stat $tr/$tw"
	[ -z "$why" ] && { [ "$tr" -ge $((4 * MIB)) ] && [ "$tw" -ge $((8 * MIB)) ]; } || [ -n "$why" ] ||
		why="io.stat shows less than the unit did: $tr/$tw"
	[ -z "$why" ] && [ "$top" != aod-io.service ] && why="top_io[0] is $top"
	check health-vm-io "$why"
	info "aod-io.service: read $rd, written $wr bytes (io.stat: $tr, $tw)"
}

c_memory() {
	local m t tasks ttasks src cpu tcpu why=""
	m=$(J run1.json '.resources.units[] | select(.name == "aod-mem.service") | .memory_current_bytes')
	t=$(cat "$OUT/truth1/aod-mem.service.memory.current" 2> /dev/null)
	tasks=$(J run1.json '.resources.units[] | select(.name == "aod-io.service") | .tasks')
	ttasks=$(grep -c . "$OUT/truth1/aod-io.service.cgroup.procs")
	src=$(J run1.json '.resources.units[] | select(.name == "aod-mem.service") | .source.memory')
	cpu=$(J run1.json '.resources.units[] | select(.name == "aod-mem.service") | .cpu_usage_usec')
	tcpu=$(awk '$1 == "usage_usec" {print $2}' "$OUT/truth1/aod-mem.service.cpu.stat")
	awk -v a="$m" -v b="$t" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && (d <= 1048576 || d <= b / 10)) }' ||
		why="memory_current_bytes $m, memory.current $t"
	[ -z "$why" ] && [ "$tasks" != "$ttasks" ] && why="aod-io.service tasks $tasks, cgroup.procs has $ttasks"
	[ -z "$why" ] && [ "$src" != v2 ] && why="memory source $src on a unified hierarchy"
	[ -z "$why" ] && ! awk -v a="$cpu" -v b="$tcpu" 'BEGIN { exit !(a > 0 && a <= b && b - a < 2000000) }' &&
		why="cpu_usage_usec $cpu, cpu.stat after the run $tcpu"
	[ -z "$why" ] && [ "$(J run1.json '.resources.cgroup.mode')" != unified ] && why="cgroup mode $(J run1.json .resources.cgroup.mode)"
	check health-vm-memory "$why"
	info "aod-mem.service: memory $m (memory.current $t), cpu $cpu usec (cpu.stat $tcpu)"
}

c_boot_times() {
	local us fin initrd k u tot why=""
	us=$(sed -n 's/^UserspaceTimestampMonotonic=//p' "$OUT/manager.txt")
	fin=$(sed -n 's/^FinishTimestampMonotonic=//p' "$OUT/manager.txt")
	initrd=$(sed -n 's/^InitRDTimestampMonotonic=//p' "$OUT/manager.txt")
	k=$(J run1.json .boot.times.kernel_usec) u=$(J run1.json .boot.times.userspace_usec) tot=$(J run1.json .boot.times.total_usec)
	[ "$initrd" = 0 ] || why="the guest has an initrd timestamp ($initrd): this check assumes none"
	[ -z "$why" ] && [ "$k" != "$us" ] && why="kernel_usec $k, UserspaceTimestampMonotonic $us"
	[ -z "$why" ] && [ "$u" != "$((fin - us))" ] && why="userspace_usec $u, Finish - Userspace = $((fin - us))"
	[ -z "$why" ] && [ "$tot" != "$((fin))" ] && why="total_usec $tot, want kernel + userspace = $fin"
	[ -z "$why" ] && [ "$(J run1.json .boot.times.finished)" != true ] && why="finished is not true"
	check health-vm-boot-times "$why"
	info "boot: kernel $k usec, userspace $u usec"
}

c_blame() {
	local u usec ie ae why="" n=0
	while read -r u usec; do
		ie=$(SP blame-truth.txt "$u" InactiveExitTimestampMonotonic)
		ae=$(SP blame-truth.txt "$u" ActiveEnterTimestampMonotonic)
		# a unit started again after the report (InactiveExit now later than ActiveEnter)
		# has no truth to compare with: not counted
		[ "$ae" -lt "$ie" ] 2> /dev/null && { info "blame: $u restarted after the report, not compared"; continue; }
		[ "$usec" = "$((ae - ie))" ] || { why="$u blame $usec, ActiveEnter - InactiveExit = $((ae - ie))"; break; }
		n=$((n + 1))
	done < <(J run1.json '.boot.blame[:5][] | "\(.unit) \(.usec)"')
	[ -z "$why" ] && [ "$n" -lt 4 ] && why="fewer than 4 blame entries compared ($n)"
	[ -z "$why" ] && [ "$(J run1.json '[.boot.blame[].usec] | . == (sort | reverse)')" != true ] && why="blame not sorted longest first"
	check health-vm-blame "$why"
}

c_critical_chain() {
	local mine theirs why=""
	mine=$(J run1.json '[.boot.critical_chain[].unit] | join(" ")')
	theirs=$(grep -E '@[0-9]' "$OUT/critical-chain.txt" | sed 's/^[^a-zA-Z0-9-]*//; s/ .*//' | tr '\n' ' ' | sed 's/ $//')
	[ -n "$theirs" ] || why="systemd-analyze printed no chain: $(head -n 2 "$OUT/critical-chain.txt" | tr '\n' ' ')"
	[ -z "$why" ] && [ "$mine" != "$theirs" ] && why="chain '$mine', systemd-analyze '$theirs'"
	[ -z "$why" ] && [ "$(J run1.json '.boot.critical_chain[0].unit')" != aodtest.target ] && why="does not start at the default target"
	check health-vm-critical-chain "$why"
}

c_history() {
	local n id why=""
	n=$(J history.json 'length')
	[ "$(F history.rc)" = 0 ] || why="aod health history exited $(F history.rc)"
	[ -z "$why" ] && [ "${n:-0}" -lt 4 ] && why="history lists ${n:-0} reports, want 4"
	for id in $(J run1.json .id) $(J run2.json .id) $(J run3.json .id); do
		[ -z "$why" ] && ! J history.json '.[].id' | grep -qx "$id" && why="report $id of a saved run is not in the history"
	done
	[ -z "$why" ] && [ "$(grep -c '^report-.*\.json\.zst$' "$OUT/history.ls")" -lt 4 ] && why="fewer than 4 report files: $(tr '\n' ' ' < "$OUT/history.ls")"
	[ -z "$why" ] && [ "$(J run1.json '.history.saved')" != true ] && why="run 1 says it was not saved: $(J run1.json .history.error)"
	check health-vm-history "$why"
}

c_diff() {
	local why=""
	[ "$(F diff.rc)" = 0 ] || why="aod health diff exited $(F diff.rc): $(head -c 200 "$OUT/diff.err")"
	[ -z "$why" ] && ! jq -e '.new_problems[] | select(.unit == "aod-late-fail.service" and .problem == "failed")' \
		"$OUT/diff.json" > /dev/null 2>&1 && why="new_problems lacks aod-late-fail.service: $(J diff.json '[.new_problems[].unit] | join(",")')"
	[ -z "$why" ] && ! jq -e --argjson m "$MIB" '.resource_changes[] | select(.unit == "aod-mem.service" and
		.feature == "memory_bytes" and .from < 24 * $m and .to > 56 * $m)' "$OUT/diff.json" > /dev/null 2>&1 &&
		why="resource_changes lacks aod-mem.service memory 16 -> 64 MiB: $(J diff.json '[.resource_changes[] | .unit + ":" + .feature] | join(",")')"
	[ -z "$why" ] && [ "$(J diff.json '.from.id')" != "$(J run3.json .id)" ] && why="diff 2 1 is not run 3 -> run 4"
	[ -z "$why" ] && ! grep -q 'aod-late-fail.service' "$OUT/diff.txt" && why="the text diff does not name aod-late-fail.service"
	check health-vm-diff "$why"
}

c_score() {
	local why="" s
	[ "$(J run1.json '.scores.units[] | select(.unit == "aod-mem.service") | .state')" = learning ] ||
		why="aod-mem.service is not learning in run 1 (no history)"
	s=$(J run4.json '.scores.anomalies[] | select(.unit == "aod-mem.service" and .feature == "memory_bytes") | .score')
	[ -z "$why" ] && [ -z "$s" ] && why="no memory anomaly for aod-mem.service in run 4: $(J run4.json '[.scores.anomalies[] | .unit + ":" + .feature] | join(",")')"
	[ -z "$why" ] && [ "$(J run4.json '.scores.history_reports')" != 3 ] && why="run 4 scored against $(J run4.json .scores.history_reports) reports, want 3"
	[ -z "$why" ] && [ "$(J run4.json '.scores.units[] | select(.unit == "aod-io.service") | .state')" != normal ] &&
		why="aod-io.service (steady) is $(J run4.json '.scores.units[] | select(.unit == "aod-io.service") | .state') in run 4"
	[ -z "$why" ] && [ -n "$(J run3.json '.scores.anomalies[] | select(.unit == "aod-mem.service")')" ] &&
		why="aod-mem.service flagged in run 3, before its memory moved"
	check health-vm-score "$why"
	info "run 4: aod-mem.service memory score $s; anomalies: $(J run4.json '[.scores.anomalies[] | .unit + ":" + .feature] | join(",")')"
}

c_text() {
	local why="" long
	[ "$(F show.rc)" = 0 ] || why="aod health show exited $(F show.rc)"
	long=$(awk 'length($0) > 80' "$OUT/show.txt" "$OUT/diff.txt" | head -n 1)
	[ -z "$why" ] && [ -n "$long" ] && why="a line over 80 columns: $long"
	[ -z "$why" ] && grep -q $'\x1b' "$OUT/show.txt" && why="escape sequences with NO_COLOR set"
	[ -z "$why" ] && ! grep -q '^FAILED *aod-fail.service' "$OUT/show.txt" && why="no FAILED aod-fail.service line"
	check health-vm-text "$why"
}

c_unit() {
	local why=""
	[ "$(F unit.rc)" = 0 ] || why="aod health unit exited $(F unit.rc)"
	[ -z "$why" ] && [ "$(J unit.json '.unit.problems[0].problem')" != failed ] && why="problems: $(J unit.json '.unit.problems')"
	[ -z "$why" ] && ! J unit.json '.recent_logs[]' | grep -q 'about to exit 3' && why="recent_logs lack the unit's line"
	check health-vm-unit "$why"
}

c_rule_bundle() {
	local b why="" n
	n=$(ls "$OUT"/aod_*_health_health.tar.zst 2> /dev/null | wc -l)
	b=$(ls "$OUT"/aod_*_health_health.tar.zst 2> /dev/null | head -n 1)
	[ "$n" = 1 ] || why="$n health bundles, want 1 (agent log: $(grep -E 'health|anomaly' "$OUT/agent.log" | tail -n 3 | tr '\n' ' '))"
	[ -z "$why" ] && [ "$(grep -c 'health: report ' "$OUT/agent.log")" -lt 3 ] && why="fewer than 3 reports by the agent"
	[ -z "$why" ] && ! tar --zstd -xOf "$b" --wildcards '*/health-report.json' 2> /dev/null |
		jq -e '.units.failed[] | select(.name == "aod-fail.service")' > /dev/null && why="the bundle's health-report.json lacks aod-fail.service"
	[ -z "$why" ] && ! tar --zstd -xOf "$b" --wildcards '*/summary.txt' 2> /dev/null | grep -q 'aod-fail.service/failed' &&
		why="summary.txt does not name aod-fail.service/failed"
	[ -z "$why" ] && ! grep -q 'anomaly id=.* rule=unit_down source=health type=health' "$OUT/agent.log" && why="no anomaly line in the agent log"
	[ -z "$why" ] && [ "$(F agent.rc)" != 0 ] && why="the agent exited $(F agent.rc) on SIGTERM"
	check health-vm-rule-bundle "$why"
}

c_processes() { # execs and exits of a transient service, attributed to it by its cgroup
	local why="" e truth got
	if [ "$(F procs.btf)" != yes ]; then skip health-vm-processes "the guest kernel has no BTF"; return; fi
	truth=$(cat "$OUT/procs.truth" 2> /dev/null)
	e=$(jq -c '.processes.units[] | select(.unit == "aod-procs.service")' "$OUT/procs.json" 2> /dev/null)
	[ "$(F procs.rc)" = 0 ] || why="aod health resources --processes exited '$(F procs.rc)': $(J procs.json '.processes.error // .errors')"
	[ -z "$why" ] && [ "$truth" != "10 3" ] && why="the workload counted '$truth', want '10 3'"
	[ -z "$why" ] && [ "$(F procs.inwindow)" != yes ] && why="the analysis ended before the workload did"
	[ -z "$why" ] && [ -z "$e" ] && why="no processes.units entry with unit aod-procs.service: $(J procs.json '[.processes.units[].name] | join(" ")')"
	[ -z "$why" ] && got=$(jq -r '"\(.execs) \(.exits) \(.failed)"' <<< "$e") &&
		[ "$got" != "${truth% *} ${truth% *} ${truth#* }" ] && why="execs exits failed '$got', the workload ran '${truth% *} ${truth% *} ${truth#* }'"
	[ -z "$why" ] && [ -z "$(F procs.cgroup)" ] && why="no ControlGroup of aod-procs.service recorded (ground truth)"
	[ -z "$why" ] && [ "$(jq -r .cgroup <<< "$e")" != "$(F procs.cgroup)" ] && why="cgroup '$(jq -r .cgroup <<< "$e")', systemd says '$(F procs.cgroup)'"
	[ -z "$why" ] && [ "$(jq -r '[.commands[] | select(.command == "false") | .failed] | join(",")' <<< "$e")" != 3 ] &&
		why="command false: $(jq -c .commands <<< "$e")"
	check health-vm-processes "$why"
}

if [ "${1:-}" = --eval ]; then RUN=$(cd "$2" && pwd) || exit 0; else boot; fi
OUT=$RUN/out
c_boot
if ! grep -q '^run1.rc=' "$OUT/facts" 2> /dev/null; then
	for c in $CASES; do [ "$c" = health-vm-boot ] || skip "$c" "not run (see health-vm-boot)"; done
	exit 0
fi
c_json; c_exit; c_failed; c_oom; c_segfault; c_flapping; c_socket; c_timer; c_dependency; c_cycle
c_journal_lines; c_io; c_memory; c_boot_times; c_blame; c_critical_chain; c_history; c_diff; c_score
c_text; c_unit; c_rule_bundle; c_processes
info "guest: $(grep -E '^(run[0-9]\.secs|end)=' "$OUT/facts" | tr '\n' ' ')"
exit 0
