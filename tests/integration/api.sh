#!/bin/bash
# The HTTP API (docs/api.md) against the real agent on this kernel, with ground truth
# from outside the API:
#  - events: N O_DIRECT I/Os on a loop device of our own (threshold 0) are N blk_slow rows
#    of that disk, N being what /sys/block/DEV/stat counted; the block histogram of the
#    device counts the same; since= and kind= filter; a SQL-looking filter is a value;
#  - anomalies: the ids are those of the rule's lines in anomalies.jsonl;
#  - bundles: a bundle made by `aod snapshot` and one by POST /api/v1/snapshot are listed,
#    exactly the files in batches/; the download's bytes equal the file (cmp); the detail's
#    summary and manifest equal what tar extracts from the file;
#  - health: the report equals the agent's latest.json; config: the text equals the file;
#  - access: the token file is created 0600; 401 without or with a wrong token, 403 for a
#    foreign Origin (and no bundle written), 404 for bad ids and paths, 400 for traversal
#    (../, %2e%2e, %2f), 413 for an oversized body, 405 with Allow; no Set-Cookie ever.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf api || exit 0
need_tools api curl jq losetup tar zstd cmp || exit 0
[ -x "$HELPERS/odirect_io" ] || { fail api-setup "$HELPERS/odirect_io missing (make tests-build)"; exit 0; }
make_workdir
make_loop api 64M || exit 0

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
OUT=$WORK/out
RULE=api_io
cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $OUT
guardian:
  anomalies:
    $RULE:
      type: Latency
      tool: biolatency
      mode: trackonly
      acceptable_count: 100
      emergency_threshold_ms: 3600000
      holdoff_sec: 1
      track_devices: [{device: $DEV, threshold: 0}]
watcher:
  actions: [mounts]
agent:
  control_socket: $WORK/aod.sock
http:
  listen: "127.0.0.1:$PORT"
health:
  history_dir: $WORK/health
  interval_sec: 3600
  sample_ms: 100
YAML

start_agent "$WORK/aod.yaml" || { fail api-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
wait_for 10 test -s "$OUT/http.token"
TOKEN=$(cat "$OUT/http.token" 2>/dev/null)
AUTH="Authorization: Bearer $TOKEN"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
get() { curl -sf -H "$AUTH" "$URL$1"; }
ios() { awk '{print $1 + $5 + $12 + $15}' "/sys/block/$DEV/stat"; }
wait_for 10 test "$(code "$URL/api/v1/status")" = 200

# ---- the token ----------------------------------------------------------------
mode=$(stat -c %a "$OUT/http.token" 2>/dev/null)
if [ "$mode" = 600 ] && [[ $TOKEN =~ ^[0-9a-f]{64}$ ]]; then pass api-token-file-0600
else fail api-token-file-0600 "mode '$mode', token of ${#TOKEN} characters"; fi

# ---- open endpoints -------------------------------------------------------------
check api-status-open "no probes in /api/v1/status without a token" \
	bash -c "curl -s '$URL/api/v1/status' | jq -e '.probes | length > 0' >/dev/null"
curl -s "$URL/api/v1/openapi.json" > "$WORK/openapi.json"
if jq -e '(.openapi | startswith("3.")) and (.paths | length >= 12) and .components.securitySchemes.bearer.scheme == "bearer"' "$WORK/openapi.json" >/dev/null; then
	pass api-openapi
else fail api-openapi "$(head -c 200 "$WORK/openapi.json")"; fi
# every documented GET without a path parameter exists (no 404), and every path the
# server has is documented: the two lists are the same
bad=
for p in $(jq -r '.paths | to_entries[] | select(.value.get) | .key | select(test("[{]") | not)' "$WORK/openapi.json"); do
	c=$(code -H "$AUTH" "$URL$p")
	case $c in 200|503) ;; *) bad="$bad $p=$c" ;; esac
done
check api-openapi-paths-exist "documented paths that do not answer:$bad" test -z "$bad"

# ---- refusals without the token -------------------------------------------------
bad=
for p in /api/v1/bundles /api/v1/events /api/v1/anomalies /api/v1/health /api/v1/config \
	 /api/v1/runs /api/v1/processes /api/v1/bundles/1; do
	c=$(code "$URL$p"); [ "$c" = 401 ] || bad="$bad $p=$c"
	c=$(code -H "Authorization: Bearer ${TOKEN//?/0}" "$URL$p"); [ "$c" = 401 ] || bad="$bad wrong:$p=$c"
	c=$(code -H "Authorization: Bearer ${TOKEN}x" "$URL$p"); [ "$c" = 401 ] || bad="$bad longer:$p=$c"
done
c=$(code -X POST "$URL/api/v1/snapshot"); [ "$c" = 401 ] || bad="$bad POST-snapshot=$c"
check api-401-without-token "got:$bad" test -z "$bad"
h=$(curl -s -D - -o /dev/null "$URL/api/v1/bundles")
check api-401-www-authenticate "no WWW-Authenticate: Bearer in: $(echo "$h" | tr '\r\n' '  ')" \
	bash -c "echo '$h' | grep -qi '^WWW-Authenticate: Bearer'"

# ---- events after real block I/O -------------------------------------------------
hist_total() { curl -s "$URL/api/v1/histograms/block" | jq --arg d "$DEV" '[.series[] | select(.device == $d) | .count] | add // 0'; }
sleep 1.2 # a fresh histogram snapshot (they are taken every second)
h_before=$(hist_total)
t_before=$(date +%s%N)
before=$(ios)
"$HELPERS/odirect_io" "$LOOP" 300 4096 >/dev/null || { fail api-io "odirect_io on $LOOP failed"; exit 0; }
sleep 1
n=$(( $(ios) - before ))
t_after=$(date +%s%N)
disk_rows() { get "/api/v1/events?kind=blk_slow&limit=10000&since=$1" | jq --arg d "$DEV" '[.items[] | select(.disk == $d)] | length'; }
wait_for 15 test "$(disk_rows "$t_before")" = "$n"
got=$(disk_rows "$t_before")
check "api-events-ground-truth ($got rows, $n I/Os)" "/sys/block/$DEV/stat counted $n, the API has $got" \
	test "$got" = "$n" -a "$n" -ge 300
got=$(disk_rows "$t_after")
check api-events-since "rows since after the I/O: $got, expected 0" test "$got" = 0
got=$(get "/api/v1/events?kind=smb_err&since=$t_before" | jq '.items | length')
check api-events-kind-filter "kind=smb_err gave $got rows, expected 0" test "$got" = 0
got=$(get "/api/v1/events?kind=blk_slow&limit=5" | jq '[(.items | length), .truncated] | @csv' -r)
check api-events-limit "limit=5: $got" test "$got" = '5,true'
got=$(curl -s -G -H "$AUTH" --data-urlencode "kind=blk_slow' OR '1'='1" "$URL/api/v1/events" | jq '.items | length')
check api-events-bound-parameter "a quote in kind= matched $got rows" test "$got" = 0

# ---- requests do not hold up the agent ---------------------------------------------
# 8 clients asking for the biggest listings as fast as they can while the same I/O runs
# again: every I/O is still an event in the store, nothing is lost on the way
lost0=$("$AOD_BIN" status --socket "$WORK/aod.sock" --json | jq '[.dispatcher.event_queue_overflows, .store.lost, (.probes[] | .counters.ringbuf_drops)] | add')
hammer() { local end=$(( $(date +%s) + $1 )); while [ "$(date +%s)" -lt "$end" ]; do
	curl -s -o /dev/null -H "$AUTH" "$URL/api/v1/events?limit=10000"; done; }
pids=()
for _ in $(seq 1 8); do hammer 6 & pids+=($!); done
t2=$(date +%s%N) before2=$(ios)
"$HELPERS/odirect_io" "$LOOP" 300 4096 >/dev/null
sleep 1
n2=$(( $(ios) - before2 ))
wait "${pids[@]}"
wait_for 15 test "$(disk_rows "$t2")" = "$n2"
got=$(disk_rows "$t2")
lost1=$("$AOD_BIN" status --socket "$WORK/aod.sock" --json | jq '[.dispatcher.event_queue_overflows, .store.lost, (.probes[] | .counters.ringbuf_drops)] | add')
check "api-busy-clients-lose-nothing ($got of $n2)" "with 8 busy API clients: $got rows for $n2 I/Os, losses $lost0 -> $lost1" \
	test "$got" = "$n2" -a "$lost0" = "$lost1"

# ---- histograms -------------------------------------------------------------------
# (the device's stat counts from its creation: a loop device reused keeps its old counts)
want=$(( $(ios) - before ))   # both batches: the first and the busy one
wait_for 5 test $(( $(hist_total) - h_before )) = "$want"
got=$(( $(hist_total) - h_before ))
check "api-histogram-block ($got)" "the block histogram of $DEV grew by $got over the I/O, /sys/block by $want" test "$got" = "$want" -a "$want" -ge 300
got=$(curl -s "$URL/api/v1/histograms/block" | jq --arg d "$DEV" '[.series[] | select(.device == $d) | (.counts | add) == .count] | all')
check api-histogram-slots-sum "slot counts do not add up to count" test "$got" = true
for s in smb tcp; do
	got=$(curl -s "$URL/api/v1/histograms/$s" | jq -r '"\(.source) \(.loaded | type) \(.slot_max_us | length)"')
	check "api-histogram-$s" "got '$got'" test "$got" = "$s boolean 32"
done
check api-histogram-unknown "got $(code "$URL/api/v1/histograms/nope")" test "$(code "$URL/api/v1/histograms/nope")" = 404

# ---- anomalies --------------------------------------------------------------------
# ids are 64-bit: read them as text (jq 1.6 would round them to doubles)
log_ids() { sed -n 's/^{"id": *\([0-9]*\),.*"rule": *"'"$RULE"'".*/\1/p' "$OUT/anomalies.jsonl" 2>/dev/null | sort; }
api_ids() { get "/api/v1/anomalies?rule=$RULE&limit=10000" | jq -r '.items[].id' | sort; }
wait_for 10 bash -c "grep -q '\"rule\": *\"$RULE\"' '$OUT/anomalies.jsonl' 2>/dev/null"
sleep 1
a=$(log_ids | tr '\n' ' ') b=$(api_ids | tr '\n' ' ')
check "api-anomalies-match-log ($(echo $a | wc -w))" "anomalies.jsonl: '$a', API: '$b'" test -n "$a" -a "$a" = "$b"
got=$(get "/api/v1/anomalies?rule=no_such_rule" | jq '.items | length')
check api-anomalies-rule-filter "rule=no_such_rule gave $got" test "$got" = 0
got=$(get "/api/v1/anomalies?rule=$RULE" | jq '[.items[] | (.json | type == "object") and (.id | type == "string")] | all')
check api-anomalies-detail "the json column is not an object, or an id not a string" test "$got" = true
check api-bad-since "since=yesterday-ish: $(code -H "$AUTH" "$URL/api/v1/anomalies?since=soon")" \
	test "$(code -H "$AUTH" "$URL/api/v1/anomalies?since=soon")" = 400
check api-bad-limit "limit=0" test "$(code -H "$AUTH" "$URL/api/v1/events?limit=0")" = 400

# ---- bundles ----------------------------------------------------------------------
files_ids() { ls "$OUT/batches" 2>/dev/null | sed -n 's/^aod_\([0-9]*\)_.*\.tar\.zst$/\1/p' | sort; }
nfiles() { files_ids | wc -l; }
settled() { local a; a=$(nfiles); sleep 1; [ "$a" = "$(nfiles)" ]; }
wait_for 20 settled
n0=$(nfiles)
"$AOD_BIN" snapshot --socket "$WORK/aod.sock" >/dev/null
wait_for 20 test "$(ls "$OUT/batches" | grep -c '_manual_')" -ge 1
MANUAL=$(ls "$OUT/batches" | grep '_manual_' | head -n 1)
MID=$(echo "$MANUAL" | sed 's/^aod_\([0-9]*\)_.*/\1/')
wait_for 10 bash -c "curl -s -H '$AUTH' '$URL/api/v1/bundles' | jq -e --arg i '$MID' '.items[] | select(.id == \$i)' >/dev/null"
a=$(files_ids | tr '\n' ' ') b=$(get /api/v1/bundles | jq -r '.items[].id' | sort | tr '\n' ' ')
check "api-bundles-list ($(echo $a | wc -w))" "batches/: '$a', API: '$b'" test -n "$a" -a "$a" = "$b"
got=$(get /api/v1/bundles | jq -r '[.items[].time_ns] | . == (sort | reverse)')
check api-bundles-newest-first "not newest first" test "$got" = true
size=$(stat -c %s "$OUT/batches/$MANUAL")
got=$(get /api/v1/bundles | jq --arg i "$MID" '.items[] | select(.id == $i) | .size')
check api-bundle-size "API size $got, file $size" test "$got" = "$size"

curl -s -H "$AUTH" -D "$WORK/dl.h" -o "$WORK/dl.tar.zst" "$URL/api/v1/bundles/$MID/download"
check api-bundle-download-bytes "the download differs from $MANUAL" cmp -s "$WORK/dl.tar.zst" "$OUT/batches/$MANUAL"
check api-bundle-download-name "no attachment filename: $(grep -i disposition "$WORK/dl.h")" \
	grep -qi "^Content-Disposition: attachment; filename=\"$MANUAL\"" "$WORK/dl.h"

get "/api/v1/bundles/$MID" > "$WORK/detail.json"
mkdir -p "$WORK/x" && tar --zstd -xf "$OUT/batches/$MANUAL" -C "$WORK/x"
stem=${MANUAL%.tar.zst}
jq -j .summary "$WORK/detail.json" > "$WORK/summary.api"
check api-bundle-summary "summary differs from the archive's summary.txt" \
	cmp -s "$WORK/summary.api" "$WORK/x/$stem/summary.txt"
a=$(jq -S .manifest "$WORK/detail.json") b=$(jq -S . "$WORK/x/$stem/manifest.json")
check api-bundle-manifest "manifest differs from the archive's manifest.json" test -n "$a" -a "$a" = "$b"

# POST /api/v1/snapshot: a foreign Origin is refused and writes nothing; the token writes one
n1=$(ls "$OUT/batches" | grep -c '_manual_')
c=$(code -X POST -H "$AUTH" -H "Origin: http://evil.example" "$URL/api/v1/snapshot")
c2=$(code -X POST -H "$AUTH" -H "Sec-Fetch-Site: cross-site" "$URL/api/v1/snapshot")
sleep 3
n2=$(ls "$OUT/batches" | grep -c '_manual_')
check api-403-foreign-origin "Origin evil: $c, Sec-Fetch-Site cross-site: $c2, manual bundles $n1 -> $n2" \
	test "$c" = 403 -a "$c2" = 403 -a "$n1" = "$n2"
c=$(code -X POST -H "$AUTH" -H "Origin: http://127.0.0.1:$PORT" "$URL/api/v1/snapshot")
wait_for 20 test "$(ls "$OUT/batches" | grep -c '_manual_')" -gt "$n2"
n3=$(ls "$OUT/batches" | grep -c '_manual_')
check api-post-snapshot "POST with the token and our Origin: $c, manual bundles $n2 -> $n3" \
	test "$c" = 202 -a "$n3" = $((n2 + 1))

# ---- bad ids, traversal, oversized ----------------------------------------------------
bad=
for p in /api/v1/bundles/abc /api/v1/bundles/999 /api/v1/bundles/$MID/nope \
	 /api/v1/bundles/99999999999999999999999 /api/v1/bundles/-1 /api/v1/nope; do
	c=$(code -H "$AUTH" "$URL$p"); [ "$c" = 404 ] || bad="$bad $p=$c"
done
check api-404-bad-id "got:$bad" test -z "$bad"
bad=
for p in "/api/v1/bundles/../../etc/passwd" "/api/v1/bundles/%2e%2e/%2e%2e/etc/passwd" \
	 "/api/v1/bundles/..%2f..%2fetc%2fpasswd" "/api/v1/bundles/$MID/..%2f..%2f..%2fhttp.token" \
	 "/api/v1/bundles//$MID" "/%2e%2e/%2e%2e/etc/passwd" "/api/v1/./bundles" "/api/v1/bundles/%252e%252e"; do
	c=$(code --path-as-is -H "$AUTH" "$URL$p"); [ "$c" = 400 ] || bad="$bad $p=$c"
done
check api-400-traversal "got:$bad" test -z "$bad"
head -c 1048576 /dev/zero > "$WORK/big.body"
c=$(code -X POST -H "$AUTH" -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/big.body" "$URL/api/v1/snapshot")
check api-413-oversized "1 MiB body: $c" test "$c" = 413
h=$(curl -s -D - -o /dev/null -H "$AUTH" "$URL/api/v1/snapshot")
check api-405-allow-post "GET /api/v1/snapshot: $(echo "$h" | head -n 1)" \
	bash -c "echo '$h' | grep -q '^HTTP/1.1 405' && echo '$h' | grep -qi '^Allow: POST'"

# ---- health and config ---------------------------------------------------------------
wait_for 30 test "$(code -H "$AUTH" "$URL/api/v1/health")" = 200
a=$(get /api/v1/health | jq -S .report) b=$(jq -S . "$WORK/health/latest.json" 2>/dev/null)
check api-health-latest "the API's report differs from $WORK/health/latest.json" test -n "$a" -a "$a" = "$b"
get /api/v1/config | jq -j .text > "$WORK/config.api"
check api-config-text "config text differs from the file" cmp -s "$WORK/config.api" "$WORK/aod.yaml"
got=$(get /api/v1/config | jq .file_changed_since_load)
echo "# edited" >> "$WORK/aod.yaml"
got2=$(get /api/v1/config | jq .file_changed_since_load)
check api-config-changed "file_changed_since_load: $got before an edit, $got2 after" test "$got $got2" = "false true"

# ---- runs, processes, cookies, the agent alive -----------------------------------------
got=$(get /api/v1/runs | jq --arg p "$WORK/aod.yaml" '[.items[] | select(.kind == "agent" and .config_path == $p and .ended_ns == null)] | length')
check api-runs "running agent runs with this config: $got" test "$got" = 1
check api-processes "no items array" bash -c "curl -s -H '$AUTH' '$URL/api/v1/processes' | jq -e '.items | type == \"array\"' >/dev/null"
cookies=$(for p in / /metrics /api/v1/status /api/v1/bundles "/api/v1/bundles/$MID" /api/v1/events; do
	curl -s -D - -o /dev/null -H "$AUTH" "$URL$p"; done | grep -ci '^set-cookie')
check api-no-cookies "$cookies Set-Cookie headers" test "$cookies" = 0
check api-agent-alive "the agent died: $(tail -n 3 "$WORK/agent.log")" kill -0 "$AGENT_PID"
stop_agent
