#!/bin/bash
# aod's Prometheus assets against a real Prometheus (Debian's) scraping a real
# agent every second, driven by real workloads (a loop device of our own,
# loopback TCP through tests/helpers/tcp_load):
#  - promtool: check rules, test rules (packaging/prometheus/aod-rules.test.yml,
#    synthetic series), check config, check metrics on a scrape with
#    metrics.compat on;
#  - the TCP series through Prometheus: N connects to a loopback listener ->
#    connect-latency count +N for its port (tcp_load's own count); a listener
#    that never accepts with 5 pending connects -> backlog gauge 5;
#  - ebpf_exporter compatibility: the bio latency histogram with device and
#    operation labels, biolatency's 28 exp2 buckets + Inf, the same count as
#    aod's own histogram; syn backlog, window clamps, connect time, RTT;
#  - every expression of aod-rules.yml (as Prometheus loaded it; an alert's
#    threshold comparison left off) and every query of the Grafana dashboard
#    (variables as "All") returns data; the recording rules' series exist.
#    The SMB expressions need the cifs module and a mount: without the smb probe
#    attached they are left out here (one INFO line) and judged against real SMB
#    series in the VM by tests/vm/smb.sh's smb-prom-* cases (same lib-prom.sh).
# http.sh checks the block histogram against /sys/block/X/stat and
# histogram_quantile against the workload's median through Prometheus.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-prom.sh"
need_root_bpf prometheus || exit 0
for t in prometheus promtool curl jq losetup; do
	command -v "$t" >/dev/null || { skip prometheus "$t missing (scripts/deps.sh test installs Debian's prometheus)"; exit 0; }
done
PKG=$AOD_TOP/packaging
LOAD=$HELPERS/tcp_load ODIO=$HELPERS/odirect_io
for h in "$LOAD" "$ODIO"; do [ -x "$h" ] || { fail prometheus-helpers "$h missing (make tests-build)"; exit 0; }; done
make_workdir
PROM_PID= BG=()
cleanup_prom() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
	stop_agent 2>/dev/null
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	rm -rf "$WORK"
}
trap cleanup_prom EXIT

# ---- static checks --------------------------------------------------------------
out=$(promtool check rules "$PKG/prometheus/aod-rules.yml" 2>&1)
check prom-check-rules "$(echo "$out" | tail -n 3 | tr '\n' ' ')" grep -q SUCCESS <<< "$out"
out=$(cd "$PKG/prometheus" && promtool test rules aod-rules.test.yml 2>&1); rc=$?
check prom-test-rules "rc $rc: $(echo "$out" | head -n 20 | tr '\n' ' ')" test $rc = 0
out=$(promtool check config "$PKG/prometheus/prometheus.yml" 2>&1); rc=$?
check prom-check-config "rc $rc: $(echo "$out" | tr '\n' ' ')" test $rc = 0
npanels=$(jq '[.panels[] | select((.targets // []) | length > 0)] | length' "$PKG/grafana/aod-dashboard.json" 2>/dev/null)
check "grafana-dashboard-json ($npanels panels with queries)" "not JSON or no panels" test "${npanels:-0}" -gt 0

PORT=$(prom_free_port) PPORT=$(prom_free_port) P_CONN=$(prom_free_port) P_BL=$(prom_free_port)
URL=http://127.0.0.1:$PORT
make_loop prometheus 64M || exit 0

cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
guardian:
  anomalies:
    looplat:
      type: Latency
      tool: biolatency
      mode: trackonly
      acceptable_count: 3
      track_devices: [{device: $DEV, threshold: 0}]
      holdoff_sec: 1
      actions: [mounts]
agent:
  control_socket: $WORK/aod.sock
http: {listen: "127.0.0.1:$PORT"}
metrics: {compat: [ebpf_exporter]}
probes: {block: on, tcp: on}
YAML
if ! start_agent "$WORK/aod.yaml"; then
	fail prometheus-agent-start "$(tail -n 5 "$WORK/agent.log" | tr '\n' ' ')"; exit 0
fi
wait_for 10 curl -sf -o /dev/null "$URL/metrics"

prom_write_config "$WORK/prom.yml" "$PKG/prometheus/aod-rules.yml" "127.0.0.1:$PORT"
prometheus --config.file="$WORK/prom.yml" --storage.tsdb.path="$WORK/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn > "$WORK/prom.log" 2>&1 &
PROM_PID=$!
PAPI=http://127.0.0.1:$PPORT/api/v1
if ! wait_for 30 curl -sf "http://127.0.0.1:$PPORT/-/ready" -o /dev/null; then
	fail prometheus-start "not ready in 30 s: $(tail -n 3 "$WORK/prom.log" | tr '\n' ' ')"; exit 0
fi
pq() { # expr -> the first value, or "none"
	curl -s --data-urlencode "query=$1" "$PAPI/query" | jq -r '.data.result[0].value[1] // "none"'
}
pq_all() { # expr -> "N M": samples, of which not NaN; "error: ..." if the query failed
	curl -s --data-urlencode "query=$1" "$PAPI/query" | jq -r "$PROM_SUMMARY_JQ"
}
# a value unchanged over 3 s (scrape 1 s + snapshot 1 s): echoed
settle() {
	local a b
	for _ in $(seq 1 10); do
		a=$(pq "$1"); sleep 3; b=$(pq "$1")
		[ "$a" = "$b" ] && [ "$b" != none ] && break
	done
	echo "$b"
}

# ---- workloads ----------------------------------------------------------------
"$ODIO" -n "$LOOP" 64 >/dev/null
"$LOAD" serve 127.0.0.1 "$P_CONN" 60 > "$WORK/serve.out" & BG+=($!)
wait_for 3 grep -q listening "$WORK/serve.out"
"$LOAD" connect 127.0.0.1 "$P_CONN" 1 >/dev/null   # the port's series exists from here on
"$LOAD" listen 127.0.0.1 "$P_BL" 8 60 > "$WORK/listen.out" & BG+=($!)
wait_for 3 grep -q listening "$WORK/listen.out"
"$LOAD" connect 127.0.0.1 "$P_BL" 5 >/dev/null

CSEL="aod_tcp_connect_latency_seconds_count{port=\"$P_CONN\"}"
c0=$(settle "$CSEL")
N=40
out=$("$LOAD" connect 127.0.0.1 "$P_CONN" $N)
ok=$(echo "$out" | sed -n 's/.*ok=\([0-9]*\).*/\1/p')
c1=$(settle "$CSEL")
if [ "$c0" != none ] && [ "$c1" != none ] && [ "$ok" = $N ] && [ $((c1 - c0)) = "$ok" ]; then
	pass "prom-tcp-connect-count (+$((c1 - c0)) in Prometheus for $ok connects to port $P_CONN)"
else
	fail prom-tcp-connect-count "$out; $CSEL $c0 -> $c1"
fi
q=$(pq "aod_tcp_listen_backlog{listener=\"127.0.0.1:$P_BL\"}")
qmax=$(pq "aod_tcp_listen_backlog_max{listener=\"127.0.0.1:$P_BL\"}")
check "prom-tcp-listen-backlog (5 pending: gauge $q, max $qmax)" "backlog $q, max $qmax" test "$q" = 5 -a "$qmax" = 8
"$ODIO" -n "$LOOP" 64 >/dev/null   # fresh block samples for the rate() windows
wait_for 15 test -s "$WORK/out/anomalies.jsonl"

# ---- a real scrape --------------------------------------------------------------
curl -s -o "$WORK/m.txt" "$URL/metrics"
lint=$(promtool check metrics < "$WORK/m.txt" 2>&1); rc=$?
check prom-check-metrics-compat "rc $rc: $(echo "$lint" | head -n 5 | tr '\n' ' ')" test $rc = 0 -a -z "$lint"

# ---- ebpf_exporter compatibility ------------------------------------------------
sleep 2
B="ebpf_exporter_bio_latency_seconds"
SEL="device=\"$DEV\",operation=\"read\""
nb=$(pq "count($B""_bucket{$SEL})")
les=$(curl -s --data-urlencode "query=$B""_bucket{$SEL}" "$PAPI/query" | jq -r '[.data.result[].metric.le] | sort_by(if . == "+Inf" then 1e99 else tonumber end) | "\(.[0]) \(.[-2]) \(.[-1])"')
check "prom-compat-bio-buckets ($nb: $les)" "buckets of $B{$SEL}: $nb ($les), want 29: 1e-06 .. 134.217728, +Inf" \
	test "$nb" = 29 -a "$les" = "1e-06 134.217728 +Inf"
d=$(pq "$B""_count{$SEL} - on (device, operation) aod_block_io_latency_seconds_count{$SEL}")
n=$(pq "$B""_count{$SEL}")
check "prom-compat-bio-count ($n, the same as aod's)" "compat minus aod count: $d" test "$d" = 0 -a "$n" != none -a "$n" != 0
for m in "ebpf_exporter_tcp_syn_backlog{listener=\"127.0.0.1:$P_BL\"}" ebpf_exporter_tcp_window_clamps_total \
	 ebpf_exporter_tcp_connect_time_count ebpf_exporter_tcp_rtt_count; do
	[ "$(pq "$m")" = none ] && cmiss="${cmiss:-} $m"
done
check prom-compat-series "missing:${cmiss:-}" test -z "${cmiss:-}"
v=$(pq "ebpf_exporter_tcp_syn_backlog{listener=\"127.0.0.1:$P_BL\"}")
ct=$(pq "ebpf_exporter_tcp_connect_time_count")
check "prom-compat-tcp-values (syn backlog $v, connect time count $ct)" "syn backlog $v (want 5), connect_time_count $ct (want >= $N)" \
	test "$v" = 5 -a "${ct%.*}" -ge $N

# ---- every rule expression and dashboard query returns data -----------------------
# the rules as Prometheus loaded them (lib-prom.sh: an alert without its threshold)
wait_for 10 bash -c "curl -s '$PAPI/rules' | jq -e '.data.groups | length > 0' >/dev/null"
curl -s "$PAPI/rules" > "$WORK/rules.json"
nrules=$(jq '[.data.groups[]?.rules[]] | length' "$WORK/rules.json" 2>/dev/null)
check "prom-rules-loaded (${nrules:-0})" "Prometheus loaded none: $(tail -n 3 "$WORK/prom.log" | tr '\n' ' ')" test "${nrules:-0}" -gt 0
{ prom_rules_tsv "$WORK/rules.json"; prom_panels_tsv "$PKG/grafana/aod-dashboard.json"; } > "$WORK/exprs.tsv"
SMB_ON=$(pq 'aod_probe_attached{probe="smb"}')
nsmb=0
while IFS=$'\t' read -r kind name ref expr; do
	if prom_is_smb "$expr" && [ "$SMB_ON" != 1 ]; then nsmb=$((nsmb + 1)); continue; fi
	case $kind in
	rule) c="prom-rule-$name" ;;
	recorded) c="prom-recorded-$name" ;;
	*) c="grafana-panel '$name' $ref" ;;
	esac
	prom_judge "$c" "$(pq_all "$expr")" "$expr"
done < "$WORK/exprs.tsv"
[ $nsmb -gt 0 ] && echo "INFO: $nsmb SMB expressions (aod_smb_*, aod:smb_*) left out: no smb probe attached here (no cifs mount); tests/vm/smb.sh judges them against real SMB series in its smb-prom-* cases"
stop_agent
