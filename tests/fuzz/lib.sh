#!/bin/bash
# Shared by make fuzz-build, scripts/fuzz.sh (make fuzz) and tests/fuzz/regress.sh.
#   tests/fuzz/lib.sh available      exit 0 if clang can link a libFuzzer binary, else print why
#   . tests/fuzz/lib.sh              defines fuzz_available, fuzz_harnesses, fuzz_seeds
# Seeds: config from tests/configs and config/aod.yaml, record from every line of
# tests/data/*.jsonl, plus the hand-written files under tests/fuzz/corpus/<harness>/.

FUZZ_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

fuzz_available() {
	local cc=${CLANG:-clang} dir rc
	command -v "$cc" > /dev/null || { echo "$cc not installed"; return 1; }
	dir=$(mktemp -d) || return 1
	echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' > "$dir/t.c"
	"$cc" -fsanitize=fuzzer,address,undefined -o "$dir/t" "$dir/t.c" > "$dir/log" 2>&1
	rc=$?
	[ $rc = 0 ] || echo "$cc cannot link -fsanitize=fuzzer (libclang-rt-dev missing?): $(head -n1 "$dir/log")"
	rm -rf "$dir"
	return $rc
}

# Harness names: fuzz_config.c -> config
fuzz_harnesses() {
	local f
	for f in "$FUZZ_TOP"/tests/fuzz/fuzz_*.c; do
		f=${f##*/fuzz_}
		echo "${f%.c}"
	done
}

# fuzz_seeds HARNESS DIR: fill DIR with the harness's seed inputs.
fuzz_seeds() {
	local h=$1 dir=$2 f
	mkdir -p "$dir"
	[ -d "$FUZZ_TOP/tests/fuzz/corpus/$h" ] && cp "$FUZZ_TOP/tests/fuzz/corpus/$h"/* "$dir"/ 2> /dev/null
	case $h in
	config)
		for f in "$FUZZ_TOP"/tests/configs/*/*.yaml "$FUZZ_TOP"/config/aod.yaml; do
			cp "$f" "$dir/$(basename "$(dirname "$f")")-$(basename "$f")"
		done ;;
	record)
		for f in "$FUZZ_TOP"/tests/data/*.jsonl; do
			split -l 1 -d -a 3 "$f" "$dir/$(basename "$f" .jsonl)-"
		done ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1:-} in
	available) fuzz_available ;;
	*) echo "usage: $0 available" >&2; exit 2 ;;
	esac
fi
