#!/bin/bash
# The agent with probes.proc on, against ground truth:
#  - its store maps a process's cgroup id to the unit (issue 8 §1): a
#    process moved by this test into a cgroup2 directory named like a scope
#    ("aod-pa-PID.scope") and one into "aod-pa-PID.service/y" (the last
#    component naming a service or scope) get those units; a process in a
#    cgroup naming none (this test's own, or a plain "aod-pa-PID-plain")
#    gets NULL;
#  - a procexit rule (issue 8 §5; probes.proc left at auto, which the rule
#    turns on): exits 0 of the rule's command and failing exits of another
#    command never fire, N-1 failing exits in the window do not, N fast ones
#    make exactly one anomaly, whose worst events are those N processes (the
#    PIDs the shell started) with their exit code, and whose bundle names
#    each of them with its command line and exit;
#  - probes.proc.failed_execs (issue 8 §1): with it on, a child whose pid
#    the test knows execs a path that does not exist (ENOENT) and a file
#    without an execute bit (EACCES): the store has exactly those two
#    exec_failed events for that pid, with path and errno, and the agent
#    holds the sys_exit program; with it off (the default) the same execs
#    leave no exec_failed row (the child's own process row shows the store
#    was recording), no sys_exit program is loaded, and a reload turning it
#    on says "restart needed" and changes neither.
# The store and the anomaly log are read with Python (not aod's code).
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf procagent || exit 0
command -v python3 >/dev/null || { skip procagent "python3 missing (make check installs it)"; exit 0; }
make_workdir
CGS=()
cleanup() {
	stop_agent 2>/dev/null
	for ((i = ${#CGS[@]} - 1; i >= 0; i--)); do rmdir "${CGS[$i]}" 2>/dev/null; done
	[ -n "${AOD_KEEP_WORK:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

sql() { # db query: rows as tab-separated lines
	python3 - "$1" "$2" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for r in c.execute(sys.argv[2]):
    print("\t".join("" if v is None else str(v) for v in r))
PY
}

# ---- 1. cgroup id -> unit in the agent's store ----
# the cgroup2 mount, found as aod_cgroup2_root does (mountinfo, fstype cgroup2)
V2=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -n1)
mk_cg() { mkdir "$1" && CGS+=("$1"); }
if [ -n "$V2" ] && mk_cg "$V2/aod-pa-$$.scope" && mk_cg "$V2/aod-pa-$$.service" &&
	mk_cg "$V2/aod-pa-$$.service/y" && mk_cg "$V2/aod-pa-$$-plain"; then
	cat > "$WORK/unit.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/unit-out
probes: {proc: on}
store: {batch_ms: 100}
agent: {control_socket: $WORK/aod.sock}
YAML
	if start_agent "$WORK/unit.yaml"; then
		# The writer walks the hierarchy again on a miss at most once a
		# second: 1.2 s after the mkdirs, any walk made before them is old
		# enough for the first miss to walk again.
		sleep 1.2
		in_cg() { # cgroup marker: a child moves itself there, then execs
			sh -c 'echo $$ > "$1/cgroup.procs" && exec /bin/true "$2"' sh "$1" "$2"
		}
		in_cg "$V2/aod-pa-$$.scope" "aod-pa-scope-$$"
		in_cg "$V2/aod-pa-$$.service/y" "aod-pa-nested-$$"
		in_cg "$V2/aod-pa-$$-plain" "aod-pa-plain-$$"
		/bin/true "aod-pa-none-$$"
		own=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
		sleep 1
		stop_agent
		db=$WORK/unit-out/aod.db
		row() { sql "$db" "select count(*), ifnull(max(unit), 'NULL'), ifnull(max(cgroup_id), 0)
			from processes where cmdline = '/bin/true $1'" | tr '\t' ' '; }
		ino() { stat -c %i "$1"; }
		got=$(row "aod-pa-scope-$$")
		check procagent-unit-scope "row [$got]; expected 1 row, unit aod-pa-$$.scope, cgroup $(ino "$V2/aod-pa-$$.scope")" \
			[ "$got" = "1 aod-pa-$$.scope $(ino "$V2/aod-pa-$$.scope")" ]
		got=$(row "aod-pa-nested-$$")
		check procagent-unit-nested "row [$got]; expected 1 row, unit aod-pa-$$.service, cgroup $(ino "$V2/aod-pa-$$.service/y")" \
			[ "$got" = "1 aod-pa-$$.service $(ino "$V2/aod-pa-$$.service/y")" ]
		got=$(row "aod-pa-plain-$$")
		check procagent-unit-plain "row [$got]; expected 1 row, unit NULL, cgroup $(ino "$V2/aod-pa-$$-plain")" \
			[ "$got" = "1 NULL $(ino "$V2/aod-pa-$$-plain")" ]
		# this shell's own cgroup: a unit only if some component names one
		if [[ "$own" =~ \.(service|scope)(/|$) ]]; then
			skip procagent-unit-none "this test runs inside a unit cgroup ($own)"
		else
			got=$(row "aod-pa-none-$$")
			check procagent-unit-none "row [$got]; expected 1 row, unit NULL (own cgroup '$own')" \
				[ "${got% *}" = "1 NULL" ]
		fi
	else
		fail procagent-unit "agent did not start: $(tail -n 3 "$AGENT_LOG")"
	fi
else
	skip procagent-unit "no writable cgroup2 hierarchy"
fi

# ---- 2. a procexit rule on the real probe ----
W=4
cp /bin/false "$WORK/pe_fail" && cp /bin/false "$WORK/pe_other" && cp /bin/true "$WORK/pe_fail_ok" &&
	cp /bin/true "$WORK/pe_ok"
cat > "$WORK/pe.yaml" <<YAML
watch_interval_sec: $W
aod_output_dir: $WORK/pe-out
store: {batch_ms: 100}
agent: {control_socket: $WORK/aod.sock}
guardian:
  anomalies:
    failing:
      type: Error
      tool: procexit
      acceptable_count: 3
      holdoff_sec: 0
      commands: ["pe_fail*"]
      actions: [mounts]
YAML
anomalies() { # the anomaly log's records of rule "failing": "total tgid:comm:code,..."
	python3 - "$WORK/pe-out/anomalies.jsonl" <<'PY'
import json, sys
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
for l in lines:
    a = json.loads(l)
    if a.get("rule") != "failing":
        continue
    w = ",".join("%s:%s:%s:%s" % (e["tgid"], e["comm"], e["exit_code"], e["signal"]) for e in a["worst"])
    print(a["total"], a["source"], w)
PY
}
if start_agent "$WORK/pe.yaml"; then
	# the rule turned the probe on although probes.proc is auto
	st=$("$AOD_BIN" status --socket "$WORK/aod.sock" --json 2>/dev/null |
		python3 -c 'import json,sys; p=json.load(sys.stdin)["probes"]; print([x for x in p if x.get("name")=="proc"][0]["state"] if isinstance(p,list) else p["proc"]["state"])' 2>/dev/null)
	check procexit-probe-auto "probes.proc auto with a procexit rule: proc probe '$st', expected attached" \
		[ "$st" = attached ]
	# never counted: exits 0, also of a command the glob matches (pe_fail_ok), and another command's failures
	for i in 1 2 3 4 5; do
		"$WORK/pe_ok" "ok-$i"; "$WORK/pe_fail_ok" "ok-$i"; "$WORK/pe_other" "other-$i"
	done
	# N - 1 failing exits of the rule's command
	"$WORK/pe_fail" "first-1"; "$WORK/pe_fail" "first-2"
	sleep $((W + 2)) # more than the window: these two can no longer count
	got=$(anomalies)
	check procexit-no-anomaly "after 5 exits 0, 5 failing exits of pe_other and 2 of pe_fail: anomalies [$got], expected none" \
		[ -z "$got" ]
	pids=
	for i in 1 2 3; do
		"$WORK/pe_fail" "fail-$$-$i" &
		p=$!
		wait "$p"
		pids="$pids$p:pe_fail:1:0,"
	done
	pids=${pids%,}
	wait_for 10 sh -c "grep -q '\"failing\"' '$WORK/pe-out/anomalies.jsonl' 2>/dev/null"
	sleep $((W + 1)) # a second anomaly would have had time to fire
	got=$(anomalies)
	check procexit-one-anomaly "anomalies [$got]; expected exactly one: '3 proc $pids'" \
		[ "$got" = "3 proc $pids" ]
	wait_for 20 sh -c "ls '$WORK'/pe-out/batches/*.tar.zst >/dev/null 2>&1"
	sleep 1
	stop_agent
	for b in "$WORK"/pe-out/batches/*.tar.zst; do
		[ -e "$b" ] && tar --zstd -xOf "$b" --wildcards '*summary.txt' 2>/dev/null
	done > "$WORK/pe-summaries.txt"
	named=0
	for i in 1 2 3; do
		p=$(echo "$pids" | tr ',' '\n' | sed -n "${i}p" | cut -d: -f1)
		grep -qE "^  $p  $WORK/pe_fail fail-$$-$i  \(exit 1\)" "$WORK/pe-summaries.txt" && named=$((named + 1))
	done
	check procexit-bundle-names "the bundle summary names $named of the 3 failing processes with their command line and exit 1" \
		[ "$named" = 3 ]
	check procexit-bundle-keys "the summary lacks the per-key count 'pe_fail exit 1  3'" \
		grep -qE "^  pe_fail exit 1 +3$" "$WORK/pe-summaries.txt"
	got=$(sql "$WORK/pe-out/aod.db" "select count(*), max(source), max(type) from anomalies where rule = 'failing'" | tr '\t' ' ')
	check procexit-store "the store's anomalies of rule 'failing': [$got], expected [1 proc error]" \
		[ "$got" = "1 proc error" ]
else
	fail procexit "agent did not start: $(tail -n 3 "$AGENT_LOG")"
fi

# ---- 3. failed execs (probes.proc.failed_execs) ----
# fail_execs OUT: a python3 child tries two execs that fail, then exits 0;
# OUT gets its pid (python's os.execv is one execve each; no PATH lookup)
printf 'not a program\n' > "$WORK/noexec" && chmod 644 "$WORK/noexec"
fail_execs() {
	python3 - "$1" "/nonexistent-aod-$$/x" "$WORK/noexec" <<'PY'
import os, sys
pid = os.fork()
if pid == 0:
    for p in sys.argv[2:]:
        try:
            os.execv(p, [p])
        except OSError:
            pass
    os._exit(0)
os.waitpid(pid, 0)
open(sys.argv[1], "w").write("%d\n" % pid)
PY
}
sysexit_progs() { # the agent's own programs named aod_proc_sysexit*
	local n=0 id
	for id in $(agent_prog_ids "$AGENT_PID"); do
		bpftool -j prog show id "$id" 2>/dev/null | grep -q '"name":"aod_proc_sysex' && n=$((n + 1))
	done
	echo "$n"
}
fe_config() { # file failed_execs-line
	cat > "$1" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/fe-out
probes:
  proc:
    enabled: on
$2
store: {batch_ms: 100}
agent: {control_socket: $WORK/aod.sock}
YAML
}
fe_rows() { # db pid: "path:error" of its exec_failed events, in order, space-separated
	sql "$1" "select path || ':' || error from events where kind = 'exec_failed' and tgid = $2
		order by id" | tr '\n' ' '
}
proc_rows() { sql "$1" "select count(*) from processes where tgid = $2"; }

fe_config "$WORK/fe.yaml" "    failed_execs: true"
if start_agent "$WORK/fe.yaml"; then
	fail_execs "$WORK/fe.pid"
	pid=$(cat "$WORK/fe.pid")
	command -v bpftool >/dev/null && progs=$(sysexit_progs) || progs=
	sleep 1
	stop_agent
	got=$(fe_rows "$WORK/fe-out/aod.db" "$pid")
	want="/nonexistent-aod-$$/x:-2 $WORK/noexec:-13 "
	check procagent-failed-execs "exec_failed events of pid $pid: [$got], expected [$want]" \
		[ "$got" = "$want" ]
	got=$(sql "$WORK/fe-out/aod.db" "select count(*), min(comm), min(source), min(proc_start_ns > 0)
		from events where kind = 'exec_failed' and tgid = $pid" | tr '\t' ' ')
	check procagent-failed-execs-identity "comm, source, start of pid $pid's failures: [$got], expected [2 python3 process 1]" \
		[ "$got" = "2 python3 process 1" ]
	if [ -n "$progs" ]; then
		check procagent-failed-execs-hooked "the agent holds $progs aod_proc_sysexit program(s), expected 1" \
			[ "$progs" = 1 ]
	else
		skip procagent-failed-execs-hooked "bpftool missing"
	fi
else
	fail procagent-failed-execs "agent did not start: $(tail -n 3 "$AGENT_LOG")"
fi

rm -rf "$WORK/fe-out"
fe_config "$WORK/fe.yaml" ""
if start_agent "$WORK/fe.yaml"; then
	command -v bpftool >/dev/null && progs=$(sysexit_progs) || progs=
	fail_execs "$WORK/fe.pid"
	pid_off=$(cat "$WORK/fe.pid")
	# a reload asking for it: kept off until a restart, and said so
	fe_config "$WORK/fe.yaml" "    failed_execs: true"
	kill -HUP "$AGENT_PID"
	wait_for 10 sh -c "grep -q 'config reloaded' '$AGENT_LOG'"
	rn=$("$AOD_BIN" status --socket "$WORK/aod.sock" --json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["restart_needed"])' 2>/dev/null)
	fail_execs "$WORK/fe.pid"
	pid_hup=$(cat "$WORK/fe.pid")
	command -v bpftool >/dev/null && progs_hup=$(sysexit_progs) || progs_hup=
	sleep 1
	stop_agent
	db=$WORK/fe-out/aod.db
	got=$(fe_rows "$db" "$pid_off")
	n=$(proc_rows "$db" "$pid_off")
	check procagent-failed-execs-off "failed_execs off: exec_failed events of pid $pid_off [$got], expected none; its process rows $n, expected 1" \
		[ -z "$got" -a "$n" = 1 ]
	check procagent-failed-execs-restart "reload to failed_execs: true: restart_needed '$rn', expected 'probes.proc.failed_execs'" \
		[ "$rn" = probes.proc.failed_execs ]
	got=$(fe_rows "$db" "$pid_hup")
	n=$(proc_rows "$db" "$pid_hup")
	check procagent-failed-execs-kept-off "after that reload: exec_failed events of pid $pid_hup [$got], expected none; its process rows $n, expected 1" \
		[ -z "$got" -a "$n" = 1 ]
	if [ -n "$progs" ]; then
		check procagent-failed-execs-unhooked "the agent holds $progs / $progs_hup (after the reload) aod_proc_sysexit programs, expected 0 / 0" \
			[ "$progs:$progs_hup" = 0:0 ]
	else
		skip procagent-failed-execs-unhooked "bpftool missing"
	fi
else
	fail procagent-failed-execs-off "agent did not start: $(tail -n 3 "$AGENT_LOG")"
fi
