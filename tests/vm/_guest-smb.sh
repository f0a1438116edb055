#!/bin/bash
# Runs inside the SMB VM (booted by smb.sh with run.sh -n: smbd up, cifs NOT loaded).
# Drives every case of smb.sh in one boot and writes what happened to OUT; smb.sh judges
# on the host afterwards (so the verdicts can be re-computed without a reboot).
#
#   _guest-smb.sh OUT AOD_BIN
#
# OUT/facts            key=value lines: timings (centiseconds of guest uptime), exit codes
# OUT/<agent>/         one dir per agent run: aod.yaml, agent.log (stderr), status-*.txt,
#                      aod/ (its aod_output_dir: anomalies.jsonl, batches/)
# OUT/*.jsonl          aod record outputs
#
# Order (one boot, ~1.5 min under TCG when all goes well):
#   "late" agent started before cifs exists    -> smb probe waiting; modprobe cifs -> attached
#   mount //127.0.0.1/share, netem workload    -> its events flow (latency anomaly); SIGTERM
#   "main" agent started with the share mounted -> attached
#   netem 50 ms on lo + workload               -> SMB latency anomaly
#   aod record during a netem workload         -> smb-record.jsonl
#   writes through //127.0.0.1/ro              -> SMB error anomaly (STATUS_ACCESS_DENIED)
#   wait for bundles; kill smbd's connection   -> agent stays up, reconnect in events?
#   SIGTERM; then one agent per forced attach mode (raw_tp, tp_btf, fentry, kprobe)
#   "stuck" agent: kill -STOP smbd's connection under a writer -> stuck anomaly and a
#   complete bundle while it hangs; kill -CONT -> I/O completes, nothing fires twice
#   a real Prometheus (case j) scrapes the agents from the error case to the end of the stuck
#   case; every SMB expression of aod-rules.yml and the dashboard is evaluated at two instants
#   (main agent after its workloads, stuck agent while the server hangs): answers -> facts
# The main agent never sees the mount: under TCG the mount's own commands take 20-80 ms
# and would fire a latency anomaly (and take the rule's bundle) before netem.
set -u
OUT=$1 AOD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
B=/bin/busybox
BUDGET=${SMBVM_GUEST_BUDGET:-600}   # seconds for all cases; smb.sh's VM timeout is longer
MODES="raw_tp tp_btf fentry kprobe"
shopt -s nullglob
SMB_LINE='(^|[[:space:]])smb([[:space:]:]|$)'   # the smb probe's line(s) of `aod status`

cs() { local u _r; read -r u _r < /proc/uptime; u=${u/./}; echo $((10#$u)); }  # uptime, 1/100 s
T0=$(cs)
FACTS=$OUT/facts
: > "$FACTS"
fact() { echo "$1=$2" >> "$FACTS"; }
say() { local u _r; read -r u _r < /proc/uptime; echo "guest [$u] $*"; }
left() { echo $(((T0 + BUDGET * 100 - $(cs)) / 100)); }   # seconds of budget left
alive() { # pid: running and not a zombie
	local s
	{ read -r s < "/proc/$1/stat"; } 2> /dev/null || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}
has_fact() { grep -q "^$1=" "$FACTS"; }
nlines() { local n=0 l; [ -f "$1" ] && while IFS= read -r l; do n=$((n + 1)); done < "$1"; echo $n; }

write_config() { # file output_dir
	cat > "$1" << EOF
# written by tests/vm/_guest-smb.sh
watch_interval_sec: 1
aod_output_dir: $2
guardian:
  anomalies:
    latency:
      type: "Latency"
      tool: "smbslower"
      acceptable_count: 3
      default_threshold_ms: 20
    error:
      type: "Error"
      tool: "smbiosnoop"
      mode: trackonly
      acceptable_count: 3
      track_codes:
        - STATUS_ACCESS_DENIED
EOF
}

AGENT_PID=
start_agent() { # name [attach mode]
	local name=$1 mode=${2:-}
	mkdir -p "$OUT/$name/aod"
	write_config "$OUT/$name/aod.yaml" "$OUT/$name/aod"
	(
		[ -n "$mode" ] && export AOD_SMB_ATTACH=$mode
		exec "$AOD" agent --config "$OUT/$name/aod.yaml"
	) > "$OUT/$name/agent.out" 2> "$OUT/$name/agent.log" &
	AGENT_PID=$!
	fact "$name.started" "$(cs)"
	say "$name: agent pid $AGENT_PID${mode:+ AOD_SMB_ATTACH=$mode}"
}

declare -A STATUS_OK   # agent runs whose `aod status` answered at least once
# Poll `aod status` until the smb line(s) match REGEX. 0 = matched, 1 = timeout, 2 = agent
# died, 3 = the smb probe stayed "failed" for 8 s (the agent retries; a lasting failure will
# not heal, so do not spend the whole timeout on it). The last answer is in OUT/NAME/status.txt.
wait_status() { # name regex timeout_s
	local name=$1 re=$2 end=$(($(cs) + $3 * 100)) st=$OUT/$1/status.txt failed_since='' line
	while :; do
		alive "$AGENT_PID" || { fact "$name.died" "$(cs)"; return 2; }
		if "$AOD" status --config "$OUT/$name/aod.yaml" > "$st" 2>&1; then
			[ -n "${STATUS_OK[$name]:-}" ] || { fact "$name.status_ok" 1; STATUS_OK[$name]=1; }
			line=$(grep -Ei "$SMB_LINE" "$st")
			grep -Eqi -- "$re" <<< "$line" && return 0
			if grep -Eqi '(^|[[:space:]])failed([[:space:]]|$)' <<< "$line"; then
				failed_since=${failed_since:-$(cs)}
				(($(cs) - failed_since >= 800)) && { fact "$name.failed" "$(cs)"; return 3; }
			else
				failed_since=
			fi
		fi
		(($(cs) >= end)) && return 1
		$B sleep 0.3
	done
}

# Is there an anomaly of SOURCE/TYPE in FILE after its first FROM lines?
anomaly_after() { # file from source type
	local l i=0 re_s="\"source\" *: *\"$3\"" re_t="\"type\" *: *\"$4\""
	[ -f "$1" ] || return 1
	while IFS= read -r l; do
		i=$((i + 1))
		((i <= $2)) && continue
		[[ $l =~ $re_s && $l =~ $re_t ]] && return 0
	done < "$1"
	return 1
}
wait_anomaly() { # name from source type timeout_s -> fact NAME.anomaly_<source>_<type>=cs
	local f=$OUT/$1/aod/anomalies.jsonl end=$(($(cs) + $5 * 100))
	while :; do
		if anomaly_after "$f" "$2" "$3" "$4"; then fact "$1.anomaly_$3_$4" "$(cs)"; return 0; fi
		alive "$AGENT_PID" || { fact "$1.died" "$(cs)"; return 2; }
		(($(cs) >= end)) && return 1
		$B sleep 0.25
	done
}

stop_agent() { # name: SIGTERM, wait up to 15 s; facts NAME.exit (rc|timeout) and NAME.stop_cs
	local name=$1 t0 rc
	if ! alive "$AGENT_PID"; then
		wait "$AGENT_PID"; rc=$?
		fact "$name.exit" "died:$rc"; say "$name: had already exited ($rc)"; return
	fi
	t0=$(cs)
	kill -TERM "$AGENT_PID"
	while alive "$AGENT_PID" && (($(cs) - t0 < 1500)); do $B sleep 0.1; done
	if alive "$AGENT_PID"; then
		kill -KILL "$AGENT_PID"; wait "$AGENT_PID"
		fact "$name.exit" timeout; say "$name: still running 15 s after SIGTERM, killed"; return
	fi
	wait "$AGENT_PID"; rc=$?
	fact "$name.exit" "$rc"; fact "$name.stop_cs" $(($(cs) - t0))
	say "$name: exited $rc after SIGTERM"
}

netem_on() { tc qdisc add dev lo root netem delay 50ms || say "netem: tc qdisc add failed"; }
netem_off() { tc qdisc del dev lo root 2> /dev/null; }

# Writes with fsync, drop caches, reads back: CREATE, WRITE, FLUSH, CLOSE, READ, QUERY_*.
# Static busybox on purpose (a dynamic exec costs ~0.2 s under TCG).
slow_workload() { # dir nfiles
	local d=$1 n=$2 i
	for ((i = 1; i <= n; i++)); do
		$B dd if=/dev/zero of="$d/lat$i" bs=64k count=4 conv=fsync 2> /dev/null
	done
	echo 3 > /proc/sys/vm/drop_caches
	for ((i = 1; i <= n; i++)); do $B cat "$d/lat$i" > /dev/null; done
	$B ls -l "$d" > /dev/null
}

# smbd's children named "smbd": one per client connection (notifyd and cleanupd are not)
conn_children() { # master pid
	local d c pp l
	for d in /proc/[0-9]*; do
		{ read -r c < "$d/comm"; } 2> /dev/null || continue
		[ "$c" = smbd ] || continue
		pp=
		while read -r l; do [[ $l == PPid:* ]] && { pp=${l#PPid:}; pp=${pp//[[:space:]]/}; break; }; done 2> /dev/null < "$d/status"
		[ "$pp" = "$1" ] && echo "${d#/proc/}"
	done
}

skip_rest() { # case... : budget exhausted
	local c
	for c in "$@"; do fact "skip.$c" "guest time budget (${BUDGET}s) used up before this case"; done
}

record_help=$("$AOD" help record 2>&1; "$AOD" record --help 2>&1)
REC_CFG=()
[[ $record_help == *--config* ]] && REC_CFG=(--config "$OUT/main/aod.yaml")

say "start (budget ${BUDGET}s), aod: $("$AOD" --version 2>&1 | $B head -n 1)"
fact aod.version "$("$AOD" --version 2>&1 | $B head -n 1)"

# --- "late" agent: started before cifs exists (case d) ---------------------------------
[ -d /sys/module/cifs ] && fact late.cifs_preloaded 1
start_agent late
if wait_status late 'waiting' 40; then
	fact late.waiting "$(cs)"; cp "$OUT/late/status.txt" "$OUT/late/status-waiting.txt"
fi
modprobe cifs || say "modprobe cifs failed"
fact late.modprobe_done "$(cs)"
if wait_status late 'attached' 20; then
	fact late.attached "$(cs)"; cp "$OUT/late/status.txt" "$OUT/late/status-attached.txt"
fi
bash "$HERE/_mount.sh" share /mnt/smb && fact mount.share "$(cs)"
if has_fact late.attached; then   # then events must flow: a short netem workload
	$B sleep 1.5   # a window without the mount's own (TCG-slow) commands
	from=$(nlines "$OUT/late/aod/anomalies.jsonl")
	fact late.lat_from "$from"
	netem_on
	slow_workload /mnt/smb 2
	wait_anomaly late "$from" smb latency 10
	netem_off
fi
stop_agent late
say "late module: waiting=$(has_fact late.waiting && echo 1) attached=$(has_fact late.attached && echo 1) events=$(has_fact late.anomaly_smb_latency && echo 1)"

# --- main agent: started once the share is mounted (case a, then b c e g) ---------------
echo keep > /mnt/smb/keep   # a file that exists, for the read-only share tests
start_agent main
wait_status main 'attached' 40 && fact main.attached "$(cs)"
cp /proc/fs/cifs/Stats "$OUT/main/cifs-Stats-attached.txt" 2> /dev/null   # per-share counts at attach
$B sleep 1.5                # a quiet window before netem
fact main.anoms_before_netem "$(nlines "$OUT/main/aod/anomalies.jsonl")"

# --- latency (case b) -------------------------------------------------------------------
from=$(nlines "$OUT/main/aod/anomalies.jsonl")
fact main.lat_from "$from"
netem_on; fact netem.on "$(cs)"
slow_workload /mnt/smb 4
fact main.lat_workload_done "$(cs)"
wait_anomaly main "$from" smb latency 15
say "latency: anomaly=$(grep -c '^main.anomaly_smb_latency=' "$FACTS")"

# --- record during a netem workload (case e) -------------------------------------------
"$AOD" record "${REC_CFG[@]}" --duration 5 "$OUT/smb-record.jsonl" > "$OUT/record.log" 2>&1 &
rp=$!
t=$(cs)
while alive $rp && (($(cs) - t < 2500)); do slow_workload /mnt/smb 2; done
alive $rp && { kill -TERM $rp; fact record.killed 1; }
wait $rp; fact record.rc $?
fact record.cs $(($(cs) - t))
netem_off; fact netem.off "$(cs)"
say "record: rc=$(grep '^record.rc=' "$FACTS" | cut -d= -f2) lines=$(nlines "$OUT/smb-record.jsonl")"

# --- errors through the read-only share (case c) ---------------------------------------
bash "$HERE/_mount.sh" ro /mnt/ro && fact mount.ro "$(cs)"
from=$(nlines "$OUT/main/aod/anomalies.jsonl")
fact main.err_from "$from"
denied=0
for i in $($B seq 1 12); do
	{ echo x > "/mnt/ro/denied$i"; } 2> /dev/null || denied=$((denied + 1))
	{ echo x >> /mnt/ro/keep; } 2> /dev/null || denied=$((denied + 1))
done
fact error.denied_writes "$denied"
wait_anomaly main "$from" smb error 15
say "error: $denied writes denied, anomaly=$(grep -c '^main.anomaly_smb_error=' "$FACTS")"

# --- /metrics per share (case i): after the netem and read-only cases; the snapshot is <= 1 s old
$B sleep 1.5
cp /proc/fs/cifs/Stats "$OUT/main/cifs-Stats-metrics.txt" 2> /dev/null
curl -s --max-time 20 -o "$OUT/main/metrics.txt" http://127.0.0.1:9435/metrics; fact metrics.curl_rc $?
cp /proc/fs/cifs/DebugData "$OUT/main/cifs-DebugData.txt" 2> /dev/null

# --- a real Prometheus (case j), started here: its start (10-20 s under TCG) overlaps the
# bundle wait and the reconnect. It scrapes 127.0.0.1:9435, the main and then the stuck agent.
PROM_PID='' PURL='' PTMP=''
if ! command -v prometheus > /dev/null || ! command -v jq > /dev/null; then
	fact skip.prom "no prometheus or jq in the guest's root (scripts/deps.sh test installs Debian's prometheus)"
elif (($(left) < 180)); then
	skip_rest prom
else
	. "$TOP/tests/integration/lib-prom.sh"
	mkdir -p "$OUT/prom"
	PTMP=$(mktemp -d /tmp/aod-prom.XXXXXX)
	pport=$(prom_free_port)
	PURL=http://127.0.0.1:$pport
	prom_write_config "$OUT/prom/prom.yml" "$TOP/packaging/prometheus/aod-rules.yml" 127.0.0.1:9435
	prometheus --config.file="$OUT/prom/prom.yml" --storage.tsdb.path="$PTMP/tsdb" \
		--web.listen-address="127.0.0.1:$pport" --log.level=warn > "$OUT/prom/prom.log" 2>&1 &
	PROM_PID=$!
	fact prom.started "$(cs)"
	say "prometheus: pid $PROM_PID on port $pport"
fi
# The main agent's instant: Prometheus ready and scraping, then commands on both shares
# (latency, and errors from the read-only one) under its 1 s scrapes, then 4 s for two
# more scrapes and the recording rules.
prom_main_instant() {
	local t i
	fact prom.main_from "$(cs)"
	t=$(cs)
	until curl -sf -o /dev/null "$PURL/-/ready"; do
		alive "$PROM_PID" && (($(cs) - t < 6000)) || return 1
		$B sleep 0.5
	done
	fact prom.ready "$(cs)"
	t=$(cs)
	until [[ $(curl -s "$PURL/api/v1/query?query=aod_probe_attached%7Bprobe%3D%22smb%22%7D") == *'"result":[{'* ]]; do
		(($(cs) - t < 2000)) || return 1
		$B sleep 0.5
	done
	fact prom.scraped "$(cs)"
	slow_workload /mnt/smb 2
	for i in 1 2 3 4; do { echo x > "/mnt/ro/prom$i"; } 2> /dev/null; done
	$B sleep 4
	fact prom.t_main "$EPOCHREALTIME"
	fact prom.main_cs "$(cs)"
}
# Every SMB expression at each instant, with one curl; one jq turns the answers into facts
# prom.N.main / prom.N.stuck ("series not-NaN" or "error: ..."); OUT/prom/exprs.tsv says
# which expression N is. The rules as Prometheus loaded them.
prom_evaluate() {   # works in the guest's tmpfs (9p writes are slow), copies to OUT/prom
	local kind name ref expr n=0 at tv args=() f r w=$PTMP/w facts=''
	fact prom.eval_from "$(cs)"
	mkdir -p "$w"
	curl -s -o "$w/rules.json" "$PURL/api/v1/rules"
	{ prom_rules_tsv "$w/rules.json"; prom_panels_tsv "$TOP/packaging/grafana/aod-dashboard.json"; } > "$w/all.tsv"
	: > "$w/exprs.tsv"
	while IFS=$'\t' read -r kind name ref expr; do
		[ "$kind" = rule ] && n=$((n + 1))
	done < "$w/all.tsv"
	fact prom.rules_loaded "$n"
	local -A tat=()
	while IFS='=' read -r f r; do
		case $f in prom.t_main | prom.t_stuck) tat[${f#prom.t_}]=$r ;; esac
	done < "$FACTS"
	n=0
	while IFS=$'\t' read -r kind name ref expr; do
		prom_is_smb "$expr" || continue
		n=$((n + 1))
		printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$kind" "$name" "$ref" "$expr"
		for at in main stuck; do
			tv=${tat[$at]:-}
			[ -n "$tv" ] || continue
			args+=(--next -s -G --data-urlencode "query=$expr" --data-urlencode "time=$tv"
				-o "$w/q.$n.$at.json" "$PURL/api/v1/query")
		done
	done < "$w/all.tsv" > "$w/exprs.tsv"
	fact prom.exprs "$n"
	fact prom.curl_from "$(cs)"
	((${#args[@]})) && curl -s --parallel --parallel-max 4 "${args[@]:1}" 2> "$w/curl.err"
	fact prom.curl_done "$(cs)"
	# the answers are one JSON value each, without a final newline: jq reads them as one
	# stream (a file that is not JSON stops it: its fact and the later ones stay absent)
	jq -r --arg dir "$w/q." "input_filename as \$f | ($PROM_SUMMARY_JQ)
		| \"\(\$f | ltrimstr(\$dir) | rtrimstr(\".json\"))\t\(.)\"" "$w"/q.*.json > "$w/summaries.tsv" ||
		fact prom.jq_failed 1
	while IFS=$'\t' read -r f r; do facts+="prom.$f=$r"$'\n'; done < "$w/summaries.tsv"
	printf '%s' "$facts" >> "$FACTS"
	$B cp "$w"/* "$OUT/prom/"
	fact prom.evaluated "$(cs)"
}
prom_stop() {
	local t
	[ -n "$PROM_PID" ] || return 0
	kill -TERM "$PROM_PID" 2> /dev/null
	t=$(cs)
	while alive "$PROM_PID" && (($(cs) - t < 1000)); do $B sleep 0.2; done
	alive "$PROM_PID" && kill -KILL "$PROM_PID"
	wait "$PROM_PID" 2> /dev/null
	PROM_PID=
	rm -rf "$PTMP"
	fact prom.stopped "$(cs)"
}

# --- bundles (case g): wait until both exist, or no batches/ 10 s after the anomalies ----
t=$(cs)
while alive "$AGENT_PID" && (($(cs) - t < 4500)); do
	lat=("$OUT"/main/aod/batches/aod_*_smb_latency.tar.zst)
	err=("$OUT"/main/aod/batches/aod_*_smb_error.tar.zst)
	((${#lat[@]} > 0 && ${#err[@]} > 0)) && break
	[ ! -d "$OUT/main/aod/batches" ] && (($(cs) - t >= 1000)) && break
	$B sleep 0.5
done
fact bundles.wait_cs $(($(cs) - t))
say "bundles: $(ls "$OUT/main/aod/batches" 2> /dev/null | tr '\n' ' ')"

# --- reconnect (case g): kill smbd's children, I/O must recover, agent must stay up -----
if (($(left) > 60)); then
	"$AOD" record "${REC_CFG[@]}" --duration 12 "$OUT/reconnect-record.jsonl" > "$OUT/reconnect-record.log" 2>&1 &
	rp=$!
	$B sleep 3   # let the recorder attach
	master=$(cat /run/smbvm/pid/smbd.pid 2> /dev/null)
	n=0
	for p in $(conn_children "${master:-1}"); do kill "$p" && n=$((n + 1)); done
	fact reconnect.killed "$n"; fact reconnect.t "$(cs)"
	t=$(cs)
	until { echo after > /mnt/smb/after-reconnect && $B ls /mnt/smb > /dev/null; } 2> /dev/null; do
		(($(cs) - t > 2000)) && break
		$B sleep 0.5
	done
	{ echo after > /mnt/smb/after-reconnect2; } 2> /dev/null && fact reconnect.io_ok $(($(cs) - t))
	$B sleep 2
	alive "$AGENT_PID" && fact reconnect.agent_alive 1
	"$AOD" status --config "$OUT/main/aod.yaml" > "$OUT/main/status-after-reconnect.txt" 2>&1 &&
		fact reconnect.status_ok 1
	wait $rp; fact reconnect.record_rc $?
	$B dmesg | grep -i -E 'cifs|smb' > "$OUT/dmesg-cifs.txt" 2> /dev/null
else
	skip_rest reconnect
fi
"$AOD" status --config "$OUT/main/aod.yaml" > "$OUT/main/status-final.txt" 2>&1
curl -s --max-time 20 -o "$OUT/main/metrics-final.txt" http://127.0.0.1:9435/metrics
cp /proc/fs/cifs/Stats "$OUT/main/cifs-Stats-final.txt" 2> /dev/null
if [ -n "$PROM_PID" ]; then
	prom_main_instant || say "prometheus: not ready or not scraping (see $OUT/prom/prom.log)"
	has_fact prom.t_main || prom_stop
fi
stop_agent main

# --- forced attach modes (case f) ------------------------------------------------------
for mode in $MODES; do
	name=attach-$mode
	if (($(left) < 30)); then skip_rest "$name"; continue; fi
	start_agent "$name" "$mode"
	if wait_status "$name" 'attached' 40; then
		fact "$name.attached" "$(cs)"
		netem_on
		slow_workload /mnt/smb 2
		wait_anomaly "$name" 0 smb latency 10
		netem_off
	fi
	stop_agent "$name"
done

# --- a hung server (case h): smbd's connection stopped under a writer -------------------
# The agent must report the hung commands while they hang, write a complete bundle
# although actions on the mount hang too, and not count the commands again when they end.
if (($(left) > 60)); then
	mkdir -p "$OUT/stuck/aod"
	cat > "$OUT/stuck/aod.yaml" << EOF
watch_interval_sec: 1
aod_output_dir: $OUT/stuck/aod
guardian:
  anomalies:
    latency:
      type: Latency
      tool: smbslower
      acceptable_count: 100000
      default_threshold_ms: 20
      emergency_threshold_ms: 1000
      holdoff_sec: 0
EOF
	"$AOD" agent --config "$OUT/stuck/aod.yaml" > "$OUT/stuck/agent.out" 2> "$OUT/stuck/agent.log" &
	AGENT_PID=$!
	fact stuck.started "$(cs)"
	if wait_status stuck 'attached' 40; then
		master=$(cat /run/smbvm/pid/smbd.pid 2> /dev/null)
		conns=$(conn_children "${master:-1}")
		fact stuck.conns "$(echo $conns)"
		for p in $conns; do kill -STOP "$p"; done
		fact stuck.stopped "$(cs)"
		$B dd if=/dev/zero of=/mnt/smb/stuck bs=64k count=4 conv=fsync 2> "$OUT/stuck/dd.err" &
		ddp=$!
		wait_anomaly stuck 0 smb stuck 20
		t=$(cs) # the bundle, complete, while the server is still stopped
		while :; do
			stuck_bundles=("$OUT"/stuck/aod/batches/aod_*_smb_stuck.tar.zst) # nullglob: () if none
			((${#stuck_bundles[@]} > 0)) && { fact stuck.bundle "$(cs)"; break; }
			(($(cs) - t > 6000)) && break
			alive "$AGENT_PID" || break
			$B sleep 0.25
		done
		fact stuck.anoms_before_cont "$(nlines "$OUT/stuck/aod/anomalies.jsonl")"
		if [ -n "$PROM_PID" ]; then   # two scrapes (1 s each, snapshot 1 s) of the stuck series
			$B sleep 3
			fact prom.t_stuck "$EPOCHREALTIME"
		fi
		alive "$ddp" && fact stuck.dd_hung_at_metrics 1   # the writer still waits: its command is in flight
		curl -s --max-time 20 -o "$OUT/stuck/metrics-hung.txt" http://127.0.0.1:9435/metrics
		cp /proc/fs/cifs/Stats "$OUT/stuck/cifs-Stats-hung.txt" 2> /dev/null
		for p in $conns; do kill -CONT "$p"; done
		fact stuck.cont "$(cs)"
		t=$(cs)
		while alive "$ddp" && (($(cs) - t < 6000)); do $B sleep 0.25; done
		if alive "$ddp"; then
			kill "$ddp"
			fact stuck.dd_hung 1
		fi
		wait "$ddp"
		fact stuck.dd_rc $?
		fact stuck.dd_done "$(cs)"
		$B sleep 3 # completions reach the detector; nothing may fire for them
		curl -s --max-time 20 -o "$OUT/stuck/metrics-after.txt" http://127.0.0.1:9435/metrics
		alive "$AGENT_PID" && fact stuck.agent_alive 1
		"$AOD" status --config "$OUT/stuck/aod.yaml" > "$OUT/stuck/status-final.txt" 2>&1 &&
			fact stuck.status_ok 1
		"$AOD" status --config "$OUT/stuck/aod.yaml" --json > "$OUT/stuck/status-final.json" 2>&1
	fi
	stop_agent stuck
else
	skip_rest stuck
fi

if [ -n "$PROM_PID" ]; then
	prom_evaluate
	prom_stop
	say "prometheus: $(grep -c '^prom\.[0-9]*\.' "$FACTS") answers for $(grep '^prom.exprs=' "$FACTS" | cut -d= -f2) SMB expressions"
fi

cp /proc/fs/cifs/Stats "$OUT/cifs-Stats.txt" 2> /dev/null
cp /proc/fs/cifs/DebugData "$OUT/cifs-DebugData.txt" 2> /dev/null
$B dmesg > "$OUT/dmesg.txt"
fact guest.done "$(cs)"
fact guest.t0 "$T0"
say "done in $((($(cs) - T0) / 100)) s"
exit 0
