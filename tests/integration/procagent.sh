#!/bin/bash
# The agent with probes.proc on, against ground truth:
#  - its store maps a process's cgroup id to the unit (issue 8 §1): a
#    process moved by this test into a cgroup2 directory named like a scope
#    ("aod-pa-PID.scope") and one into "aod-pa-PID.service/y" (the last
#    component naming a service or scope) get those units; a process in a
#    cgroup naming none (this test's own, or a plain "aod-pa-PID-plain")
#    gets NULL;
# The store is read with Python's sqlite3 (not aod's code).
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf procagent || exit 0
command -v python3 >/dev/null || { skip procagent "python3 missing (make check installs it)"; exit 0; }
make_workdir
CGS=()
cleanup() {
	stop_agent 2>/dev/null
	for ((i = ${#CGS[@]} - 1; i >= 0; i--)); do rmdir "${CGS[$i]}" 2>/dev/null; done
	rm -rf "$WORK"
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
