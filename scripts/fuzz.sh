#!/bin/bash
# make fuzz: run each harness for FUZZ_SECONDS (default 60) and print, per harness,
# execs/s (libFuzzer's final stats) and findings.
#   scripts/fuzz.sh [BUILD_DIR] [HARNESS...]        (default build-fuzz, every harness)
# Corpora grow in BUILD_DIR/fuzz-corpus/<harness> (seeded from lib.sh's seeds), with
# tests/fuzz/<harness>.dict as libFuzzer's dictionary where there is one. Every
# crash, leak, timeout or OOM input is copied to tests/fuzz/regress/<harness>/, which
# make check replays (tests/fuzz/regress.sh). After a finding the harness is restarted
# for the rest of its time, at most MAX_RUNS times.
set -u
. "$(dirname "$0")/../tests/fuzz/lib.sh"
cd "$FUZZ_TOP"
BUILD=${1:-build-fuzz}
shift $(($# > 0 ? 1 : 0))
SECONDS_EACH=${FUZZ_SECONDS:-60}
MAX_RUNS=5
harnesses=${*:-$(fuzz_harnesses)}
total_findings=0 total_secs=0

# stat NAME LOG: the last "stat::NAME: N" libFuzzer printed, or 0
stat() { grep "^stat::$1:" "$2" | tail -n1 | awk '{print $2}' | grep . || echo 0; }

# fuzz_one HARNESS: sets execs, secs, findings
fuzz_one() {
	local h=$1 bin=$BUILD/fuzz/fuzz_$1 corpus=$BUILD/fuzz-corpus/$1 seeds=$BUILD/fuzz-seeds/$1
	local art=$BUILD/fuzz-artifacts/$1 log=$BUILD/fuzz-logs/$1.log left=$SECONDS_EACH
	local runs=0 start now f dict=()
	execs=0 secs=0 findings=0
	[ -f tests/fuzz/$h.dict ] && dict=(-dict="tests/fuzz/$h.dict")
	rm -rf "$seeds" "$art"
	mkdir -p "$corpus" "$art" "$(dirname "$log")" tests/fuzz/regress/"$h"
	fuzz_seeds "$h" "$seeds"
	: > "$log"
	while [ "$left" -gt 0 ] && [ $runs -lt $MAX_RUNS ]; do
		runs=$((runs + 1))
		start=$(date +%s)
		"$bin" -max_total_time="$left" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
			"${dict[@]}" -artifact_prefix="$art/" "$corpus" "$seeds" > "$log.run" 2>&1
		now=$(date +%s)
		cat "$log.run" >> "$log"
		execs=$((execs + $(stat number_of_executed_units "$log.run")))
		secs=$((secs + now - start))
		left=$((SECONDS_EACH - secs))
		ls "$art" | grep -qE '^(crash|leak|timeout|oom)-' || break
		for f in "$art"/*; do
			case $(basename "$f") in crash-*|leak-*|timeout-*|oom-*) ;; *) continue ;; esac
			cp "$f" tests/fuzz/regress/"$h"/
			echo "  finding: tests/fuzz/regress/$h/$(basename "$f")"
			grep -m3 -E 'ERROR: |SUMMARY: |runtime error: ' "$log.run" | sed 's/^/    /'
			findings=$((findings + 1))
			rm -f "$f"
		done
	done
	rm -f "$log.run"
	[ $findings = 0 ] || echo "  log: $log"
}

for h in $harnesses; do
	if [ ! -x "$BUILD/fuzz/fuzz_$h" ]; then
		echo "fuzz $h: $BUILD/fuzz/fuzz_$h missing (make fuzz-build)"
		total_findings=$((total_findings + 1))
		continue
	fi
	echo "== fuzz $h (${SECONDS_EACH}s)"
	fuzz_one "$h"
	printf 'fuzz %-8s %6ss %10s execs %8s execs/s  corpus %5s  findings %s\n' "$h" "$secs" \
		"$execs" "$((execs / (secs > 0 ? secs : 1)))" "$(ls "$BUILD/fuzz-corpus/$h" | wc -l)" \
		"$findings"
	total_findings=$((total_findings + findings)) total_secs=$((total_secs + secs))
done
echo "fuzzed ${total_secs}s in total, $total_findings findings"
[ "$total_findings" = 0 ]
