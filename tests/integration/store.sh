#!/bin/bash
# The event store against the real agent on this host, with ground truth:
#  1. N O_DIRECT block I/Os on a loop device (0 ms threshold, that device
#     only): the store holds exactly the requests the kernel completed
#     (/sys/block/DEV/stat) and exactly what the probe delivered (aod status);
#  2. a process named like SQL: its comm is stored verbatim; the events as CSV,
#     JSON and JSON lines load in Python's csv/json, pandas and DuckDB (when
#     installed) with the same rows, sums and names as the store;
#  3. aod query refuses writes, ATTACH and PRAGMA changes with a clear message
#     and stops a runaway query at its time limit;
#  4. kill -9 while the agent writes: the file passes integrity_check and
#     holds every batch committed before the kill;
#  5. a full tmpfs as aod_output_dir: write failures counted as lost, the
#     agent stays up and keeps detecting;
#  6. store.max_mb: the store stays within its share of the budget, oldest
#     rows first.
# The reader of record is Python's sqlite3 module (not aod's own code).
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf store || exit 0
command -v python3 >/dev/null || { skip store "python3 missing (make check installs it)"; exit 0; }
make_workdir
LOOP= TMPFS=
cleanup() {
	stop_agent 2>/dev/null
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	[ -n "$TMPFS" ] && umount "$TMPFS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
truncate -s 64M "$WORK/disk.img"
LOOP=$(losetup -f --show "$WORK/disk.img") || { fail store-setup "losetup failed"; exit 0; }
DEV=$(basename "$LOOP")

config() { # output_dir [store_max_mb] [acceptable_count] [budget_mb]
	cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $1
cleanup: {cleanup_interval_sec: 1, max_total_log_size_mb: ${4:-200}}
guardian:
  anomalies:
    every_io:
      type: Latency
      tool: biolatency
      mode: trackonly
      acceptable_count: ${3:-1000000}
      emergency_threshold_ms: 3600000
      holdoff_sec: 0
      track_devices: [{device: $DEV, threshold: 0}]
watcher:
  actions: [mounts]
store:
  max_mb: ${2:-0}
agent:
  control_socket: $WORK/aod.sock
YAML
}
status() { "$AOD_BIN" status --socket "$WORK/aod.sock" --json; }
st() { status | jq -r "$1"; }
# completed requests of every kind: reads, writes, discards, flushes
ios() { awk '{print $1 + $5 + $12 + $15}' "/sys/block/$DEV/stat"; }
sql() { # db sql: one value, read by Python's sqlite3 (read-only)
	python3 - "$1" "$2" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute(sys.argv[2]).fetchone()[0])
PY
}
# wait until the writer has written every decoded event (and a bit more)
settle() {
	wait_for 15 bash -c "[ \"\$('$AOD_BIN' status --socket '$WORK/aod.sock' --json | jq '.store.events_written == .dispatcher.events_decoded and .store.queue_depth == 0')\" = true ]"
}

# ---- 1 + 2: ground truth, verbatim comm --------------------------------
DB=$WORK/out/aod.db
config "$WORK/out" 0 200   # 200 ops in a second: a few anomalies, each with a bundle
start_agent "$WORK/aod.yaml" || { fail store-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
SQLNAME="x'); DROP TABLE events; --"
cp "$HELPERS/odirect_io" "$WORK/$SQLNAME"
before=$(ios)
"$WORK/$SQLNAME" "$LOOP" 300 4096 >/dev/null || { fail store-io "odirect_io on $LOOP failed"; exit 0; }
sleep 1
n=$(( $(ios) - before ))
settle
rows=$(sql "$DB" "SELECT COUNT(*) FROM events WHERE disk = '$DEV'")
decoded=$(st .dispatcher.events_decoded) written=$(st .store.events_written) lost=$(st .store.lost)
check "store-rows-equal-kernel-ios (kernel $n, rows $rows)" "rows $rows != kernel $n" \
	test "$rows" = "$n" -a "$n" -ge 600
check "store-rows-equal-probe-events (decoded $decoded, written $written, rows $rows, lost $lost)" \
	"decoded $decoded written $written rows $rows lost $lost" \
	test "$decoded" = "$rows" -a "$written" = "$rows" -a "$lost" = 0
check "store-query-agrees ($("$AOD_BIN" query -c "$WORK/aod.yaml" -f csv blk-slow | tr '\r\n' ' '))" \
	"aod query blk-slow total != $n" \
	test "$("$AOD_BIN" query -c "$WORK/aod.yaml" -f json blk-slow | jq '[.[].ops] | add')" = "$n"
comms=$("$AOD_BIN" query -d "$DB" -f json "SELECT DISTINCT comm FROM events WHERE disk = '$DEV'" | jq -r '.[].comm')
tables=$(sql "$DB" "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'events'")
check "store-sql-looking-comm-verbatim (${SQLNAME:0:15})" "stored: $comms" \
	bash -c 'grep -Fxq -- "$1" <<< "$2" && [ "$3" = 1 ]' _ "${SQLNAME:0:15}" "$comms" "$tables"
# anomalies and bundles: what the agent counted, and the bundle files themselves
same() {
	local s a b
	s=$(status)
	a=$(sql "$DB" "SELECT COUNT(*) FROM anomalies") b=$(sql "$DB" "SELECT COUNT(*) FROM bundles")
	[ "$a" = "$(jq .anomalies.total <<< "$s")" ] && [ "$a" -ge 1 ] &&
		[ "$b" = "$(jq '.collector.bundles_written + .collector.bundles_failed' <<< "$s")" ] && [ "$b" -ge 1 ]
}
bundles_match() { same && [[ $files_ok =~ ^[1-9][0-9]*$ ]]; }
wait_for 20 same; sleep 1
files_ok=$(python3 - "$DB" <<'PY'
import os, sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
rows = c.execute("SELECT path, size, result, rule FROM bundles").fetchall()
print(all(r[2] == "ok" and r[3] == "every_io" and os.path.getsize(r[0]) == r[1] for r in rows) and len(rows))
PY
)
check "store-anomalies-and-bundles ($(sql "$DB" "SELECT COUNT(*) FROM anomalies") anomalies, $files_ok bundles: path and size as on disk)" \
	"$(jq -c '{a: .anomalies, c: .collector}' <<< "$(status)"), files: $files_ok" bundles_match
mode=$(stat -c %a "$DB")
check "store-file-private (mode $mode)" "store file mode $mode" test "$mode" = 600

# ---- 2b: CSV and JSON as the stdlib, pandas and DuckDB load them ----------
# ground truth from Python's sqlite3: rows, the sum of latencies, rows of the SQL-looking comm
truth=$(python3 - "$DB" "$DEV" "${SQLNAME:0:15}" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print("%d %d %d" % c.execute("SELECT COUNT(*), SUM(latency_ns), SUM(comm = ?) FROM events WHERE disk = ?",
                             (sys.argv[3], sys.argv[2])).fetchone())
PY
)
for f in csv json jsonl; do
	"$AOD_BIN" query -d "$DB" -f "$f" --limit 0 "SELECT id, wall_ns, comm, disk, op, latency_ns, share, 		latency_ns / 1e6 AS ms FROM events WHERE disk = '$DEV' ORDER BY id" > "$WORK/ev.$f"
done
readers() { # python: which readers to use
	"$1" - "$WORK" "${SQLNAME:0:15}" "$2" <<'PY'
import csv, json, sys
work, comm, which = sys.argv[1], sys.argv[2], sys.argv[3]
def summary(rows):
    return "%d %d %d" % (len(rows), sum(int(r["latency_ns"]) for r in rows), sum(r["comm"] == comm for r in rows))
if which == "stdlib":
    out = [summary(list(csv.DictReader(open(work + "/ev.csv", newline="", encoding="utf-8")))),
           summary(json.load(open(work + "/ev.json", encoding="utf-8"))),
           summary([json.loads(l) for l in open(work + "/ev.jsonl", encoding="utf-8")])]
else:
    import pandas as pd
    frames = [pd.read_csv(work + "/ev.csv"), pd.read_json(work + "/ev.json"),
              pd.read_json(work + "/ev.jsonl", lines=True)]
    assert all(f["share"].isna().all() and f["ms"].dtype == float for f in frames)
    out = [summary(f.to_dict("records")) for f in frames]
print(" | ".join(out))
PY
}
got=$(readers python3 stdlib)
check "store-csv-json-stdlib ($got; truth $truth)" "csv | json | jsonl: $got, truth $truth" \
	test "$got" = "$truth | $truth | $truth"
if /usr/bin/python3 -c 'import pandas' 2>/dev/null; then
	got=$(readers /usr/bin/python3 pandas 2>&1)
	check "store-csv-json-pandas ($got)" "read_csv | read_json | read_json(lines): $got, truth $truth" \
		test "$got" = "$truth | $truth | $truth"
else
	fail store-csv-json-pandas "pandas missing (scripts/deps.sh test installs python3-pandas)"
fi
# DuckDB: Debian has no package; make check installs its node bindings (npm
# @duckdb/node-api, tests/npm) under $AOD_BUILD/npm (scripts/npm-deps.sh).
export NODE_PATH=$AOD_TOP/$AOD_BUILD/npm/node_modules${NODE_PATH:+:$NODE_PATH}
if node -e "require('@duckdb/node-api')" 2>/dev/null; then
	got=$(node - "$WORK" "${SQLNAME:0:15}" <<'JS' 2>&1
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const [work, comm] = process.argv.slice(2);
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  const out = [];
  for (const src of [`read_csv_auto('${work}/ev.csv')`, `read_json_auto('${work}/ev.json')`,
                     `read_json_auto('${work}/ev.jsonl')`]) {
    const r = await con.runAndReadAll(`SELECT COUNT(*)::INT, SUM(latency_ns)::BIGINT, COUNT(*) FILTER (WHERE comm = $c)::INT,
      COUNT(*) FILTER (WHERE share IS NULL)::INT = COUNT(*)::INT FROM ${src}`, { c: comm });
    const [n, sum, k, nulls] = r.getRows()[0];
    out.push(nulls ? `${n} ${sum} ${k}` : 'share not NULL');
  }
  console.log(out.join(' | '));
})().catch(e => { console.log(String(e)); });
JS
)
	check "store-csv-json-duckdb ($got)" "read_csv_auto | read_json_auto x2: $got, truth $truth" \
		test "$got" = "$truth | $truth | $truth"
elif [ -f "$AOD_TOP/$AOD_BUILD/npm/install-failed" ]; then
	skip store-csv-json-duckdb "DuckDB's node bindings: $(cat "$AOD_TOP/$AOD_BUILD/npm/install-failed")"
else
	fail store-csv-json-duckdb "DuckDB's node bindings missing under $AOD_BUILD/npm (scripts/npm-deps.sh installs them; make check runs it)"
fi

# ---- 3: read-only, time limit ------------------------------------------
refused=0 msgs=
for q in "INSERT INTO events(run_id, wall_ns, mono_ns, kind, source) VALUES (1,1,1,'x','y')" \
	"UPDATE events SET comm = 'x'" "DELETE FROM events" "ATTACH DATABASE '$WORK/x.db' AS x" \
	"PRAGMA user_version = 7" "DROP TABLE events"; do
	out=$("$AOD_BIN" query -d "$DB" "$q" 2>&1); rc=$?
	if [ "$rc" = 2 ] && grep -q "refused: .* is not allowed: aod query only reads the store" <<< "$out"; then
		refused=$((refused + 1))
	else
		msgs="$msgs [$q -> $rc: $out]"
	fi
done
after=$(sql "$DB" "SELECT COUNT(*) FROM events WHERE disk = '$DEV'")
check "store-query-refuses-writes ($refused of 6 refused, rows $after)" "$msgs" \
	test "$refused" = 6 -a "$after" = "$rows" -a ! -e "$WORK/x.db"
# usage errors: exit 2 and a sentence
u1=$("$AOD_BIN" query -d "$DB" slowest 2>&1); r1=$?
u2=$("$AOD_BIN" query -d "$DB" --since yesterday blk-slow 2>&1); r2=$?
u3=$("$AOD_BIN" query -d "$DB" blk-slow a b 2>&1); r3=$?
u4=$("$AOD_BIN" query -d "$DB" "SELECT 1; SELECT 2" 2>&1); r4=$?
check "store-query-usage-errors (exit $r1 $r2 $r3 $r4)" "$u1 | $u2 | $u3 | $u4" \
	bash -c "[ '$r1 $r2 $r3 $r4' = '2 2 2 2' ] && grep -q 'no named query' <<< \"\$1\" && grep -q 'RFC 3339' <<< \"\$2\" && grep -q 'too many arguments' <<< \"\$3\" && grep -q 'only one statement' <<< \"\$4\"" _ "$u1" "$u2" "$u3" "$u4"
n_named=$("$AOD_BIN" query --list | grep -cE '^  (slowest-commands|top-cpu|top-rss|failed-commands|process-tree|anomalies-by-rule|smb-slow|blk-slow|seed-avg-exec-time|seed-top-cpu) ')
check "store-query-list ($n_named of 10 named queries listed)" "$("$AOD_BIN" query --list)" test "$n_named" = 10
since=$("$AOD_BIN" query -d "$DB" -f json --since -1h blk-slow | jq '[.[].ops] | add')
future=$("$AOD_BIN" query -d "$DB" -f json --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" blk-slow)
check "store-query-since (last hour: $since ops, from an hour ahead: $future)" "since $since future $future" \
	test "$since" = "$n" -a "$future" = "[]"
t0=$(date +%s%N)
out=$("$AOD_BIN" query -d "$DB" --timeout 1 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c" 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "store-query-time-limit (stopped after $ms ms, exit $rc)" "$out (exit $rc, $ms ms)" \
	bash -c "[ $rc = 1 ] && [ $ms -ge 1000 ] && [ $ms -lt 15000 ] && grep -q 'time limit of 1.0 s' <<< '$out'"

# ---- 4: kill -9 while writing -------------------------------------------
"$HELPERS/odirect_io" "$LOOP" 20000 4096 >/dev/null 2>&1 &
LOAD=$!
wait_for 10 bash -c "[ \$('$AOD_BIN' status --socket '$WORK/aod.sock' --json | jq '.store.events_written') -gt $((rows + 2000)) ]"
committed=$(st .store.events_written)
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
kill "$LOAD" 2>/dev/null; wait "$LOAD" 2>/dev/null
ok=$(sql "$DB" "PRAGMA integrity_check")
have=$(sql "$DB" "SELECT COUNT(*) FROM events")
check "store-kill9-integrity ($ok)" "integrity_check: $ok" test "$ok" = ok
check "store-kill9-keeps-committed ($have rows >= $committed committed before the kill)" \
	"$have rows < $committed" test "$have" -ge "$committed"
config "$WORK/out"
start_agent "$WORK/aod.yaml" || fail store-restart-after-kill9 "$(tail -n 5 "$WORK/agent.log")"
runs=$(sql "$DB" "SELECT COUNT(*) || ':' || SUM(ended_ns IS NULL) FROM runs")
check "store-reopens-after-kill9 (runs:open $runs)" "runs $runs" test "$runs" = "2:2"
stop_agent
runs=$(sql "$DB" "SELECT SUM(ended_ns IS NULL) FROM runs")
check "store-clean-stop-ends-run (runs still open: $runs, the killed one)" "open runs $runs" test "$runs" = 1

# ---- 5: a full tmpfs ------------------------------------------------------
TMPFS=$WORK/tiny
mkdir -p "$TMPFS" && mount -t tmpfs -o size=3m tmpfs "$TMPFS" || { fail store-tmpfs "mount tmpfs failed"; exit 0; }
config "$TMPFS/out" 0 50
start_agent "$WORK/aod.yaml" || { fail store-tmpfs-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
"$HELPERS/odirect_io" "$LOOP" 50 4096 >/dev/null
settle
dd if=/dev/zero of="$TMPFS/filler" bs=64k 2>/dev/null   # until ENOSPC
a0=$(st .anomalies.total)
for _ in 1 2 3 4 5 6; do "$HELPERS/odirect_io" "$LOOP" 2000 4096 >/dev/null; done
sleep 2
s=$(status)
up=$(kill -0 "$AGENT_PID" 2>/dev/null && echo yes || echo no)
wl=$(jq .store.write_lost <<< "$s") we=$(jq .store.write_errors <<< "$s") l=$(jq .store.lost <<< "$s")
a1=$(jq .anomalies.total <<< "$s")
logged=$(grep -c "store .*cannot write" "$AGENT_LOG")
check "store-full-disk-counted (write errors $we, lost $wl, status lost $l, logged $logged time(s))" \
	"$(jq -c .store <<< "$s")" test "$we" -ge 1 -a "$wl" -ge 1 -a "$l" -ge "$wl" -a "$logged" = 1
check "store-full-disk-agent-keeps-detecting (up: $up, anomalies $a0 -> $a1)" \
	"up $up anomalies $a0 -> $a1" test "$up" = yes -a "$a1" -gt "$a0"
rm -f "$TMPFS/filler"
"$HELPERS/odirect_io" "$LOOP" 50 4096 >/dev/null
check "store-full-disk-recovers" "$(grep 'store ' "$AGENT_LOG" | tail -n 3)" \
	wait_for 10 grep -q "store .*writing again; [0-9]* records were lost meanwhile" "$AGENT_LOG"
stop_agent
umount "$TMPFS" && TMPFS=

# ---- 6: the store's share of the budget ----------------------------------
rm -rf "$WORK/out"
config "$WORK/out" 0.5
start_agent "$WORK/aod.yaml" || { fail store-budget-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
first=$(date +%s%N)
for _ in 1 2 3 4; do "$HELPERS/odirect_io" "$LOOP" 2000 4096 >/dev/null; done
last=$(date +%s%N)
"$HELPERS/odirect_io" "$LOOP" 2000 4096 >/dev/null
settle
sleep 2.5
bytes=$(st .store.bytes) deleted=$(st .store.retention_deleted) total=$(st .store.events_written)
kept=$(sql "$DB" "SELECT COUNT(*) FROM events")
check "store-within-max-mb ($bytes bytes <= 524288; of $total events $deleted deleted, $kept kept)" \
	"bytes $bytes deleted $deleted kept $kept" \
	test "$bytes" -le 524288 -a "$deleted" -gt 0 -a "$kept" -gt 0 -a $((kept + deleted)) -ge "$total"
span=$(sql "$DB" "SELECT (MIN(wall_ns) > $first) || (MAX(wall_ns) > $last) FROM events")
check "store-retention-oldest-first (oldest left after the first burst, the last burst kept)" \
	"min/max check $span" test "$span" = 11
stop_agent

# ---- 7: the SpaceWatcher counts the store in the budget -------------------
# 1.5 MiB of old bundles and a store that grows to its 1 MiB share of a 2 MiB
# budget: bundles go, oldest first, until bundles + store fit
rm -rf "$WORK/out"
B=$WORK/out/batches
mkdir -p "$B" && chmod 700 "$B"
now=$(date +%s)
for i in 1 2 3 4 5 6; do
	f=$B/aod_$(( (now - 3600 + i) * 1000000000 ))_block_latency.tar.zst
	head -c $((256 * 1024)) /dev/urandom > "$f"
	touch -d "@$((now - 3600 + i * 60))" "$f"
done
config "$WORK/out" 1 1000000 2
start_agent "$WORK/aod.yaml" || { fail store-budget2-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
for _ in 1 2 3 4 5 6; do "$HELPERS/odirect_io" "$LOOP" 2000 4096 >/dev/null; done
settle
sleep 3
bundles=$(find "$B" -maxdepth 1 -name 'aod_*.tar.zst' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
store=$(find "$WORK/out" -maxdepth 1 -name 'aod.db*' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
left=$(find "$B" -maxdepth 1 -name 'aod_*.tar.zst' | wc -l)
check "store-counts-in-the-budget (bundles $bundles + store $store <= 2097152; $left of 6 bundles left)" \
	"bundles $bundles store $store left $left" \
	test $((bundles + store)) -le 2097152 -a "$left" -lt 6 -a "$left" -ge 1 -a "$store" -gt 262144
stop_agent
