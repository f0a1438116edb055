#!/bin/bash
# aod hist against a running agent, on a loop device of our own (so that every
# request on it is ours): the histograms' counts against /sys/block/X/stat,
# cumulative and per interval, in biolatency's format; bad arguments.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf hist || exit 0
ODIO=$HELPERS/odirect_io
[ -x "$ODIO" ] || { fail hist-helpers "$ODIO missing (make tests-build)"; exit 0; }
make_workdir
make_loop hist 64M || exit 0
cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
agent: {control_socket: $WORK/aod.sock}
http: {listen: ""}
probes: {block: on, tcp: off, smb: off}
YAML
sys_ops() { awk '{print $1 + $5}' "/sys/block/$DEV/stat"; }
S0=$(sys_ops)   # the loop device is new: everything on it from here on is ours
if ! start_agent "$WORK/aod.yaml"; then
	fail hist-agent-start "$(tail -n 5 "$WORK/agent.log" | tr '\n' ' ')"; exit 0
fi
H=("$AOD_BIN" hist --socket "$WORK/aod.sock")
# the total of every histogram printed: "(count N, ...)" headers
total() { sed -n 's/.*(count \([0-9]*\), mean.*/\1/p' | awk '{s += $1} END {print s + 0}'; }
# the sum of the count column of the biolatency table
table_total() { awk -F: '/ -> / {split($2, a, " "); s += a[1]} END {print s + 0}'; }

# ---- cumulative: every request since the probe attached -----------------------------
"$ODIO" -n "$LOOP" 100 >/dev/null
sleep 0.5
S1=$(sys_ops)
"${H[@]}" block --device "$DEV" > "$WORK/cum.txt" 2> "$WORK/cum.err"; rc=$?
got=$(total < "$WORK/cum.txt") tab=$(table_total < "$WORK/cum.txt")
check "hist-cumulative (+$got in the histograms, +$((S1 - S0)) in /sys/block/$DEV/stat)" \
	"rc $rc, histograms $got, table $tab, /sys +$((S1 - S0)): $(head -c 300 "$WORK/cum.txt" "$WORK/cum.err" | tr '\n' ' ')" \
	test $rc = 0 -a "$got" = $((S1 - S0)) -a "$tab" = "$got" -a "$got" -ge 200
# biolatency's layout: header, then "lo -> hi : count |stars|" rows
if grep -q '^ *usecs *: count *distribution$' "$WORK/cum.txt" &&
   grep -Eq '^ +[0-9]+ -> [0-9]+ +: [0-9]+ +\|\*+ *\|$' "$WORK/cum.txt" &&
   grep -q "^device = $DEV, operation = \(read\|write\)" "$WORK/cum.txt"; then
	pass hist-biolatency-format
else fail hist-biolatency-format "$(head -n 8 "$WORK/cum.txt" | tr '\n' '|')"; fi

# ---- an interval: only what it added ------------------------------------------------
"${H[@]}" block --device "$DEV" --interval 3 --count 1 > "$WORK/iv.txt" 2> "$WORK/iv.err" &
hp=$!
sleep 0.8
a=$(sys_ops); "$ODIO" -n "$LOOP" 30 >/dev/null; b=$(sys_ops)
wait $hp; rc=$?
got=$(total < "$WORK/iv.txt")
check "hist-interval-delta (+$got in the interval, /sys/block/$DEV/stat +$((b - a)))" \
	"rc $rc, interval shows $got, /sys +$((b - a)): $(head -c 300 "$WORK/iv.txt" "$WORK/iv.err" | tr '\n' ' ')" \
	test $rc = 0 -a "$got" = $((b - a)) -a "$got" -ge 60
"${H[@]}" block --device "$DEV" --interval 1 --count 1 > "$WORK/quiet.txt" 2>&1
check hist-quiet-interval "$(tr '\n' ' ' < "$WORK/quiet.txt")" grep -q '^(no samples in this interval)$' "$WORK/quiet.txt"
"${H[@]}" smb > "$WORK/smb.txt" 2>&1
check hist-probe-not-loaded "$(tr '\n' ' ' < "$WORK/smb.txt")" grep -q '^smb: probe not loaded' "$WORK/smb.txt"

# ---- bad arguments ------------------------------------------------------------------
bad() { # name want-in-stderr args...
	local name=$1 want=$2 out rc; shift 2
	out=$("${H[@]}" "$@" 2>&1); rc=$?
	if [ $rc = 2 ] && grep -qF -- "$want" <<< "$out"; then pass "$name"
	else fail "$name" "exit $rc: $out"; fi
}
bad hist-bad-kind "expected smb, block or tcp, got 'disks'" disks
bad hist-bad-interval "--interval: expected an integer from 1 to 86400, got '0'" --interval 0
bad hist-bad-filter "--device selects block histograms" smb --device "$DEV"
bad hist-count-needs-interval "--count needs --interval" --count 2
stop_agent
out=$("${H[@]}" 2>&1); rc=$?
check hist-no-agent "exit $rc: $out" test $rc = 1 -a -n "$out"
