#!/bin/bash
# aod trace and the process probe against ground truth:
#  - a workload that burns X ms of CPU and touches Y MiB: CPU user+system,
#    peak RSS and minor faults within 2 % of its own getrusage, its exit code,
#    aod trace's exit status = the command's;
#  - a fork tree of known shape (with threads): every process exactly once,
#    right parent, exit code = its depth;
#  - the seeds' pipelines (tests/pipelines exe_1: 100 parallel pipelines,
#    exe_2: 10 of timeout-bounded tools): every process the scripts logged
#    exactly once, with its parent and exit code; nothing lost;
#  - a command named with terminal escapes: verbatim in the store, escaped
#    in the report; argv with quotes and newlines verbatim; 100 KiB of argv
#    cut at the cap and flagged; an exit by signal; an OOM kill in a
#    memory-limited cgroup (cgroup2 if it has the memory controller, else
#    the v1 memory hierarchy);
#  - --all: a background process marked outside the tree, this shell seeded;
#  - alongside an agent with probes.proc on: both record the same tree;
#  - a bundle names an exited process with its command line, exit and
#    parents (the agent's process cache);
#  - --failed-execs: exactly the execs that failed, with their errno;
#  - a cgroup2 id mapped to its unit (a .scope made for the test);
#  - through sudo (SUDO_UID/SUDO_GID/SUDO_USER): CMD runs as that user;
#  - filters in the kernel: --ignore-comm ls, --ignore-exe '*.sh';
#  - both attach modes (tp_btf, raw_tp) for the first case.
# The store is read with Python's sqlite3 (not aod's code).
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf trace || exit 0
command -v python3 >/dev/null || { skip trace "python3 missing (make check installs it)"; exit 0; }
make_workdir
CG=
cleanup() {
	stop_agent 2>/dev/null
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP"
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
PIPES=$AOD_TOP/tests/pipelines

sql() { # db query: rows as tab-separated lines
	python3 - "$1" "$2" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for r in c.execute(sys.argv[2]):
    print("\t".join("" if v is None else str(v) for v in r))
PY
}

# ---- 1. CPU, memory, faults vs getrusage; exit status ----
for mode in tp_btf raw_tp; do
	db=$WORK/burn-$mode.db
	AOD_PROC_ATTACH=$mode timeout 120 "$AOD_BIN" trace -o "$db" --report "$WORK/burn.txt" -- \
		"$HELPERS/proc_burn" 400 64 7 "$WORK/ru-$mode.txt"
	rc=$?
	check "trace-exit-status-$mode" "aod trace exited $rc, the command 7" [ "$rc" = 7 ]
	read -r ut st maxrss minflt majflt nvcsw nivcsw < "$WORK/ru-$mode.txt"
	row=$(sql "$db" "select cpu_user_ns, cpu_sys_ns, peak_rss_bytes, minflt, exit_code, exit_signal
			 from processes where comm = 'proc_burn'")
	read -r cu cs rss mf code sig <<< "$row"
	if [ -z "$row" ]; then
		fail "trace-burn-$mode" "no proc_burn row in $db"
		continue
	fi
	python3 - "$ut" "$st" "$maxrss" "$minflt" "$cu" "$cs" "$rss" "$mf" <<'PY' > "$WORK/cmp.txt"
import sys
ut, st, maxrss, minflt, cu, cs, rss, mf = map(int, sys.argv[1:])
def near(a, b, slack): return abs(a - b) <= max(0.02 * b, slack)
tot_ru, tot = (ut + st) * 1000, cu + cs
print("cpu", "ok" if near(tot, tot_ru, 0) else "bad", tot, tot_ru)
print("user", "ok" if near(cu, ut * 1000, 4e6) else "bad", cu, ut * 1000)
print("rss", "ok" if near(rss, maxrss * 1024, 0) else "bad", rss, maxrss * 1024)
print("minflt", "ok" if near(mf, minflt, 2) else "bad", mf, minflt)
PY
	while read -r what verdict got want; do
		check "trace-burn-$what-$mode" "aod $got, getrusage $want" [ "$verdict" = ok ]
	done < "$WORK/cmp.txt"
	[ "$mode" = tp_btf ] && sed 's/^/# /' "$WORK/cmp.txt"
	check "trace-burn-exit-$mode" "exit_code $code signal $sig, expected 7 0" \
		[ "$code:$sig" = "7:0" ]
done

# ---- 2. a fork tree of known shape ----
db=$WORK/tree.db
timeout 120 "$AOD_BIN" trace -o "$db" --report /dev/null -- "$HELPERS/proc_tree" 3 3
python3 - "$db" <<'PY' > "$WORK/tree.txt"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = list(c.execute("select start_ns, tgid, parent_start_ns, ppid, exit_code, exit_signal, comm "
                      "from processes"))
ids = {(r[0], r[1]): r for r in rows}
root = [r for r in rows if (r[2], r[3]) not in ids]
def depth(r):
    d = 0
    while (r[2], r[3]) in ids:
        r = ids[(r[2], r[3])]; d += 1
    return d
bad = [r for r in rows if r[4] != depth(r) or r[5] != 0 or r[6] != "proc_tree"]
print(len(rows), len(set((r[0], r[1]) for r in rows)), len(root), len(bad))
PY
read -r n uniq roots bad < "$WORK/tree.txt"
check trace-tree-count "$n processes ($uniq distinct), expected 40 (1+3+9+27; threads are not processes)" \
	[ "$n:$uniq" = "40:40" ]
check trace-tree-shape "$roots roots, $bad processes whose exit code is not their depth" \
	[ "$roots:$bad" = "1:0" ]

# ---- 3. the seeds' pipelines ----
pipeline() { # name script parallel
	local db=$WORK/$1.db log=$WORK/$1.log
	: > "$log"
	timeout 300 "$AOD_BIN" trace -o "$db" --json --report "$WORK/$1.json" -- bash "$PIPES/$2" "$log" "$3"
	python3 - "$db" "$log" "$WORK/$1.json" <<'PY'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = list(c.execute("select tgid, ppid, exit_code, exit_signal, start_ns from processes"))
by_pid = {}
for r in rows:
    by_pid.setdefault(r[0], []).append(r)
missing = dup = wrong = 0
for line in open(sys.argv[2]):
    pid, ppid, rc, name = line.split()[:4]
    got = by_pid.get(int(pid), [])
    if not got:
        missing += 1; continue
    if len(got) > 1:
        dup += 1
    r = got[0]
    code = r[2] if r[3] == 0 else 128 + r[3]
    if r[1] != int(ppid) or code != int(rc):
        wrong += 1
        if wrong < 4: print("#", line.strip(), "got", r, file=sys.stderr)
rep = json.load(open(sys.argv[3]))
lost = rep["counters"]["ring_drops"] + rep["counters"]["exits_lost"]
ids = len(set((r[4], r[0]) for r in rows))
print(len(open(sys.argv[2]).readlines()), missing, dup, wrong, lost, len(rows) - ids)
PY
}
for p in "exe_1 exe_1.sh 100" "exe_2 exe_2.sh 10"; do
	set -- $p
	read -r logged missing dup wrong lost dupid < <(pipeline "$@")
	check "trace-$1-seen" "$missing of $logged logged processes missing, $dup twice" \
		[ "${logged:-0}" -gt 0 ] && [ "$missing:$dup:$dupid" = "0:0:0" ]
	check "trace-$1-parents-exits" "$wrong of $logged with the wrong parent or exit code" \
		[ "${wrong:-1}" = 0 ]
	check "trace-$1-lossless" "$lost records lost (ring drops + exits not seen)" [ "${lost:-1}" = 0 ]
done

# ---- 4. names and arguments ----
evil=$(printf 'e\033[31mx')
ln -s /bin/true "$WORK/$evil"
db=$WORK/names.db
timeout 60 "$AOD_BIN" trace -o "$db" --report "$WORK/names.txt" -- "$WORK/$evil" 'a"b' "c'd" $'e\nf' "; DROP TABLE processes; --"
got=$(sql "$db" "select hex(comm) from processes where tgid = (select max(tgid) from processes)")
check trace-escape-store "comm stored as $got, expected $(printf '%s' "$evil" | xxd -p -u)" \
	[ "$got" = "$(printf '%s' "$evil" | xxd -p -u | tr -d '\n')" ]
no_esc() { ! grep -q $'\033' "$1"; }
check trace-escape-report "the report holds a raw ESC byte" no_esc "$WORK/names.txt"
check trace-escape-report-shown "the report does not show the escaped name" grep -qF 'e\x1b[31mx' "$WORK/names.txt"
want=$(printf '%s\0' "$WORK/$evil" 'a"b' "c'd" $'e\nf' "; DROP TABLE processes; --" | xxd -p -u | tr -d '\n')
got=$(sql "$db" "select hex(argv) from processes")
check trace-argv-verbatim "argv differs from what was passed" [ "$got" = "$want" ]

big=$(head -c 102400 /dev/zero | tr '\0' x)
db=$WORK/big.db
timeout 60 "$AOD_BIN" trace -o "$db" --report /dev/null -- /bin/true "$big"
read -r len trunc <<< "$(sql "$db" "select length(argv), argv_truncated from processes")"
check trace-argv-truncated "argv of $len bytes, truncated=$trunc; expected 4096 and 1" [ "$len:$trunc" = "4096:1" ]

# ---- 5. an exit by signal ----
db=$WORK/sig.db
timeout 60 "$AOD_BIN" trace -o "$db" --report /dev/null -- sh -c 'kill -TERM $$'
rc=$?
read -r sig code <<< "$(sql "$db" "select exit_signal, exit_code from processes")"
check trace-signal "exit_signal $sig exit_code $code, expected 15 0" [ "$sig:$code" = "15:0" ]
check trace-signal-status "aod trace exited $rc, expected 143 (128 + SIGTERM)" [ "$rc" = 143 ]

# ---- 6. an OOM kill in a memory-limited cgroup ----
oom_cgroup() {
	local v2=/sys/fs/cgroup/unified
	if grep -qw memory "$v2/cgroup.controllers" 2>/dev/null; then
		CG=$v2/aod-trace-$$
		mkdir "$CG" && echo 32M > "$CG/memory.max" && { echo 0 > "$CG/memory.swap.max" 2>/dev/null; true; }
		return
	fi
	if [ -d /sys/fs/cgroup/memory ] && [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
		CG=/sys/fs/cgroup/memory/aod-trace-$$
		mkdir "$CG" && echo 32M > "$CG/memory.limit_in_bytes" &&
			{ [ ! -e "$CG/memory.memsw.limit_in_bytes" ] || echo 32M > "$CG/memory.memsw.limit_in_bytes"; }
		return
	fi
	return 1
}
if oom_cgroup; then
	db=$WORK/oom.db
	timeout 60 "$AOD_BIN" trace -o "$db" --report /dev/null -- \
		sh -c 'echo $$ > "$1/cgroup.procs" && exec "$2" 0 256 0' sh "$CG" "$HELPERS/proc_burn"
	read -r oom sig <<< "$(sql "$db" "select oom_killed, exit_signal from processes where comm = 'proc_burn'")"
	check trace-oom "oom_killed=$oom signal=$sig, expected 1 9" [ "$oom:$sig" = "1:9" ]
	grep -q "oom_kill [1-9]" "$CG/memory.events" 2>/dev/null || grep -q "oom_kill [1-9]" "$CG/memory.oom_control" 2>/dev/null ||
		fail trace-oom-kernel "the cgroup's OOM kill counter did not move"
else
	skip trace-oom "no memory controller (cgroup2 at /sys/fs/cgroup/unified lacks it, no v1 memory hierarchy)"
fi

# ---- 7. --all: the rest of the host, marked outside the tree ----
db=$WORK/all.db
( sleep 0.5; exec /bin/true outside-aod-trace ) &
bg=$!
timeout 60 "$AOD_BIN" trace --all -o "$db" --report /dev/null -- sleep 1.5
wait "$bg"
read -r bg_in bg_n <<< "$(sql "$db" "select max(in_tree), count(*) from processes where tgid = $bg and cmdline = '/bin/true outside-aod-trace'")"
check trace-all-outside "background exec (pid $bg): $bg_n rows, in_tree=$bg_in; expected 1 row, 0" [ "$bg_n:$bg_in" = "1:0" ]
read -r sl_in sl_n <<< "$(sql "$db" "select max(in_tree), count(*) from processes where cmdline = 'sleep 1.5'")"
check trace-all-tree "sleep 1.5: $sl_n rows, in_tree=$sl_in; expected 1 row, 1" [ "$sl_n:$sl_in" = "1:1" ]
seeded=$(sql "$db" "select count(*) from processes where seeded = 1 and tgid = $$ and in_tree = 0")
check trace-all-seeded "this test's shell ($$) is not among the seeded processes outside the tree" [ "$seeded" = 1 ]
# PID 1 too (the kernel's task walk skips it on some kernels): its comm and
# start time are /proc's, and its children's parent identity is exactly its own
read -r i_comm i_start i_n <<< "$(sql "$db" "select comm, start_ns, count(*) from processes where seeded = 1 and tgid = 1")"
i_ticks=$(awk '{ print $22 }' /proc/1/stat)
hz=$(getconf CLK_TCK)
i_orphans=$(sql "$db" "select count(*) from processes where ppid = 1 and parent_start_ns != (select start_ns from processes where tgid = 1 and seeded = 1)")
i_kids=$(sql "$db" "select count(*) from processes where ppid = 1")
init_ok() {
	local d=$(( i_start * hz / 1000000000 - i_ticks ))
	[ "$i_n" = 1 ] && [ "$i_comm" = "$(cat /proc/1/comm)" ] && [ "$i_kids" -gt 0 ] &&
		[ "$i_orphans" = 0 ] && [ "$d" -ge -1 ] && [ "$d" -le 1 ]
}
check trace-all-seeded-init "PID 1: $i_n rows, comm '$i_comm' (/proc: '$(cat /proc/1/comm)'), start ${i_start}ns vs /proc's $i_ticks ticks at $hz Hz, $i_orphans of $i_kids children with another parent start" init_ok

# ---- 8. alongside an agent with probes.proc on: both see the same tree ----
cat > "$WORK/agent.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/agent-out
probes: {proc: on}
store: {batch_ms: 100}
agent: {control_socket: $WORK/aod.sock}
YAML
if start_agent "$WORK/agent.yaml"; then
	db=$WORK/along.db
	timeout 60 "$AOD_BIN" trace -o "$db" --report /dev/null -- "$HELPERS/proc_tree" 2 2
	rc=$?
	sleep 1
	stop_agent
	t=$(sql "$db" "select tgid || ':' || exit_code from processes order by tgid" | tr '\n' ' ')
	a=$(sql "$WORK/agent-out/aod.db" "select tgid || ':' || exit_code from processes
		where comm = 'proc_tree' and exit_code is not null order by tgid" | tr '\n' ' ')
	check trace-alongside-agent "trace saw [$t], the agent [$a]; expected the same 7" \
		[ "$rc" = 0 ] && [ "$t" = "$a" ] && [ "$(echo $t | wc -w)" = 7 ]
else
	fail trace-alongside-agent "agent did not start: $(tail -n 3 "$AGENT_LOG")"
fi

# ---- 9. a bundle names an exited process with its command line and parents ----
if make_loop trace-bundle 64M "$WORK/disk.img"; then
	cat > "$WORK/bundle.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/bundle-out
probes: {proc: on}
guardian:
  anomalies:
    every_io:
      type: Latency
      tool: biolatency
      acceptable_count: 2
      holdoff_sec: 0
      track_devices: [{device: $DEV, threshold: 0}]
      actions: [mounts]
agent:
  control_socket: $WORK/aod.sock
YAML
	if start_agent "$WORK/bundle.yaml"; then
		marker=aod-trace-bundle-$$
		bash -c "dd if=$LOOP of=/dev/null bs=4k count=64 iflag=direct status=none; : $marker"
		wait_for 15 sh -c "ls '$WORK'/bundle-out/batches/*.tar.zst >/dev/null 2>&1"
		sleep 1
		stop_agent
		for b in "$WORK"/bundle-out/batches/*.tar.zst; do
			tar --zstd -xOf "$b" --wildcards '*summary.txt' 2>/dev/null
		done > "$WORK/summaries.txt"
		check trace-bundle-process "no summary names dd with its exit and its parent 'bash -c ... $marker'" \
			grep -A1 -E "^  [0-9]+  dd if=$LOOP of=/dev/null bs=4k count=64 iflag=direct status=none  \(exit 0\)" \
			"$WORK/summaries.txt" -m1 -q
		check trace-bundle-parent "the parent chain misses 'bash -c ... $marker'" \
			grep -qE "^    <- [0-9]+  bash -c dd .*: $marker" "$WORK/summaries.txt"
	else
		fail trace-bundle-process "agent did not start: $(tail -n 3 "$AGENT_LOG")"
	fi
fi

# ---- 10. failed execs (opt-in): exactly the two the shell tried ----
db=$WORK/fe.db
timeout 60 "$AOD_BIN" trace --failed-execs -o "$db" --report /dev/null -- \
	sh -c '/nonexistent-aod/x; /etc/passwd; exit 0'
got=$(sql "$db" "select path || ':' || error from events where kind = 'exec_failed' order by id" | tr '\n' ' ')
check trace-failed-execs "failed execs [$got], expected [/nonexistent-aod/x:-2 /etc/passwd:-13 ]" \
	[ "$got" = "/nonexistent-aod/x:-2 /etc/passwd:-13 " ]

# ---- 11. the cgroup id mapped to its unit ----
V2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
if [ -n "$V2" ] && mkdir "$V2/aod-trace-$$.scope" 2>/dev/null; then
	UCG=$V2/aod-trace-$$.scope
	db=$WORK/unit.db
	timeout 60 "$AOD_BIN" trace -o "$db" --report /dev/null -- \
		sh -c 'echo $$ > "$1/cgroup.procs" && exec /bin/true unit-test' sh "$UCG"
	read -r id unit <<< "$(sql "$db" "select cgroup_id, unit from processes where cmdline = '/bin/true unit-test'")"
	ino=$(stat -c %i "$UCG")
	rmdir "$UCG"
	check trace-cgroup-unit "cgroup_id $id unit '$unit'; expected $ino (the directory's inode) and aod-trace-$$.scope" \
		[ "$id:$unit" = "$ino:aod-trace-$$.scope" ]
else
	skip trace-cgroup-unit "no writable cgroup2 hierarchy"
fi

# ---- 12. through sudo: CMD runs as the invoking user ----
if id nobody >/dev/null 2>&1; then
	db=$WORK/sudo.db
	nuid=$(id -u nobody) ngid=$(id -g nobody)
	SUDO_UID=$nuid SUDO_GID=$ngid SUDO_USER=nobody timeout 60 "$AOD_BIN" trace -o "$db" --report /dev/null -- \
		sh -c 'id -u > "$1"' sh "$WORK/sudo-uid.txt" 2>/dev/null
	# nobody cannot write WORK (mode 700): the write fails, the uid in the store tells
	uids=$(sql "$db" "select distinct uid from processes" | tr '\n' ' ')
	check trace-sudo-user "processes ran as uid [$uids], expected only $nuid (SUDO_UID)" [ "$uids" = "$nuid " ]
else
	skip trace-sudo-user "no user nobody"
fi

# ---- 13. in-kernel filters: by comm and by executable pattern ----
printf '#!/bin/sh\nls / > /dev/null\nuname > /dev/null\n' > "$WORK/filt.sh"
chmod 755 "$WORK/filt.sh"
db=$WORK/filt.db
timeout 60 "$AOD_BIN" trace -o "$db" --json --report "$WORK/filt.json" --ignore-comm ls --ignore-exe '*.sh' -- "$WORK/filt.sh"
got=$(sql "$db" "select comm from processes order by start_ns" | tr '\n' ' ')
filtered=$(jq .counters.filtered "$WORK/filt.json")
check trace-filters "reported [$got] with $filtered filtered; expected only uname, 2 filtered (the script, ls)" \
	[ "$got:$filtered" = "uname :2" ]
