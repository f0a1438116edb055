#!/bin/bash
# The job of the systemd test VM (tests/vm/health.sh), run by aod-health-job.service inside
# the guest, where systemd is PID 1 with a real journal and the test units of sysvm/units/.
# It waits until each test unit is in the state it was made for, runs `aod health` four
# times (a failure and a memory jump induced before the fourth), records the ground truth
# next to each run (cgroup files, systemctl show, journalctl, systemd-analyze, read directly,
# never through aod), and powers off. Facts go to $JOB_OUT/facts as key=value lines.
# Env (sysvm/stage2.sh): JOB_OUT AOD HEALTH_LOAD
set -u
OUT=${JOB_OUT:?} CFG=/etc/aod-guest.yaml
CG=/sys/fs/cgroup/system.slice
fact() { echo "$1=$2" >> "$OUT/facts"; }
up() { cut -d' ' -f1 /proc/uptime; }
prop() { systemctl show -p "$2" --value "$1"; }
finish() { fact end "$(up)"; sync; systemctl poweroff -ff; exit 0; }
trap finish EXIT

wait_for() { # name seconds command...: poll until command succeeds
	local name=$1 end=$(($(date +%s) + $2))
	shift 2
	until "$@" 2> /dev/null; do
		if [ "$(date +%s)" -ge "$end" ]; then fact "wait.$name" timeout; return 1; fi
		sleep 0.5
	done
	fact "wait.$name" "ok@$(up)"
}
# predicates: wait_for evaluates them at every poll
prop_ge() { [ "$(prop "$1" "$2")" -ge "$3" ]; }
prop_is() { [ "$(prop "$1" "$2")" = "$3" ]; }
mem_ge() { [ "$(cat "$CG/$1/memory.current")" -ge "$2" ]; }
booted() { [ "$(systemctl show -p FinishTimestampMonotonic --value)" != 0 ]; }
dep_failed() {
	[ -n "$(journalctl -b -q --no-pager UNIT=aod-needs-dep.service JOB_RESULT=dependency _PID=1 -o cat)" ]
}

# what each run is judged against, read after the run
truth() { # n
	local d=$OUT/truth$1 u f
	mkdir -p "$d"
	for u in aod-io.service aod-mem.service; do
		for f in io.stat memory.current cgroup.procs cpu.stat; do
			cat "$CG/$u/$f" > "$d/$u.$f" 2> /dev/null
		done
	done
	systemctl show -p Id -p ActiveState -p SubState -p Result -p NRestarts -p NRefused \
		aod-fail.service aod-flap.service aod-sock.socket aod-refuse.socket aod-timer.timer \
		aod-timer.service aod-dep-fail.service aod-needs-dep.service aod-oom.service \
		aod-segv.service aod-io.service aod-mem.service aod-late-fail.service > "$d/units.txt"
}

run() { # n
	local t0
	t0=$(up)
	"${AOD:?}" health -c "$CFG" -o json > "$OUT/run$1.json" 2> "$OUT/run$1.err"
	fact "run$1.rc" $?
	fact "run$1.secs" "$(awk -v a="$t0" -v b="$(up)" 'BEGIN { print b - a }')"
	truth "$1"
}

fact start "$(up)"
cat > "$CFG" <<EOF
watch_interval_sec: 1
aod_output_dir: /tmp/aod
health:
  history_dir: /var/lib/aod-health
  max_files: 0
  min_samples: 3
  sample_ms: 500
EOF

# the socket whose service fails (its start limit is 1), and one connection too many
(exec 3<> /dev/tcp/127.0.0.1/7001) 2> /dev/null
exec 4<> /dev/tcp/127.0.0.1/7002
sleep 1
exec 5<> /dev/tcp/127.0.0.1/7002

wait_for boot 90 booted
# systemd-analyze reads every property of every unit (GetAll: about 70 s under TCG, over 9p):
# in the background, while the units settle and the reports run
systemd-analyze critical-chain --no-pager > "$OUT/critical-chain.txt" 2>&1 &
analyze=$!
wait_for flap 90 prop_ge aod-flap.service NRestarts 3
wait_for sock 30 prop_is aod-sock.socket ActiveState failed
wait_for refuse 30 prop_ge aod-refuse.socket NRefused 1
wait_for timer 30 prop_is aod-timer.service ActiveState failed
wait_for oom 30 prop_is aod-oom.service Result oom-kill
wait_for io 60 test -e /run/aod-io.done
wait_for mem 30 mem_ge aod-mem.service $((15 << 20))
wait_for dep 30 dep_failed

systemctl show -p FirmwareTimestampMonotonic -p LoaderTimestampMonotonic -p InitRDTimestampMonotonic \
	-p UserspaceTimestampMonotonic -p FinishTimestampMonotonic > "$OUT/manager.txt"
journalctl -b -u aod-fail.service -o cat --no-pager > "$OUT/aod-fail.journal"

run 1
# the blame of run 1, recomputed from systemctl show
units=$(jq -r '.boot.blame[:5][].unit' "$OUT/run1.json" 2> /dev/null)
[ -n "$units" ] && systemctl show -p Id -p InactiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic \
	$units > "$OUT/blame-truth.txt"
run 2
run 3

# the induced change: a new failure and a memory jump (16 -> 64 MiB)
systemctl kill -s USR1 --kill-whom=main aod-mem.service
systemctl start --no-block aod-late-fail.service
wait_for late 30 prop_is aod-late-fail.service ActiveState failed
wait_for grow 30 mem_ge aod-mem.service $((60 << 20))
run 4

"$AOD" health -c "$CFG" history -o json > "$OUT/history.json" 2> "$OUT/history.err"
fact history.rc $?
"$AOD" health -c "$CFG" diff 2 1 -o json > "$OUT/diff.json" 2> "$OUT/diff.err"
fact diff.rc $?
NO_COLOR=1 "$AOD" health -c "$CFG" diff 2 1 > "$OUT/diff.txt" 2>&1
NO_COLOR=1 "$AOD" health -c "$CFG" show 1 > "$OUT/show.txt" 2>&1
fact show.rc $?
"$AOD" health -c "$CFG" unit aod-fail.service -o json > "$OUT/unit.json" 2> "$OUT/unit.err"
fact unit.rc $?
"$AOD" health -c "$CFG" units -o json > "$OUT/units.json" 2> "$OUT/units.err"
fact units.rc $?
ls /var/lib/aod-health > "$OUT/history.ls"

# --processes: a transient service runs PROCS_N commands, PROCS_K of them failing, between two
# reads of a fifo, while `aod health resources --processes` traces; its own counts are the truth
PROCS_N=10 PROCS_K=3
fact procs.btf "$([ -r /sys/kernel/btf/vmlinux ] && echo yes || echo no)"
mkfifo /run/aod-procs.go /run/aod-procs.done
cat > /run/aod-procs.sh <<EOF
read x < /run/aod-procs.go
n=0 f=0
while [ \$n -lt $((PROCS_N - PROCS_K)) ]; do /bin/true; n=\$((n + 1)); done
while [ \$n -lt $PROCS_N ]; do /bin/false || f=\$((f + 1)); n=\$((n + 1)); done
echo "\$n \$f" > /run/aod-procs.truth
read x < /run/aod-procs.done
EOF
sed 's/sample_ms: 500/sample_ms: 5000/' "$CFG" > /etc/aod-procs.yaml
systemd-run --quiet --unit=aod-procs.service /bin/sh /run/aod-procs.sh
wait_for procs-unit 30 prop_is aod-procs.service ActiveState active
fact procs.cgroup "$(prop aod-procs.service ControlGroup)"   # gone with the unit at its end
AOD_LOG_LEVEL=debug "$AOD" health -c /etc/aod-procs.yaml resources --processes -o json > "$OUT/procs.json" \
	2> "$OUT/procs.err" &
procs_pid=$!
for _ in $(seq 240); do   # loading the probe under TCG can take a while
	grep -q 'health: tracing processes' "$OUT/procs.err" 2> /dev/null && break
	kill -0 "$procs_pid" 2> /dev/null || break
	sleep 0.5
done
timeout 10 sh -c 'echo go > /run/aod-procs.go'
for _ in $(seq 60); do [ -s /run/aod-procs.truth ] && break; sleep 0.5; done
fact procs.inwindow "$(kill -0 "$procs_pid" 2> /dev/null && echo yes || echo no)"
wait "$procs_pid"
fact procs.rc $?
cp /run/aod-procs.truth "$OUT/procs.truth" 2> /dev/null
timeout 10 sh -c 'echo done > /run/aod-procs.done'

# the agent: a `type: Health` rule makes one bundle, holding the report, for a failed unit
mkdir -p /tmp/agent
cat > /etc/aod-agent.yaml <<EOF
watch_interval_sec: 1
aod_output_dir: /tmp/agent/out
agent:
  control_socket: /tmp/agent/aod.sock
guardian:
  anomalies:
    unit_down:
      type: Health
      on: [failed]
      units: ["aod-fail.service"]
      actions: [dmesg]
health:
  history_dir: /tmp/agent/hist
  interval_sec: 2
  sample_ms: 200
EOF
bundle_ready() { ls /tmp/agent/out/batches/aod_*_health_health.tar.zst > /dev/null 2>&1; }
reports_ge() { [ "$(grep -c 'health: report ' "$OUT/agent.log")" -ge "$1" ]; }
"$AOD" agent --config /etc/aod-agent.yaml > "$OUT/agent.log" 2>&1 &
apid=$!
wait_for bundle 90 bundle_ready
wait_for agent-reports 30 reports_ge 3    # later reports must not make more bundles
kill -TERM "$apid"
wait "$apid"
fact agent.rc $?
cp /tmp/agent/out/batches/aod_*_health_health.tar.zst "$OUT/" 2> /dev/null
wait "$analyze"
fact analyze.rc $?
