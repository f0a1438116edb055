#!/bin/bash
# The BPF probes on this host's kernel, through `aod record` (probes loaded
# with every threshold at 0): real O_DIRECT I/O shows up as block events in
# both attach modes (tp_btf, raw_tp), the SMB probe waits for the cifs
# module, a bad forced mode degrades instead of aborting, and nothing of
# aod stays attached afterwards.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf probes || exit 0
need_tools probes jq bpftool || exit 0
make_workdir

ODIRECT=$HELPERS/odirect_io

# record NAME [ENV=VALUE...]: aod record for 3 s (from the attach on) while odirect_io runs.
record() {
	local name=$1; shift
	env "$@" "$AOD_BIN" record --duration 3 "$WORK/$name.jsonl" 2> "$WORK/$name.err" &
	local pid=$!
	# attached or failed (then it prints the probes' states), however loaded the machine is
	wait_for 20 bash -c "grep -q '^aod record: probe block' '$WORK/$name.err' || ! kill -0 $pid"
	agent_link_ids "$pid" > "$WORK/$name.links"
	"$ODIRECT" "$WORK/io.dat" 16 4096 > /dev/null 2>> "$WORK/$name.err"
	wait "$pid"
	echo $? > "$WORK/$name.rc"
}

# Block events of odirect_io in a recording: reads and writes, with a disk and a latency.
io_events() { # file op
	jq -c "select(.kind == \"blk_slow\" and .comm == \"odirect_io\" and .op == \"$2\"
		and .disk != \"\" and .latency_ns > 0)" "$1" 2>/dev/null | wc -l
}

if ! "$ODIRECT" "$WORK/io.dat" 4 4096 > /dev/null; then
	fail odirect-io "odirect_io failed on $WORK"
else
	pass odirect-io
fi
"$ODIRECT" "$WORK/io.dat" 2>/dev/null
check odirect-io-usage "usage error should exit 2" test $? = 2

for mode in tp_btf raw_tp; do
	record "rec-$mode" AOD_BLK_ATTACH=$mode
	w=$(io_events "$WORK/rec-$mode.jsonl" write)
	r=$(io_events "$WORK/rec-$mode.jsonl" read)
	if [ "$(cat "$WORK/rec-$mode.rc")" = 0 ] && [ "$w" -ge 16 ] && [ "$r" -ge 16 ]; then
		pass "block-events-$mode"
	else
		fail "block-events-$mode" "rc $(cat "$WORK/rec-$mode.rc"), $w writes and $r reads of 16 seen; $(tr '\n' ' ' < "$WORK/rec-$mode.err" | tail -c 400)"
	fi
done

if grep -q 'probe block attached' "$WORK/rec-tp_btf.err"; then pass block-attached
else fail block-attached "$(tr '\n' ' ' < "$WORK/rec-tp_btf.err" | tail -c 300)"; fi

if [ -e /sys/module/cifs ]; then
	skip smb-waiting "the cifs module is loaded on this host"
elif grep -q 'probe smb waiting: cifs module not loaded' "$WORK/rec-tp_btf.err"; then
	pass smb-waiting
else
	fail smb-waiting "$(grep 'probe smb' "$WORK/rec-tp_btf.err")"
fi

# A forced mode that does not exist: the probe fails visibly, the run goes on.
record rec-bogus AOD_BLK_ATTACH=bogus
if [ "$(cat "$WORK/rec-bogus.rc")" = 0 ] &&
   grep -q 'probe block failed: AOD_BLK_ATTACH=bogus' "$WORK/rec-bogus.err"; then
	pass bad-mode-degrades
else
	fail bad-mode-degrades "rc $(cat "$WORK/rec-bogus.rc"): $(tr '\n' ' ' < "$WORK/rec-bogus.err" | tail -c 300)"
fi

# Every link the recordings held is gone once they exited.
held=$(cat "$WORK"/rec-tp_btf.links "$WORK"/rec-raw_tp.links | wc -w)
if [ "$held" -lt 4 ]; then
	fail no-links-left "the recordings held $held links, expected at least 2 each"
else
	check no-links-left "links still attached after aod record exited: $(cat "$WORK"/rec-*.links)" \
		bpf_ids_gone link $(cat "$WORK"/rec-*.links)
fi
