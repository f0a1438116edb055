#!/bin/bash
# Run aod's tests and end with "N passed, N failed[, N skipped]".
#   tests/run-all.sh [unit|integration|vm|asan]...   (default: unit integration vm)
# Unit tests: every $AOD_BUILD/tests/test_* binary (cmocka); each test case counts.
# Integration and VM tests: scripts that print one line per case,
#   PASS: name | FAIL: name: why | SKIP: name: why
# and exit 0; a script that exits non-zero without a FAIL line counts one failure.
set -u
cd "$(dirname "$0")/.."
BUILD=${AOD_BUILD:-build}
export AOD_BUILD=$BUILD AOD_BIN=$PWD/$BUILD/aod AOD_TOP=$PWD
suites=${*:-unit integration vm}
pass=0 fail=0 skip=0
failed_names=()
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"

last_fails=0
count_tap() { # file name; sets last_fails
	local f=$1 name=$2 p s l
	p=$(grep -c '^PASS: ' "$f") last_fails=$(grep -c '^FAIL: ' "$f") s=$(grep -c '^SKIP: ' "$f")
	pass=$((pass + p)) fail=$((fail + last_fails)) skip=$((skip + s))
	while IFS= read -r l; do failed_names+=("$name: ${l#FAIL: }"); done < <(grep '^FAIL: ' "$f")
}

run_unit() { # build-dir label
	local t log p f rc dir=$1 label=$2
	for t in "$dir"/tests/test_*; do
		[ -x "$t" ] || continue
		log=$LOGDIR/$label-$(basename "$t").log
		echo "== $label $(basename "$t")"
		CMOCKA_MESSAGE_OUTPUT=stdout "$t" > "$log" 2>&1
		rc=$?
		p=$(grep -c '^\[       OK \]' "$log")
		f=$(grep -E '^\[  (FAILED|ERROR)   ?\] [a-zA-Z_]' "$log" | grep -vc 'test(s)')
		pass=$((pass + p)) fail=$((fail + f))
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			fail=$((fail + 1)); failed_names+=("$(basename "$t"): exit $rc (see $log)")
		fi
		grep -E '^\[  (FAILED|ERROR)' "$log" | grep -v 'test(s)' | sed 's/^/  /'
		[ "$rc" != 0 ] && tail -n 20 "$log" | sed 's/^/  | /'
	done
}

run_scripts() { # dir kind
	local s log rc nf
	for s in "$1"/*.sh; do
		[ -f "$s" ] || continue
		case $(basename "$s") in lib*.sh|_*) continue ;; esac
		log=$LOGDIR/$2-$(basename "$s" .sh).log
		echo "== $2 $(basename "$s")"
		bash "$s" > "$log" 2>&1
		rc=$?
		grep -E '^(PASS|FAIL|SKIP): ' "$log" | sed 's/^/  /'
		count_tap "$log" "$(basename "$s")"
		if [ "$rc" != 0 ] && [ "$last_fails" = 0 ]; then
			fail=$((fail + 1)); failed_names+=("$(basename "$s"): exit $rc (see $log)")
			tail -n 30 "$log" | sed 's/^/  | /'
		fi
	done
}

for s in $suites; do
	case $s in
	unit) run_unit "$BUILD" unit ;;
	asan) # the unit tests again, built with ASan/UBSan (make check-asan builds them)
		if [ -d build-asan/tests ]; then run_unit build-asan asan
		else echo "SKIP: asan: build-asan/tests missing (make check-asan)"; skip=$((skip + 1)); fi ;;
	integration) run_scripts tests/integration integration ;;
	vm) run_scripts tests/vm vm ;;
	fuzz) run_scripts tests/fuzz fuzz ;; # replays regression inputs (make fuzz-build builds)
	*) echo "unknown suite $s" >&2; exit 2 ;;
	esac
done
if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failures:"; printf '  %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
