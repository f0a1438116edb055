#!/bin/bash
# The command line: usage errors, help for every subcommand, check-config on
# the shipped and invalid configs, record on the real kernel then replay.
set -u
. "$(dirname "$0")/lib.sh"
need_tools cli jq || exit 0
WORK=$(mktemp -d /var/tmp/aod-cli.XXXXXX); trap 'rm -rf "$WORK"' EXIT

rc_is() { # name expected-rc cmd...
	local name=$1 want=$2 out rc; shift 2
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" = "$want" ]; then pass "$name"; else fail "$name" "exit $rc (want $want): $(echo "$out" | head -c 200)"; fi
}
rc_is version 0 "$AOD_BIN" --version
"$AOD_BIN" --version | grep -Eq '^aod [0-9]+\.[0-9]+\.[0-9]+$'
check version-format "--version prints 'aod X.Y.Z'" test $? = 0
rc_is no-args 2 "$AOD_BIN"
rc_is unknown-command 2 "$AOD_BIN" frobnicate
for c in agent check-config status record replay snapshot hist bundles query; do
	rc_is "help-$c" 0 "$AOD_BIN" help "$c"
	"$AOD_BIN" "$c" --help | grep -q "usage: aod $c"
	check "usage-$c" "'aod $c --help' prints no usage line" test $? = 0
	rc_is "bad-option-$c" 2 "$AOD_BIN" "$c" --no-such-option
done
rc_is check-config-default 0 "$AOD_BIN" check-config "$AOD_TOP/config/aod.yaml"
rc_is check-config-missing-file 1 "$AOD_BIN" check-config "$WORK/none.yaml"
for f in "$AOD_TOP"/tests/configs/valid/*.yaml; do
	rc_is "check-config-valid-$(basename "$f" .yaml)" 0 "$AOD_BIN" check-config "$f"
done
bad=0 nbad=0
for f in "$AOD_TOP"/tests/configs/invalid/*.yaml; do
	nbad=$((nbad + 1))
	"$AOD_BIN" check-config "$f" >/dev/null 2>"$WORK/err"; rc=$?
	out=$(grep -v ' aod warning: ' "$WORK/err")
	# one error line: FILE:LINE:COL: ... (warnings may precede it)
	if [ "$rc" != 2 ] || ! echo "$out" | grep -Eq "$(basename "$f"):[0-9]+:[0-9]+: " || [ "$(echo "$out" | wc -l)" != 1 ]; then
		bad=$((bad + 1)); echo "  $f -> rc $rc: $out"
	fi
done
check "check-config-invalid-corpus ($nbad files)" "$bad files without exit 2 and one file:line:col line" test "$bad" = 0 -a "$nbad" -ge 20
rc_is agent-bad-config 2 "$AOD_BIN" agent --config "$AOD_TOP/tests/configs/invalid/$(ls "$AOD_TOP/tests/configs/invalid" | head -n1)"
rc_is record-bad-duration 2 "$AOD_BIN" record --duration 1x "$WORK/r.jsonl"
rc_is record-no-file 2 "$AOD_BIN" record --duration 1
rc_is status-no-agent 1 "$AOD_BIN" status --socket "$WORK/none.sock"
rc_is replay-missing-file 1 "$AOD_BIN" replay "$WORK/none.jsonl"
printf '{"aod_record":1}\n{"kind":"smb_slow","pid":1}\n' > "$WORK/bad.jsonl"
out=$("$AOD_BIN" replay "$WORK/bad.jsonl" 2>&1); rc=$?
check replay-bad-line "exit $rc: $out" bash -c "[ $rc != 0 ] && echo '$out' | grep -q 'bad.jsonl:2'"

# record on the real kernel, then replay with two thresholds
if [ "$(id -u)" = 0 ] && [ -r /sys/kernel/btf/vmlinux ]; then
	"$AOD_BIN" record --duration 3 "$WORK/rec.jsonl" 2>"$WORK/rec.err" &
	rpid=$!
	# the 3 s start once the probes are attached (or failed), however loaded the machine is
	wait_for 20 bash -c "grep -q '^aod record: probe block' '$WORK/rec.err' || ! kill -0 $rpid"
	"$HELPERS/odirect_io" "$WORK/io.dat" 32 4096 >/dev/null
	wait $rpid; rc=$?
	n=$(grep -c '"kind":"blk_slow"' "$WORK/rec.jsonl")
	check "record-block-events ($n)" "rc $rc, $n blk events: $(tail -n 2 "$WORK/rec.err")" test "$rc" = 0 -a "$n" -ge 32
	head -n1 "$WORK/rec.jsonl" | jq -e '.aod_record == 1' >/dev/null
	check record-header "first line is not the header" test $? = 0
	mkcfg() { printf 'watch_interval_sec: 1\naod_output_dir: %s/o\nguardian:\n  anomalies:\n    b: {type: Latency, tool: biolatency, acceptable_count: 8, default_threshold_ms: %s}\n' "$WORK" "$1" > "$2"; }
	mkcfg 0 "$WORK/low.yaml"; mkcfg 60000 "$WORK/high.yaml"
	"$AOD_BIN" replay "$WORK/rec.jsonl" --config "$WORK/low.yaml" --json > "$WORK/low.out" 2>&1; rc_low=$?
	"$AOD_BIN" replay "$WORK/rec.jsonl" --config "$WORK/high.yaml" --json > "$WORK/high.out" 2>&1; rc_high=$?
	low=$(grep -c '"source":"block"' "$WORK/low.out") high=$(grep -c '"source":"block"' "$WORK/high.out")
	check "replay-thresholds (0 ms: $low, 60 s: $high)" "low $low (exit $rc_low) high $high (exit $rc_high)" \
		test "$low" -ge 1 -a "$high" = 0 -a "$rc_low" = 0 -a "$rc_high" = 0
else
	skip record-replay "needs root and BTF"
fi
