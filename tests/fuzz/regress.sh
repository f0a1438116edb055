#!/bin/bash
# Replay every regression input (tests/fuzz/regress/<harness>/) and the seed corpus through
# its harness, once each (a libFuzzer binary given files runs them and exits). Builds
# nothing: make fuzz-build does. One line per harness:
#   PASS: fuzz-regress-<harness> (N inputs) | FAIL: ...: why | SKIP: ...: why
# SKIP only when clang cannot link libFuzzer here.
set -u
. "$(dirname "$0")/lib.sh"
cd "$FUZZ_TOP"
BUILD=${AOD_FUZZ_BUILD:-build-fuzz}

if ! why=$(fuzz_available); then
	for h in $(fuzz_harnesses); do echo "SKIP: fuzz-regress-$h: $why"; done
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for h in $(fuzz_harnesses); do
	name=fuzz-regress-$h bin=$BUILD/fuzz/fuzz_$h
	if [ ! -x "$bin" ]; then
		echo "FAIL: $name: $bin missing (make fuzz-build)"
		continue
	fi
	fuzz_seeds "$h" "$work/$h"
	[ -d "tests/fuzz/regress/$h" ] && cp "tests/fuzz/regress/$h"/* "$work/$h"/ 2> /dev/null
	inputs=("$work/$h"/*)
	[ -e "${inputs[0]}" ] || { echo "FAIL: $name: no inputs"; continue; }
	log=$work/$h.log
	"$bin" -timeout=30 -rss_limit_mb=2048 "${inputs[@]}" > "$log" 2>&1
	rc=$?
	ran=$(grep -c '^Executed ' "$log")
	if [ $rc != 0 ]; then
		echo "FAIL: $name: exit $rc on $(grep '^Running: ' "$log" | tail -n1 | sed 's/^Running: //')"
		grep -m5 -E 'ERROR: |SUMMARY: |runtime error: |^bad |does not|changes' "$log" | sed 's/^/  | /'
	elif [ "$ran" != ${#inputs[@]} ]; then
		echo "FAIL: $name: ran $ran of ${#inputs[@]} inputs"
	else
		echo "PASS: $name (${#inputs[@]} inputs)"
	fi
done
