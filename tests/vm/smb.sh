#!/bin/bash
# SMB end to end, for real: Debian's 6.1 kernel in QEMU (TCG), a local smbd, the kernel cifs
# client, and aod's agent running inside the guest from the build tree.
# ONE boot runs tests/vm/_guest-smb.sh, which drives every case and leaves its facts in the
# run's out dir; this script then judges on the host and prints PASS/FAIL/SKIP lines.
#
#   tests/vm/smb.sh                 set up (idempotent, apt-get), boot, judge
#   tests/vm/smb.sh --eval RUNDIR   judge a previous run again (no boot)
#
# Env: AOD_BIN (default build/aod), SMBVM_DIR (default /var/tmp/aod-smbvm; runs in
# $SMBVM_DIR/runs/), SMBVM_SAVE_RECORD=1 copies the netem recording to
# tests/data/smb-vm-netem.jsonl.
# Always exits 0: the verdicts are the lines (see tests/run-all.sh).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${AOD_TOP:-$(cd "$HERE/../.." && pwd)}
AOD=${AOD_BIN:-$TOP/build/aod}
export SMBVM_DIR=${SMBVM_DIR:-/var/tmp/aod-smbvm}
MODES="raw_tp tp_btf fentry kprobe"
CASES="smb-vm-boot smb-late-module-attach smb-late-module-events smb-latency-anomaly smb-record
smb-error-anomaly smb-bundle-latency smb-bundle-error smb-reconnect-agent-up smb-reconnect-events
smb-agent-sigterm smb-probe-attach smb-attach-raw_tp smb-attach-tp_btf smb-attach-fentry smb-attach-kprobe
smb-stuck-anomaly smb-stuck-bundle smb-stuck-recovers smb-stuck-not-twice
smb-metrics-share-latency smb-metrics-share-errors smb-metrics-reconnects smb-metrics-stuck
smb-metrics-in-flight smb-prom-start"
VM_TIMEOUT=700   # boot (15-30 s, more on a loaded host) + the guest budget (600 s) + margin
LAT_THRESHOLD_NS=20000000   # default_threshold_ms in _guest-smb.sh's config
NETEM_MIN_NS=90000000       # netem 50 ms on lo delays request and reply: >= ~100 ms per command
ACCEPTABLE=3
. "$TOP/tests/integration/lib-prom.sh"

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
skip() { echo "SKIP: $1: $2"; }
info() { echo "INFO: $*"; }
skip_all() { local c; for c in smb-vm-setup $CASES; do skip "$c" "$1"; done; exit 0; }
fail_setup() { # as root the setup must work: one FAIL for it, the cases cannot run
	local c
	fail smb-vm-setup "$1"
	for c in $CASES; do skip "$c" "not run: setup failed"; done
	exit 0
}
fail_first() { # one FAIL for the boot, the other cases cannot run
	local c
	fail smb-vm-boot "$1"
	for c in $CASES; do [ "$c" = smb-vm-boot ] || skip "$c" "not run (see smb-vm-boot)"; done
	exit 0
}

# ---------------------------------------------------------------------------- run the VM --
boot() { # sets RUN
	local t0 t1 t2 rc why
	[ "$(id -u)" = 0 ] || skip_all "needs root (apt-get, qemu, samba state)"
	[ -x "$AOD" ] || fail_setup "no agent binary at $AOD (run make)"
	mkdir -p "$SMBVM_DIR/runs" 2> /dev/null || fail_setup "cannot create $SMBVM_DIR/runs"
	RUN=$(mktemp -d "$SMBVM_DIR/runs/$(date +%Y%m%d-%H%M%S).XXXX") || fail_setup "cannot create a run dir in $SMBVM_DIR/runs"
	# keep the last 5 runs for debugging
	ls -1d "$SMBVM_DIR"/runs/*/ 2> /dev/null | head -n -5 | while read -r d; do rm -rf "$d"; done
	info "run dir $RUN"
	t0=$(date +%s.%N)
	if ! "$HERE/smbvm/setup.sh" > "$RUN/setup.log" 2>&1; then
		why=$(grep '^setup: ' "$RUN/setup.log" | tail -n 1)
		fail_setup "tests/vm/smbvm/setup.sh failed: ${why:-$(tail -n 1 "$RUN/setup.log")} (log: $RUN/setup.log)"
	fi
	pass smb-vm-setup
	t1=$(date +%s.%N)
	mkdir -p "$RUN/out"
	(cd "$TOP" && "$HERE/smbvm/run.sh" -n -t "$VM_TIMEOUT" -o "$RUN/out" -- \
		bash "$HERE/_guest-smb.sh" "$RUN/out" "$AOD") > "$RUN/console.log" 2>&1
	rc=$?
	t2=$(date +%s.%N)
	echo "$rc" > "$RUN/vm.rc"
	awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN{printf "setup=%.1f\nvm=%.1f\n", b-a, c-b}' > "$RUN/times"
}

# ------------------------------------------------------------------------------- helpers --
F() { # fact value (last one wins), empty if absent
	[ -f "$OUT/facts" ] || return 0
	awk -v k="$1" 'index($0, k "=") == 1 { v = substr($0, length(k) + 2) } END { if (v != "") print v }' "$OUT/facts"
}
has() { [ -n "$(F "$1")" ]; }
secs() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }   # centiseconds -> "S.CC"
smb_lines() { grep -Ei '(^|[[:space:]])smb([[:space:]:]|$)' "$1" 2> /dev/null | head -n 3 | tr -s ' \t\n' ' '; }
agent_why() { # name: why an agent run did not get where it should have
	local n=$1 d=$OUT/$1
	if [ ! -f "$d/agent.log" ]; then echo "agent never started (guest did not get this far)"
	elif has "$n.died"; then echo "agent exited early: $(tail -n 2 "$d/agent.log" | tr '\n' ' ')"
	elif ! has "$n.status_ok"; then echo "aod status never answered (last: $(tail -n 1 "$d/status.txt" 2> /dev/null))"
	elif has "$n.failed"; then echo "smb probe failed (8 s in a row), status: $(smb_lines "$d/status.txt")"
	else echo "status smb line: $(smb_lines "$d/status.txt")"
	fi
}
case_skipped() { # case name: prints SKIP and returns 0 if the guest skipped it
	local r; r=$(F "skip.$2")
	[ -n "$r" ] && { skip "$1" "$r"; return 0; }
	return 1
}
# smb anomalies of TYPE in NAME's anomalies.jsonl after its first FROM lines, one per line
anomalies() { # name type from
	local f=$OUT/$1/aod/anomalies.jsonl
	[ -f "$f" ] || return 0
	tail -n +$(($3 + 1)) "$f" | jq -c --arg t "$2" 'select(.source == "smb" and .type == $t)' 2> /dev/null
}
anomalies_valid() { # name: is anomalies.jsonl JSON lines?
	local f=$OUT/$1/aod/anomalies.jsonl
	[ ! -f "$f" ] || jq -e . "$f" > /dev/null 2>&1
}

# --------------------------------------------------------------------------------- cases --
check_boot() {
	local rc; rc=$(cat "$RUN/vm.rc" 2> /dev/null)
	if [ "$rc" = 0 ] && has guest.done; then pass smb-vm-boot; return; fi
	case $rc in
	124) fail smb-vm-boot "VM timed out after ${VM_TIMEOUT}s (last guest line: $(grep '^guest ' "$RUN/console.log" | tail -n 1))" ;;
	125) fail smb-vm-boot "guest setup failed: $(grep '^SMBVM: ' "$RUN/console.log" | tail -n 1)" ;;
	*) fail smb-vm-boot "run.sh exit $rc, guest script $(has guest.done && echo finished || echo 'did not finish') (see $RUN/console.log)" ;;
	esac
}

check_late_module() {
	local d
	if has late.cifs_preloaded; then
		fail smb-late-module-attach "cifs was loaded before the agent started (guest-init ignored smbvm_nocifs?)"
	elif ! has late.waiting; then
		fail smb-late-module-attach "before modprobe cifs, status did not show the smb probe waiting: $(agent_why late)"
	elif ! has late.attached; then
		fail smb-late-module-attach "smb probe not attached after modprobe cifs (waited up to 20 s): $(agent_why late)"
	else
		d=$(($(F late.attached) - $(F late.modprobe_done)))
		info "late module: smb attached $(secs "$d") s after modprobe cifs returned, same agent pid"
		if ((d <= 500)); then pass smb-late-module-attach
		else fail smb-late-module-attach "attached $(secs "$d") s after modprobe (limit 5 s)"; fi
	fi
	if has late.anomaly_smb_latency; then pass smb-late-module-events
	elif has late.attached; then fail smb-late-module-events "attached after modprobe, but no smb latency anomaly within 10 s of a netem workload: $(agent_why late)"
	else fail smb-late-module-events "smb probe never attached: $(agent_why late)"
	fi
}

check_latency() {
	local a verdict n
	n=$(F main.anoms_before_netem)
	[ "${n:-0}" -gt 0 ] && info "latency: $n anomaly line(s) before netem (mount under TCG); not counted"
	anomalies_valid main || { fail smb-latency-anomaly "anomalies.jsonl is not JSON lines"; return; }
	a=$(anomalies main latency "$(F main.lat_from)" | head -n 1)
	if [ -z "$a" ]; then
		fail smb-latency-anomaly "no smb latency anomaly within 15 s of a netem 50 ms workload: $(agent_why main)"
		return
	fi
	info "latency anomaly: $(jq -c '{rule, emergency, keys: [.keys[] | "\(.key) n=\(.count) max=\(.max_latency_ns / 1e6 | floor)ms"]}' <<< "$a")"
	verdict=$(jq -r --argjson thr "$LAT_THRESHOLD_NS" --argjson min "$NETEM_MIN_NS" --argjson acc "$ACCEPTABLE" '
		[.keys[].key] as $k
		| if ($k | length) == 0 then "no keys"
		  elif ($k | map(startswith("SMB2_")) | all | not) then "keys are not SMB2 commands: \($k)"
		  elif ($k | map(IN("SMB2_WRITE", "SMB2_READ", "SMB2_CREATE")) | any | not) then "none of SMB2_WRITE/READ/CREATE in keys \($k)"
		  elif ([.keys[].threshold_ns] | map(. == $thr) | all | not) then "threshold_ns is not \($thr): \([.keys[].threshold_ns])"
		  elif ([.keys[].count] | add) < $acc then "key counts \([.keys[].count]) sum below acceptable_count \($acc)"
		  elif ([.keys[].max_latency_ns] | max) < $min then "max_latency_ns \([.keys[].max_latency_ns] | max) below \($min) under netem 50 ms"
		  elif ((.worst // []) | length) == 0 then "no worst events"
		  else "ok" end' <<< "$a" 2>&1)
	if [ "$verdict" = ok ]; then pass smb-latency-anomaly; else fail smb-latency-anomaly "$verdict"; fi
}

check_error() {
	local a verdict
	anomalies_valid main || { fail smb-error-anomaly "anomalies.jsonl is not JSON lines"; return; }
	a=$(anomalies main error "$(F main.err_from)" | head -n 1)
	if [ "$(F error.denied_writes)" = 0 ]; then
		fail smb-error-anomaly "writes through //127.0.0.1/ro were not denied (mount.ro=$(F mount.ro))"; return
	fi
	if [ -z "$a" ]; then
		fail smb-error-anomaly "no smb error anomaly within 15 s of $(F error.denied_writes) denied writes: $(agent_why main)"
		return
	fi
	info "error anomaly: $(jq -c '{rule, keys: [.keys[] | "\(.key) n=\(.count)"]}' <<< "$a")"
	verdict=$(jq -r --argjson acc "$ACCEPTABLE" '
		if ([.keys[].key] | index("STATUS_ACCESS_DENIED")) == null then "no STATUS_ACCESS_DENIED key: \([.keys[].key])"
		elif ([.keys[].key] | map(. == "STATUS_ACCESS_DENIED") | all | not) then "mode trackonly, yet keys other than STATUS_ACCESS_DENIED: \([.keys[].key])"
		elif ([.keys[].count] | add) < $acc then "counts \([.keys[].count]) below acceptable_count \($acc)"
		else "ok" end' <<< "$a" 2>&1)
	if [ "$verdict" = ok ]; then pass smb-error-anomaly; else fail smb-error-anomaly "$verdict"; fi
}

check_record() {
	local f=$OUT/smb-record.jsonl n maxlat
	if [ ! -s "$f" ]; then
		fail smb-record "aod record wrote nothing (rc $(F record.rc)): $(tail -n 2 "$OUT/record.log" 2> /dev/null | tr '\n' ' ')"
		return
	fi
	jq -e . "$f" > /dev/null 2>&1 || { fail smb-record "smb-record.jsonl is not JSON lines"; return; }
	# an SMB event: source/kind says smb, or it names an SMB2 command
	local smb='select((.source? == "smb") or ((.kind? // "" | tostring) | test("smb"; "i"))
		or ([.. | strings | select(test("^SMB2_"))] | length > 0))'
	n=$(jq -c "$smb" "$f" | wc -l)
	maxlat=$(jq -s "[.[] | $smb | .latency_ns? | numbers] | max // 0" "$f")
	info "record: $(wc -l < "$f") lines, $n SMB events, max latency_ns $maxlat; first SMB event: $(jq -c "$smb" "$f" | head -n 1 | head -c 300)"
	[ "$(F record.killed)" = 1 ] && info "record: still running 25 s into --duration 5, killed"
	if [ "$(F record.killed)" = 1 ]; then fail smb-record "aod record --duration 5 did not exit within 25 s"
	elif [ "$n" -lt "$ACCEPTABLE" ]; then fail smb-record "$n SMB events in the recording of a netem workload (want >= $ACCEPTABLE)"
	elif [ "$maxlat" -lt "$NETEM_MIN_NS" ]; then fail smb-record "no recorded SMB op reached $NETEM_MIN_NS ns under netem 50 ms (max $maxlat)"
	else pass smb-record
	fi
	if [ "${SMBVM_SAVE_RECORD:-}" = 1 ] && [ "$n" -gt 0 ]; then
		cp "$f" "$HERE/../data/smb-vm-netem.jsonl" &&
			info "record: saved to tests/data/smb-vm-netem.jsonl"
	fi
}

bundle_file() { # bundle regex: first member whose name matches (case-insensitive)
	tar --zstd -tf "$1" 2> /dev/null | grep -Ei -- "$2" | grep -v '/$' | head -n 1
}
bundle_cat() { tar --zstd -xOf "$1" "$2" 2> /dev/null; }

check_bundle() { # case type need-anomaly-fact
	local c=$1 type=$2 b id keys summ st dd why='' list
	local batches=$OUT/main/aod/batches
	if ! has "main.anomaly_smb_$type"; then skip "$c" "no SMB $type anomaly fired (see smb-$type-anomaly)"; return; fi
	if [ ! -d "$batches" ]; then
		fail "$c" "agent wrote no bundles (no batches/ dir after the anomalies)"; return
	fi
	list=$(ls "$batches"/aod_*_smb_"$type".tar.zst 2> /dev/null)
	[ -n "$list" ] || { fail "$c" "batches/ exists but holds no aod_*_smb_${type}.tar.zst: $(ls "$batches" | tr '\n' ' ')"; return; }
	for b in $list; do
		id=$(basename "$b" | sed 's/^aod_\([0-9]*\)_.*/\1/')
		summ=$(bundle_file "$b" '(^|/)summary\.txt$')
		[ -n "$summ" ] || { why="$(basename "$b") has no summary.txt"; continue; }
		summ=$(bundle_cat "$b" "$summ")
		if [ "$type" = latency ]; then
			# the commands of the anomaly this bundle belongs to (by id), else the netem ones
			# matched as text: jq turns a 19-digit id into a double
			keys=$(grep -E "\"id\" *: *${id}[,}]" "$OUT/main/aod/anomalies.jsonl" 2> /dev/null |
				jq -r '.keys[].key' 2> /dev/null | sort -u)
			if [ -n "$keys" ]; then
				local k missing=
				for k in $keys; do grep -q -- "$k" <<< "$summ" || missing="$missing $k"; done
				[ -z "$missing" ] || { why="$(basename "$b"): summary.txt does not name$missing"; continue; }
			else
				grep -Eq 'SMB2_(WRITE|READ|CREATE)' <<< "$summ" ||
					{ why="$(basename "$b"): summary.txt names none of SMB2_WRITE/READ/CREATE"; continue; }
			fi
			st=$(bundle_file "$b" 'stats')
			dd=$(bundle_file "$b" 'debugdata')
			[ -n "$st" ] && [ -n "$dd" ] ||
				{ why="$(basename "$b") lacks cifs Stats or DebugData (stats='$st' debugdata='$dd')"; continue; }
			bundle_cat "$b" "$st" | grep -Eq 'Resources in use|SMBs' ||
				{ why="$(basename "$b"): $st is not /proc/fs/cifs/Stats"; continue; }
			bundle_cat "$b" "$dd" | grep -q 'CIFS' ||
				{ why="$(basename "$b"): $dd is not /proc/fs/cifs/DebugData"; continue; }
		else
			grep -q STATUS_ACCESS_DENIED <<< "$summ" ||
				{ why="$(basename "$b"): summary.txt does not name STATUS_ACCESS_DENIED"; continue; }
		fi
		info "bundle: $(basename "$b"): $(tar --zstd -tf "$b" 2> /dev/null | wc -l) files"
		pass "$c"; return
	done
	fail "$c" "$why"
}

check_reconnect() {
	local hits
	if case_skipped smb-reconnect-agent-up reconnect; then
		skip smb-reconnect-events "reconnect not tried (guest time budget)"; return
	fi
	if [ "$(F reconnect.killed)" = "" ] || [ "$(F reconnect.killed)" = 0 ]; then
		fail smb-reconnect-agent-up "no smbd connection process to kill"
	elif ! has reconnect.io_ok; then
		fail smb-reconnect-agent-up "I/O on /mnt/smb did not recover within 20 s of killing smbd's children"
	elif ! has reconnect.agent_alive; then
		fail smb-reconnect-agent-up "agent gone after the reconnect: $(agent_why main)"
	elif ! has reconnect.status_ok; then
		fail smb-reconnect-agent-up "aod status did not answer after the reconnect"
	else
		local sr
		sr=$(sed -n 's/^\([0-9]*\) session [0-9]* share reconnects.*/\1/p' "$OUT/cifs-Stats.txt" 2> /dev/null)
		info "reconnect: I/O recovered after $(secs "$(F reconnect.io_ok)") s; cifs Stats: ${sr:-?} session reconnect(s)"
		if [ "${sr:-0}" -ge 1 ]; then pass smb-reconnect-agent-up
		else fail smb-reconnect-agent-up "cifs counted no session reconnect after smbd's connection was killed"; fi
	fi
	# aod records cifs:smb3_reconnect as an event of kind smb_reconnect
	hits=$(grep -ls '"kind":"smb_reconnect"' "$OUT/reconnect-record.jsonl" 2> /dev/null)
	if ! has reconnect.io_ok; then skip smb-reconnect-events "no reconnect happened (see smb-reconnect-agent-up)"
	elif [ -n "$hits" ]; then
		info "reconnect event: $(grep -m1 '"kind":"smb_reconnect"' "$OUT/reconnect-record.jsonl")"
		pass smb-reconnect-events
	else fail smb-reconnect-events "no smb_reconnect event in aod record output after smbd's connection was killed"
	fi
}

check_sigterm() {
	local n e bad='' slow=''
	for n in late main $(printf 'attach-%s ' $MODES); do
		e=$(F "$n.exit")
		[ -n "$e" ] || continue
		case $e in
		0) (($(F "$n.stop_cs") > 1000)) && slow="$slow $n:$(($(F "$n.stop_cs") / 100))s" ;;
		timeout) bad="$bad $n:still-running-15s-after-SIGTERM" ;;
		*) bad="$bad $n:exit=$e" ;;
		esac
	done
	if [ -z "$(F main.exit)" ]; then fail smb-agent-sigterm "main agent was never stopped (guest did not get this far)"
	elif [ -z "$(F late.exit)" ]; then fail smb-agent-sigterm "late agent was never stopped"
	elif [ -n "$bad" ]; then fail smb-agent-sigterm "agents did not exit 0 on SIGTERM:$bad"
	elif [ -n "$slow" ]; then fail smb-agent-sigterm "slower than 10 s (5 s spec, TCG margin):$slow"
	else pass smb-agent-sigterm
	fi
}

check_attach() { # case name [mode]
	local c=$1 n=$2 mode=${3:-} st=$OUT/$2/status.txt a
	case_skipped "$c" "$n" && return
	if ! has "$n.attached"; then fail "$c" "smb probe not attached with cifs mounted (waited up to 40 s): $(agent_why "$n")"; return; fi
	info "$n: $(smb_lines "$st")"
	if [ -z "$mode" ]; then pass "$c"; return; fi
	if ! smb_lines "$st" | grep -Eqi "(^|[^a-z_])${mode}([^a-z_]|$)"; then
		fail "$c" "AOD_SMB_ATTACH=$mode: status does not show mode $mode: $(smb_lines "$st")"; return
	fi
	a=$(anomalies "$n" latency 0 | head -n 1)
	if [ -z "$a" ]; then fail "$c" "attached as $mode but no smb latency anomaly from a netem workload within 10 s"; return; fi
	pass "$c"
}

check_stuck() {
	local a f=$OUT/stuck/aod/anomalies.jsonl lag verdict b summ dup c
	if case_skipped smb-stuck-anomaly stuck; then
		for c in smb-stuck-bundle smb-stuck-recovers smb-stuck-not-twice; do skip "$c" "not run (guest time budget)"; done
		return
	fi
	if ! has stuck.stopped; then
		fail smb-stuck-anomaly "smbd was never stopped under the agent: $(agent_why stuck)"
		for c in smb-stuck-bundle smb-stuck-recovers smb-stuck-not-twice; do skip "$c" "not run (see smb-stuck-anomaly)"; done
		return
	fi
	a=$(anomalies stuck stuck 0 | head -n 1)
	if [ -z "$a" ]; then
		fail smb-stuck-anomaly "no smb stuck anomaly within 20 s of stopping smbd ($(F stuck.conns)): $(agent_why stuck)"
	else
		lag=$(jq '(.id - .window_start_ns) / 1e6 | floor' <<< "$a")
		info "stuck anomaly: $(jq -c '{keys: [.keys[] | "\(.key) n=\(.count)"], first: (.worst[0] | {comm, cmd, age_ns, share, sesid, tid})}' <<< "$a"); fired ${lag} ms after the oldest op began"
		verdict=$(jq -r --argjson lag "$lag" --arg share '\\127.0.0.1\share' '
			if (.worst | length) == 0 then "no stuck ops listed"
			elif (.worst[0].kind != "smb_stuck") then "worst[0] is \(.worst[0].kind)"
			elif ([.keys[].key] | map(startswith("SMB2_")) | all | not) then "keys \([.keys[].key])"
			elif (.worst[0].age_ns < 1000000000) then "age \(.worst[0].age_ns) under the 1 s threshold"
			elif ((.worst[0].share // "") != $share) then "share \(.worst[0].share // "none"), want \($share)"
			elif ($lag > 2000) then "fired \($lag) ms after the op began (bound: 1 s threshold + 1 s)"
			else "ok" end' <<< "$a")
		if [ "$verdict" = ok ]; then pass smb-stuck-anomaly; else fail smb-stuck-anomaly "$verdict"; fi
	fi
	b=$(ls "$OUT"/stuck/aod/batches/aod_*_smb_stuck.tar.zst 2> /dev/null | head -n 1)
	if [ -z "$b" ] || ! has stuck.bundle; then
		fail smb-stuck-bundle "no complete smb stuck bundle while smbd was stopped (waited 60 s)"
	else
		summ=$(bundle_cat "$b" "$(bundle_file "$b" '(^|/)summary\.txt$')")
		info "stuck bundle $((($(F stuck.bundle) - $(F stuck.anomaly_smb_stuck)) / 100)) s after the anomaly, smbd still stopped: $(tar --zstd -tf "$b" 2> /dev/null | wc -l) files; actions: $(bundle_cat "$b" "$(bundle_file "$b" 'manifest\.json$')" | jq -c '[.actions[] | {name, timed_out, ms: .duration_ms}]' 2> /dev/null)"
		local man el maxto
		man=$(bundle_cat "$b" "$(bundle_file "$b" 'manifest\.json$')")
		el=$(($(F stuck.bundle) - $(F stuck.anomaly_smb_stuck)))
		maxto=$(jq '[.actions[] | .timeout_sec // 10] | max' <<< "$man" 2> /dev/null)
		if ! grep -q 'STUCK OPERATIONS' <<< "$summ" || ! grep -qF '\\127.0.0.1\share' <<< "$summ"; then
			fail smb-stuck-bundle "summary.txt lacks the stuck ops or the share: $(head -c 600 <<< "$summ")"
		elif [ "$(jq .partial <<< "$man")" != false ]; then
			fail smb-stuck-bundle "the bundle is partial: it was not finished while the server hung"
		elif (($(F stuck.bundle) >= $(F stuck.cont))); then
			fail smb-stuck-bundle "the bundle came only after the server was resumed"
		elif ((el > (${maxto:-10} + 2) * 100)); then
			fail smb-stuck-bundle "complete $(secs "$el") s after the anomaly; bound: largest action timeout ${maxto} s + 2 s"
		else
			pass "smb-stuck-bundle (complete $(secs "$el") s after the anomaly, largest action timeout ${maxto} s)"
		fi
	fi
	if has stuck.dd_hung; then
		fail smb-stuck-recovers "the writer still hung 60 s after kill -CONT"
	elif [ "$(F stuck.dd_rc)" != 0 ]; then
		fail smb-stuck-recovers "the writer failed (rc $(F stuck.dd_rc)): $(cat "$OUT/stuck/dd.err" 2> /dev/null)"
	elif ! has stuck.agent_alive || ! has stuck.status_ok; then
		fail smb-stuck-recovers "agent not healthy after the thaw: $(agent_why stuck)"
	else
		pass "smb-stuck-recovers (writer done $(secs $(($(F stuck.dd_done) - $(F stuck.cont)))) s after kill -CONT)"
	fi
	# nothing fires for ops already reported: no latency anomaly (only an emergency could,
	# at acceptable_count 100000), and no op in two stuck anomalies
	dup=$(jq -r 'select(.type == "stuck") | .worst[] | "\(.sesid)/\(.mid)"' "$f" 2> /dev/null | sort | uniq -d | head -n 3)
	if [ -n "$(anomalies stuck latency 0)" ]; then
		fail smb-stuck-not-twice "a latency anomaly after the thaw: $(anomalies stuck latency 0 | head -n 1 | head -c 300)"
	elif [ -n "$dup" ]; then
		fail smb-stuck-not-twice "ops reported stuck twice: $dup"
	elif [ -z "$a" ]; then
		skip smb-stuck-not-twice "no stuck anomaly (see smb-stuck-anomaly)"
	else
		pass "smb-stuck-not-twice ($(jq '.detector.stuck_ops' "$OUT/stuck/status-final.json" 2> /dev/null) stuck ops, $(jq '.probes[] | select(.name == "smb") | .counters.stuck_reported' "$OUT/stuck/status-final.json" 2> /dev/null) reported)"
	fi
}

# "Writes: 12 sent 0 failed" of one share's section of /proc/fs/cifs/Stats -> "12 0"
cifs_stat() { # file share-name field
	SHARE=$2 FIELD=$3: awk '
		/^[0-9]+\) / { cur = $2 }
		cur == ENVIRON["SHARE"] { for (i = 1; i <= NF; i++) if ($i == ENVIRON["FIELD"]) { print $(i + 1), $(i + 3); exit } }' "$1" 2> /dev/null
}
metric() { # file series-prefix (exact text up to the closing brace): sum of the values
	PRE=$2 awk 'index($0, ENVIRON["PRE"]) == 1 { s += $NF; n++ } END { if (n) print s; else print "none" }' "$1"
}

check_metrics() {
	local m=$OUT/main/metrics.txt s0=$OUT/main/cifs-Stats-attached.txt s1=$OUT/main/cifs-Stats-metrics.txt
	local w0 w1 got err all c0 c1 denied=$(F error.denied_writes)
	# the exposition escapes each backslash of \\127.0.0.1\share
	local SH='share="\\\\127.0.0.1\\share"' RO='share="\\\\127.0.0.1\\ro"'
	if [ ! -s "$m" ]; then
		fail smb-metrics-share-latency "no /metrics from the main agent (curl rc $(F metrics.curl_rc))"
		fail smb-metrics-share-errors "no /metrics from the main agent"; return
	fi
	info "metrics: $(grep -c '^aod_smb_command_latency_seconds_count' "$m") SMB histograms: $(grep '^aod_smb_command_latency_seconds_count' "$m" | cut -d'{' -f2 | cut -d'}' -f1 | tr '\n' ' ')"
	read -r w0 _ < <(cifs_stat "$s0" '\\127.0.0.1\share' Writes)
	read -r w1 _ < <(cifs_stat "$s1" '\\127.0.0.1\share' Writes)
	got=$(metric "$m" "aod_smb_command_latency_seconds_count{$SH,command=\"SMB2_WRITE\"}")
	if [ -z "${w1:-}" ] || [ -z "${w0:-}" ]; then
		fail smb-metrics-share-latency "no 'Writes:' for \\\\127.0.0.1\\share in cifs Stats ($(head -c 300 "$s1" 2> /dev/null | tr '\n' ' '))"
	elif [ "$got" = none ]; then
		fail smb-metrics-share-latency "no SMB2_WRITE histogram for \\\\127.0.0.1\\share"
	elif [ $((got - (w1 - w0))) -le 2 ] && [ $((got - (w1 - w0))) -ge -2 ] && [ "$got" -gt 0 ]; then
		pass "smb-metrics-share-latency (SMB2_WRITE on \\\\127.0.0.1\\share: $got in the histogram, cifs Stats +$((w1 - w0)) sent)"
	else
		fail smb-metrics-share-latency "SMB2_WRITE on the share: histogram $got, cifs Stats Writes $w0 -> $w1"
	fi
	err=$(metric "$m" "aod_smb_command_errors_total{$RO,command=\"SMB2_CREATE\",status=\"STATUS_ACCESS_DENIED\"}")
	all=$(metric "$m" "aod_smb_command_errors_total{$RO,command=\"SMB2_CREATE\",")
	read -r _ c0 < <(cifs_stat "$s0" '\\127.0.0.1\ro' Creates)   # not mounted yet at attach: none
	read -r _ c1 < <(cifs_stat "$s1" '\\127.0.0.1\ro' Creates)
	if [ "$err" != none ] && [ "${denied:-0}" -gt 0 ] && [ "$err" -ge "$denied" ] &&
	   [ -n "${c1:-}" ] && [ "$all" = $((c1 - ${c0:-0})) ]; then
		pass "smb-metrics-share-errors (SMB2_CREATE on \\\\127.0.0.1\\ro: $err STATUS_ACCESS_DENIED for $denied denied writes; all statuses $all = cifs Stats Creates failed +$((c1 - ${c0:-0})))"
	else
		fail smb-metrics-share-errors "errors_total{ro,SMB2_CREATE}: ACCESS_DENIED $err (want >= ${denied:-?}), all $all (cifs Stats Creates failed ${c0:-0} -> ${c1:-?}): $(grep '^aod_smb_command_errors_total' "$m" | head -n 5 | tr '\n' ' ')"
	fi
}

check_metrics_more() {
	local f=$OUT/main/metrics-final.txt h=$OUT/stuck/metrics-hung.txt a=$OUT/stuck/metrics-after.txt n st inf inf1 r0 r1
	local SH='share="\\\\127.0.0.1\\share"'
	if case_skipped smb-metrics-reconnects reconnect; then :
	elif [ ! -s "$f" ]; then fail smb-metrics-reconnects "no /metrics after the reconnect"
	else
		n=$(metric "$f" 'aod_smb_reconnects_total{server="127.0.0.1"}')
		# cifs counts each session reconnect in Stats ("1 session 3 share reconnects"), taken
		# when the agent attached and with this scrape
		r0=$(sed -n 's/^\([0-9]*\) session [0-9]* share reconnects.*/\1/p' "$OUT/main/cifs-Stats-attached.txt" 2> /dev/null)
		r1=$(sed -n 's/^\([0-9]*\) session [0-9]* share reconnects.*/\1/p' "$OUT/main/cifs-Stats-final.txt" 2> /dev/null)
		if has reconnect.io_ok && [ -n "$r0" ] && [ -n "$r1" ] && [ "$n" != none ] &&
		   [ "$n" = $((r1 - r0)) ] && [ "$n" -ge 1 ]; then
			pass "smb-metrics-reconnects ($n = cifs Stats session reconnects +$((r1 - r0)))"
		else
			fail smb-metrics-reconnects "aod_smb_reconnects_total{server=127.0.0.1} $n, cifs Stats session reconnects ${r0:-?} -> ${r1:-?} (io_ok $(F reconnect.io_ok)): $(grep '^aod_smb_reconnects' "$f" | tr '\n' ' ')"
		fi
	fi
	if case_skipped smb-metrics-stuck stuck; then case_skipped smb-metrics-in-flight stuck; return; fi
	if [ ! -s "$h" ]; then
		fail smb-metrics-stuck "no /metrics from the stuck agent while the server hung"
		fail smb-metrics-in-flight "no /metrics from the stuck agent while the server hung"; return
	fi
	st=$(metric "$h" "aod_smb_stuck_commands_total{$SH,")
	if [ "$st" != none ] && [ "$st" -ge 1 ] && has stuck.dd_hung_at_metrics; then
		pass "smb-metrics-stuck ($st on \\\\127.0.0.1\\share while the writer hung: $(grep -F "aod_smb_stuck_commands_total{$SH" "$h" | cut -d, -f2 | cut -d} -f1 | tr '\n' ' '))"
	else
		fail smb-metrics-stuck "aod_smb_stuck_commands_total for the share: $st (writer hung: $(F stuck.dd_hung_at_metrics)): $(grep '^aod_smb_stuck' "$h" | tr '\n' ' ')"
	fi
	inf=$(metric "$h" "aod_smb_commands_in_flight{$SH}")
	info "while hung: cifs Stats $(grep -m1 'Operations (MIDs)' "$OUT/stuck/cifs-Stats-hung.txt" 2> /dev/null), aod in flight on the share: $inf"
	inf1=$(metric "$a" "aod_smb_commands_in_flight{$SH}")
	# hung: the writer's command at least; after the thaw and 3 s the writer is done, so at
	# least its command left (commands of actions killed while the server hung stay in
	# the kernel's map until the in-flight timeout: the client dropped their answers)
	inf1=${inf1/none/0}
	if [ "$inf" != none ] && [ "$inf" -ge 1 ] && [ -s "$a" ] && [ "$inf1" -lt "$inf" ]; then
		pass "smb-metrics-in-flight ($inf in flight on the share while hung, $inf1 after the writer finished)"
	else
		fail smb-metrics-in-flight "in flight on the share: $inf while hung, $inf1 after (want >= 1, then fewer)"
	fi
}

# ---------------------------------------------------------------- Prometheus (case j) --
prom_case() { # kind name ref -> the case name
	local slug
	case $1 in
	rule) echo "smb-prom-rule-$2" ;;
	recorded) echo "smb-prom-recorded-$2" ;;
	*) slug=$(tr 'A-Z' 'a-z' <<< "$2" | sed -E 's/[^a-z0-9]+/-/g; s/^-//; s/-$//'); echo "smb-prom-panel-$slug-$3" ;;
	esac
}
# The SMB expressions the repo holds, read here (kind name ref): to name the cases a guest
# did not run, and to see that it judged every one. Rules: a "- record:/- alert: NAME" line
# and its "expr:" line.
prom_expected() {
	local kind name ref expr
	awk '/^[[:space:]]*- (record|alert):/ { k = ($2 == "record:") ? "record" : "alert"; n = $3; next }
		/^[[:space:]]*expr:/ && n != "" { if ($0 ~ /aod_smb_|aod:smb_/) { print "rule\t" n "\t-"; if (k == "record") print "recorded\t" n "\t-" } n = "" }' \
		"$TOP/packaging/prometheus/aod-rules.yml"
	prom_panels_tsv "$TOP/packaging/grafana/aod-dashboard.json" |
		while IFS=$'\t' read -r kind name ref expr; do prom_is_smb "$expr" && printf 'panel\t%s\t%s\n' "$name" "$ref"; done
	return 0
}
prom_skip_all() { # why
	local kind name ref
	while IFS=$'\t' read -r kind name ref; do skip "$(prom_case "$kind" "$name" "$ref")" "$1"; done < <(prom_expected)
}

check_prom() {
	local P=$OUT/prom n kind name ref expr m st best where c nrules seen=' ' miss=''
	if case_skipped smb-prom-start prom; then prom_skip_all "not run: $(F skip.prom)"; return; fi
	nrules=$(grep -cE '^[[:space:]]*- (record|alert):' "$TOP/packaging/prometheus/aod-rules.yml")
	if ! has prom.started; then
		fail smb-prom-start "Prometheus never started in the guest (guest did not get this far)"
	elif ! has prom.ready; then
		fail smb-prom-start "not ready within 60 s: $(tail -n 3 "$P/prom.log" 2> /dev/null | tr '\n' ' ')"
	elif ! has prom.scraped; then
		fail smb-prom-start "no scrape of the main agent's aod_probe_attached{probe=\"smb\"} within 20 s of ready"
	elif ! has prom.evaluated || [ ! -s "$P/exprs.tsv" ]; then
		fail smb-prom-start "no expressions evaluated (prom.exprs=$(F prom.exprs))"
	elif [ "$(F prom.rules_loaded)" != "$nrules" ]; then
		fail smb-prom-start "Prometheus loaded $(F prom.rules_loaded) rules, aod-rules.yml has $nrules"
	else
		info "prometheus in the guest: ready $(secs $(($(F prom.ready) - $(F prom.started)))) s after its start, first scrape $(secs $(($(F prom.scraped) - $(F prom.ready)))) s later; guest time added: main instant $(secs $(($(F prom.main_cs) - $(F prom.main_from)))) s, stuck instant $(has prom.t_stuck && echo 3.00 || echo 0) s, evaluation $(secs $(($(F prom.evaluated) - $(F prom.eval_from)))) s$(has prom.curl_done && echo " (the $(($(F prom.exprs) * ($(has prom.t_stuck && echo 2 || echo 1)))) queries $(secs $(($(F prom.curl_done) - $(F prom.curl_from)))) s)"), stop $(secs $(($(F prom.stopped) - $(F prom.evaluated)))) s"
		pass "smb-prom-start (rules loaded $nrules/$nrules, $(F prom.exprs) SMB expressions at the instants:$(has prom.t_main && echo ' main')$(has prom.t_stuck && echo ' stuck'))"
	fi
	if [ ! -s "$P/exprs.tsv" ]; then prom_skip_all "not run (see smb-prom-start)"; return; fi
	has prom.t_stuck || info "prometheus: no stuck instant (stuck case $(has skip.stuck && echo skipped || echo 'did not get there')): stuck expressions judged at the main instant only"
	while IFS=$'\t' read -r n kind name ref expr; do
		c=$(prom_case "$kind" "$name" "$ref")
		seen="$seen$c "
		m=$(F "prom.$n.main") st=$(F "prom.$n.stuck")
		if [[ $m == error* ]]; then best=$m where="main agent"
		elif [[ $st == error* ]]; then best=$st where="stuck agent"
		elif prom_has_data "$m"; then best=$m where="main agent${st:+; stuck agent: $st}"
		elif prom_has_data "$st"; then best=$st where="stuck agent; main agent: ${m:-none}"
		else best=${m:-none} where="main agent: ${m:-none}, stuck agent: ${st:-none}"
		fi
		prom_judge "$c" "$best" "$expr" "$where"
	done < "$P/exprs.tsv"
	while IFS=$'\t' read -r kind name ref; do
		c=$(prom_case "$kind" "$name" "$ref")
		[[ $seen == *" $c "* ]] || miss="$miss $c"
	done < <(prom_expected)
	if [ -z "$miss" ]; then pass "smb-prom-all-judged ($(prom_expected | wc -l) SMB expressions in the repo, all evaluated)"
	else fail smb-prom-all-judged "in the repo but not evaluated in the guest:$miss"; fi
}

judge() {
	OUT=$RUN/out
	command -v jq > /dev/null || fail_first "jq missing (tests/vm/smbvm/setup.sh installs it)"
	[ -f "$RUN/times" ] && info "timing: $(tr '\n' ' ' < "$RUN/times")(seconds, wall)"
	grep -h '^SMBVM: ready' "$RUN/console.log" 2> /dev/null | sed 's/^/INFO: /'
	has guest.done && info "guest cases took $((($(F guest.done) - $(F guest.t0)) / 100)) s; aod: $(F aod.version)"
	check_boot
	if [ ! -s "$OUT/facts" ]; then
		local c; for c in $CASES; do [ "$c" = smb-vm-boot ] || skip "$c" "guest script did not run (see smb-vm-boot)"; done
		return
	fi
	check_late_module
	check_latency
	check_record
	check_error
	check_bundle smb-bundle-latency latency
	check_bundle smb-bundle-error error
	check_reconnect
	check_sigterm
	check_attach smb-probe-attach main
	local m; for m in $MODES; do check_attach "smb-attach-$m" "attach-$m" "$m"; done
	check_stuck
	check_metrics
	check_metrics_more
	check_prom
}

if [ "${1:-}" = --eval ]; then
	RUN=$(cd "${2:?--eval RUNDIR}" && pwd) || exit 2
else
	boot
fi
judge
exit 0
