#!/bin/bash
# Run aod's tests. The last line is exactly "N passed, N failed, N skipped"; the exit status
# is non-zero iff something failed.
#   tests/run-all.sh [SUITE]...        (default: runner unit integration vm)
#
# A suite is one line of SUITES below, of one of two kinds:
#   binaries  every executable test_* in the directory is a cmocka program; each case counts
#             (OK passed, FAILED or ERROR failed, SKIPPED skipped, with the reason the case
#             printed as "SKIP: name: why" before calling skip()).
#   scripts   every *.sh in the directory that is not lib*.sh or _*.sh prints one line per case,
#             PASS: name | FAIL: name: why | SKIP: name: why, and exits 0.
# Each case counts once. A binary or script counts one failure of its own only when it failed
# without naming a failing case: it timed out, crashed, exited non-zero, or reported nothing.
# Every binary and script runs under `timeout -k`, and each suite has a budget in seconds:
#   AOD_TIMEOUT_<SUITE>        seconds per binary or script (default: the table's)
#   AOD_SUITE_TIMEOUT_<SUITE>  seconds for the whole suite; what does not fit is not run (SKIP)
#   AOD_TIMEOUT_KILL           seconds from SIGTERM to SIGKILL (default 10)
#   AOD_BUILD (default build), AOD_ASAN_BUILD (build-asan), AOD_TESTS (tests): where suites
#   live; tests/runner/selftest.sh points them at fake suites. Logs: $AOD_BUILD/test-logs/.
set -u
cd "$(dirname "$0")/.."
BUILD=${AOD_BUILD:-build}
ASAN_BUILD=${AOD_ASAN_BUILD:-build-asan}
TESTS=${AOD_TESTS:-tests}
case $BUILD in /*) bin=$BUILD/aod ;; *) bin=$PWD/$BUILD/aod ;; esac
export AOD_BUILD=$BUILD AOD_BIN=${AOD_BIN:-$bin} AOD_TOP=$PWD
KILL_AFTER=${AOD_TIMEOUT_KILL:-10}

# suite        kind      directory          per item  suite (seconds)
SUITES="
runner         scripts   TESTS/runner            120     300
unit           binaries  BUILD/tests             300    1800
asan           binaries  ASAN/tests              600    3600
integration    scripts   TESTS/integration       300    1800
vm             scripts   TESTS/vm                900    1800
fuzz           scripts   TESTS/fuzz              300     600
"

pass=0 fail=0 skip=0
failures=()
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"

# verdict KIND NAME [WHY [WHERE]]: print and count one case; WHERE prefixes it in failures:.
verdict() {
	case $1 in
	PASS) pass=$((pass + 1)); echo "PASS: $2${3:+: $3}" ;;
	FAIL) fail=$((fail + 1)); echo "FAIL: $2: ${3:-failed}"; failures+=("${4:+$4: }$2: ${3:-failed}") ;;
	SKIP) skip=$((skip + 1)); echo "SKIP: $2: ${3:-skipped, no reason given}" ;;
	esac
}

# run_limited SECONDS LOG CMD...: runs CMD under timeout -k, stdout and stderr to LOG,
# stdin from /dev/null. Sets rc, and timed_out=1 if the limit was hit.
run_limited() {
	local limit=$1 log=$2 t0; shift 2
	t0=$(date +%s)
	{ timeout -k "$KILL_AFTER" "$limit" "$@" > "$log" 2>&1 < /dev/null; } 2> /dev/null  # no "Killed"
	rc=$?
	timed_out=0
	# 124: timeout's TERM did it; 137: its KILL, -k seconds later (or some other KILL)
	if { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && [ $(($(date +%s) - t0)) -ge "$limit" ]; then
		timed_out=1
	fi
}

# cmocka's standard output (CMOCKA_MESSAGE_OUTPUT=stdout, stderr merged: cmocka flushes both
# after each line) -> one "PASS|FAIL|SKIP<TAB>case<TAB>why" line per case, then
# "UNFINISHED<TAB>case" if the program stopped inside a case, "SUMMARY" if it got to the end.
# The listing after "[==========] N test(s) run." repeats the verdicts: it is not counted.
parse_cmocka() {
	awk '
	function field(s, n) { sub(/^\[[^]]*\] /, "", s); return s }
	function add(s) { sub(/^ *(--- )?/, "", s); sub(/^\[   LINE   \] --- /, "", s)
		if (s != "") why = why == "" ? s : why "; " s }
	function out(kind, name, w) { gsub(/\t/, " ", w); print kind "\t" name "\t" w; cur = "" }
	done { next }
	/^\[==========\] [0-9]+ test\(s\) run\./ { done = 1; print "SUMMARY"; next }
	/^\[ RUN      \] / { cur = field($0); why = ""; skipwhy = ""; next }
	/^\[       OK \] / { out("PASS", field($0), ""); next }
	/^\[  SKIPPED \] / { out("SKIP", field($0), skipwhy); next }
	/^\[  FAILED  \] GROUP / { out("FAIL", tolower(field($0)), "failed" (why != "" ? ": " why : "")); group = 1; next }
	/^\[  FAILED  \] / { out("FAIL", field($0), why); next }
	/^\[  ERROR   \] --- / { add(substr($0, 18)); next }
	/^\[   LINE   \] --- / { add(substr($0, 18)); next }
	/^\[  ERROR   \] / { n = field($0)       # a setup or teardown that failed
		if (n == cur) out("FAIL", n, why)
		else if (!group) out("FAIL", n, "error" (why != "" ? ": " why : ""))
		next }
	cur != "" && /^(ERROR: |Could not run test)/ { add($0); next }
	cur != "" && /^SKIP: / { s = substr($0, 7); i = index(s, ": "); skipwhy = i ? substr(s, i + 2) : s; next }
	END { if (cur != "") print "UNFINISHED\t" cur }'
}

run_binary() { # suite limit binary
	local name log kind c why unfinished='' summary='' nfail=0 n=0
	name=$(basename "$3")
	log=$LOGDIR/$1-$name.log
	echo "== $1 $name"
	run_limited "$2" "$log" env CMOCKA_MESSAGE_OUTPUT=stdout "$3"
	while IFS=$'\t' read -r kind c why; do
		case $kind in
		SUMMARY) summary=1 ;;
		UNFINISHED) unfinished=$c ;;
		PASS) pass=$((pass + 1)); n=$((n + 1)) ;;
		FAIL) verdict FAIL "$name: $c" "$why"; nfail=$((nfail + 1)); n=$((n + 1)) ;;
		SKIP) verdict SKIP "$name: $c" "$why"; n=$((n + 1)) ;;
		esac
	done < <(parse_cmocka < "$log")
	why=
	if [ "$timed_out" = 1 ]; then
		why="timed out after $2 s${unfinished:+ (in $unfinished)}$capped"
	elif [ -n "$unfinished" ]; then
		why="$unfinished: did not finish (exit $rc)"
	elif [ "$nfail" = 0 ] && [ "$rc" != 0 ]; then
		why="exit $rc without a failing case"
	elif [ -z "$summary" ] || [ "$n" = 0 ]; then
		why="no cmocka summary or no case (exit $rc)"
	fi
	if [ -n "$why" ]; then
		verdict FAIL "$name" "$why (log: $log)"
		tail -n 20 "$log" | sed 's/^/  | /'
	fi
}

run_script() { # suite limit script
	local name log n l kind why
	name=$(basename "$3")
	log=$LOGDIR/$1-${name%.sh}.log
	echo "== $1 $name"
	run_limited "$2" "$log" bash "$3"
	n=0
	while IFS= read -r l; do
		n=$((n + 1))
		kind=${l%%: *} l=${l#*: } why=
		case $l in *': '*) why=${l#*: } l=${l%%: *} ;; esac
		verdict "$kind" "$l" "$why" "$name"
	done < <(grep -E '^(PASS|FAIL|SKIP): ' "$log")
	if [ "$timed_out" = 1 ]; then
		verdict FAIL "$name" "timed out after $2 s$capped (log: $log)"
	elif [ "$rc" != 0 ] && ! grep -q '^FAIL: ' "$log"; then
		verdict FAIL "$name" "exit $rc without a FAIL line (log: $log)"
	elif [ "$n" = 0 ]; then
		verdict FAIL "$name" "printed no PASS/FAIL/SKIP line (exit $rc, log: $log)"
	else
		return 0
	fi
	tail -n 30 "$log" | sed 's/^/  | /'
}

# items KIND DIR: what a suite runs, one per line.
items() {
	local f
	for f in "$2"/*; do
		case $1 in
		binaries) case ${f##*/} in test_*) [ -f "$f" ] && [ -x "$f" ] && echo "$f" ;; esac ;;
		scripts) case ${f##*/} in lib*.sh|_*) ;; *.sh) [ -f "$f" ] && echo "$f" ;; esac ;;
		esac
	done
}

run_suite() { # suite kind dir item-limit suite-limit
	local s=$1 kind=$2 dir=$3 limit=$4 budget=$5 up end left it list capped
	up=$(echo "$s" | tr a-z- A-Z_)
	eval "limit=\${AOD_TIMEOUT_$up:-$limit} budget=\${AOD_SUITE_TIMEOUT_$up:-$budget}"
	list=$(items "$kind" "$dir")
	if [ -z "$list" ]; then
		verdict FAIL "suite-$s" "nothing to run in $dir"
		return
	fi
	end=$(($(date +%s) + budget))
	for it in $list; do
		left=$((end - $(date +%s)))
		if [ "$left" -le 0 ]; then
			verdict SKIP "$(basename "$it")" "not run: suite $s used up its $budget s (AOD_SUITE_TIMEOUT_$up)"
			continue
		fi
		capped=
		if [ "$left" -lt "$limit" ]; then capped=" (all that was left of suite $s's $budget s)"; else left=$limit; fi
		if [ "$kind" = binaries ]; then run_binary "$s" "$left" "$it"; else run_script "$s" "$left" "$it"; fi
	done
}

for s in ${*:-runner unit integration vm}; do
	line=$(echo "$SUITES" | awk -v s="$s" '$1 == s')
	if [ -z "$line" ]; then
		echo "unknown suite $s (suites: $(echo "$SUITES" | awk 'NF {printf "%s ", $1}'))" >&2
		exit 2
	fi
	read -r _ kind dir limit budget <<< "$line"
	dir=${dir/#TESTS/$TESTS}; dir=${dir/#BUILD/$BUILD}; dir=${dir/#ASAN/$ASAN_BUILD}
	run_suite "$s" "$kind" "$dir" "$limit" "$budget"
done
if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"; printf '  %s\n' "${failures[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
