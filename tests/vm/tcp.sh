#!/bin/bash
# The TCP probe on Debian's 6.1 kernel in the QEMU guest of tests/vm/smbvm (where
# fentry and kprobes work, and tcp:tcp_rcvbuf_grow does not exist): the window-
# clamp fallbacks (fexit, kprobe + kretprobe on tcp_try_rmem_schedule) and the
# tracepoint programs in both modes. One short boot runs tests/vm/_guest-tcp.sh,
# which leaves its facts in the run's out dir; this script judges on the host.
#
#   tests/vm/tcp.sh                 set up (idempotent), boot, judge
#   tests/vm/tcp.sh --eval RUNDIR   judge a previous run again (no boot)
#
# Runs are kept in $SMBVM_DIR/tcp-runs/ (the last 3). Always exits 0: the
# verdicts are the lines (see tests/run-all.sh).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${AOD_TOP:-$(cd "$HERE/../.." && pwd)}
AOD=${AOD_BIN:-$TOP/build/aod}
export SMBVM_DIR=${SMBVM_DIR:-/var/tmp/aod-smbvm}
N=20   # as in _guest-tcp.sh
CASES="tcp-vm-boot tcp-vm-attach-fentry tcp-vm-attach-raw_tp-kprobe tcp-vm-connects-tp_btf
tcp-vm-connects-raw_tp tcp-vm-resets-tp_btf tcp-vm-resets-raw_tp tcp-vm-clamps-fentry
tcp-vm-clamps-kprobe tcp-vm-netem-latency tcp-vm-retransmits"

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
skip() { echo "SKIP: $1: $2"; }
info() { echo "INFO: $*"; }
skip_all() { local c; for c in $CASES; do skip "$c" "$1"; done; exit 0; }

boot() { # sets RUN
	local rc why
	[ "$(id -u)" = 0 ] || skip_all "needs root (qemu, the VM's state)"
	[ -x "$AOD" ] || skip_all "no agent binary at $AOD (run make)"
	[ -x "$(dirname "$AOD")/tests/tcp_load" ] || skip_all "no tcp_load helper next to $AOD (make tests-build)"
	mkdir -p "$SMBVM_DIR/tcp-runs" || skip_all "cannot create $SMBVM_DIR"
	RUN=$(mktemp -d "$SMBVM_DIR/tcp-runs/$(date +%Y%m%d-%H%M%S).XXXX")
	ls -1d "$SMBVM_DIR"/tcp-runs/*/ 2> /dev/null | head -n -3 | while read -r d; do rm -rf "$d"; done
	info "run dir $RUN"
	if ! "$HERE/smbvm/setup.sh" > "$RUN/setup.log" 2>&1; then
		why=$(grep '^setup: ' "$RUN/setup.log" | tail -n 1)
		skip_all "VM setup (tests/vm/smbvm/setup.sh) failed: ${why:-$(tail -n 1 "$RUN/setup.log")}"
	fi
	mkdir -p "$RUN/out"
	(cd "$TOP" && "$HERE/smbvm/run.sh" -n -t 240 -o "$RUN/out" -- \
		bash "$HERE/_guest-tcp.sh" "$RUN/out" "$AOD") > "$RUN/console.log" 2>&1
	rc=$?
	echo "$rc" > "$RUN/vm.rc"
}

F() { awk -v k="$1" 'index($0, k "=") == 1 { v = substr($0, length(k) + 2) } END { if (v != "") print v }' "$RUN/out/facts" 2> /dev/null; }
num() { local v; v=$(F "$1"); echo "${v:--1}"; }

judge() {
	local rc m
	rc=$(cat "$RUN/vm.rc" 2> /dev/null)
	if [ "$rc" = 0 ] && [ -n "$(F guest.done)" ]; then
		pass tcp-vm-boot
	else
		fail tcp-vm-boot "run.sh exit $rc (last guest line: $(grep '^guest ' "$RUN/console.log" | tail -n 1); see $RUN/console.log)"
		for c in $CASES; do [ "$c" = tcp-vm-boot ] || skip "$c" "not run (see tcp-vm-boot)"; done
		return
	fi
	info "guest kernel $(F kernel), cases took $(F guest.seconds) s of guest time"
	m=$(F auto.mode)
	[ "$m" = "attached tp_btf+fentry" ] && pass tcp-vm-attach-fentry || fail tcp-vm-attach-fentry "auto: '$m' (expected tp_btf+fentry: no tcp_rcvbuf_grow on 6.1)"
	m=$(F forced.mode)
	[ "$m" = "attached raw_tp+kprobe" ] && pass tcp-vm-attach-raw_tp-kprobe || fail tcp-vm-attach-raw_tp-kprobe "forced: '$m'"
	for run in auto:tp_btf forced:raw_tp; do
		local n=${run%%:*} mode=${run#*:} ok refused
		ok=$(F "$n.connect_out" | sed -n 's/.*ok=\([0-9]*\).*/\1/p')
		if [ "${ok:-0}" = $N ] && [ "$(num "$n.connect_hist")" = $N ] && [ "$(num "$n.accept_hist")" = $N ]; then
			pass "tcp-vm-connects-$mode"
		else
			fail "tcp-vm-connects-$mode" "$(F "$n.connect_out"); connect histogram +$(num "$n.connect_hist"), accept +$(num "$n.accept_hist")"
		fi
		refused=$(F "$n.closed_out" | sed -n 's/.*refused=\([0-9]*\).*/\1/p')
		info "$n: closed port: $refused refused; resets received +$(num "$n.resets_received"), sent +$(num "$n.resets_sent") (6.1 traces no reset sent without a socket)"
		if [ "${refused:-0}" = $N ] && [ "$(num "$n.resets_received")" = $N ]; then pass "tcp-vm-resets-$mode"
		else fail "tcp-vm-resets-$mode" "$(F "$n.closed_out"); resets received +$(num "$n.resets_received")"; fi
	done
	for run in auto:fentry forced:kprobe; do
		local n=${run%%:*} hook=${run#*:} small dflt
		small=$(num "$n.clamps_small") dflt=$(num "$n.clamps_default")
		info "$n ($hook): window clamps +$small with a 4 KiB receive buffer, +$dflt with the default one"
		if [ "$small" -ge 1 ] && [ "$dflt" = 0 ]; then pass "tcp-vm-clamps-$hook"
		else fail "tcp-vm-clamps-$hook" "+$small with SO_RCVBUF 4 KiB (expected >= 1), +$dflt with the default (expected 0)"; fi
	done
	if [ -n "$(F skip.netem)" ]; then
		skip tcp-vm-netem-latency "$(F skip.netem)"; skip tcp-vm-retransmits "$(F skip.netem)"
	else
		local c a
		c=$(num auto.slow_connect_mean_ms) a=$(num auto.slow_accept_mean_ms)
		info "netem 100 ms on lo: $(num auto.slow_connects) connects, mean $c ms; $(num auto.slow_accepts) accepts, mean $a ms (SYN-ACK -> ACK)"
		if [ "$(num auto.slow_connects)" = 3 ] && [ "$(num auto.slow_accepts)" = 3 ] && [ "$c" -ge 200 ] && [ "$a" -ge 200 ]; then
			pass tcp-vm-netem-latency
		else
			fail tcp-vm-netem-latency "$(F auto.slow_out); connects mean $c ms, accepts mean $a ms (expected >= 200: two crossings of lo)"
		fi
		info "netem 10 % loss, 4 MB: aod retransmits +$(num auto.retransmits), TcpRetransSegs +$(num auto.retrans_segs); $(F auto.loss_out)"
		if [ "$(num auto.retrans_segs)" -ge 3 ] && [ "$(num auto.retransmits)" = "$(num auto.retrans_segs)" ]; then
			pass tcp-vm-retransmits
		else
			fail tcp-vm-retransmits "aod +$(num auto.retransmits), TcpRetransSegs +$(num auto.retrans_segs)"
		fi
	fi
	info "guest part: $(F guest.seconds) s"   # speed is for make bench, not a pass condition
}

if [ "${1:-}" = --eval ]; then
	RUN=$(cd "${2:?--eval RUNDIR}" && pwd) || exit 2
else
	boot
fi
judge
exit 0
