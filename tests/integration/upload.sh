#!/bin/bash
# Bundles to S3-compatible storage, against a real server on loopback:
# @20minutes/s3rver (npm, tests/npm, started by tests/helpers/s3server.js; it
# checks SigV4 signatures against its S3RVER/S3RVER key) behind
# tests/helpers/s3proxy.js, which forwards unchanged, counts the PUTs per key
# and injects faults. Ground truth is the server's side: the object files
# s3rver stored (compared byte for byte with the bundle) and the PUTs the proxy
# forwarded, never the agent's own counters alone.
#  1. happy path: credentials from a 0600 file (0644 refused), object == bundle
#  2. 500s: retried, the object arrives, one PUT forwarded
#  3. a slow answer (held past upload.timeout_sec): retried with a HEAD that
#     finds the object, not a second PUT
#  4. server down (nothing listening), then up: retried, uploaded once
#  5. agent stopped with bundles queued, and killed (-9) while a PUT's answer
#     is held: after the restart every bundle is there, each PUT once
#  6. bad credentials: failed, counted, a clear log line, the secret in no log
#  7. delete_after_upload: the local file goes once the object is there;
#     aod bundles still lists it
#  8. a full queue (queue_size 1, server down): the bundles beyond it are
#     dropped, counted (aod status, /metrics) and recorded; the one queued
#     goes up when the server is back
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf upload || exit 0
need_tools upload jq node python3 || exit 0
NPM_DIR=$AOD_TOP/$AOD_BUILD/npm
if [ ! -f "$NPM_DIR/node_modules/@20minutes/s3rver/package.json" ]; then
	if [ -f "$NPM_DIR/install-failed" ]; then
		skip upload "s3rver (npm): $(cat "$NPM_DIR/install-failed")"
	else
		fail upload "s3rver missing under $AOD_BUILD/npm (scripts/npm-deps.sh installs it; make check runs it)"
	fi
	exit 0
fi
PROXY_JS=$AOD_TOP/tests/helpers/s3proxy.js
BUCKET=aod-bundles
SECRET_BAD=wrong-secret-Zq7uX3
make_workdir
S3_PID= PROXY_PID=
cleanup() {
	stop_agent 2>/dev/null
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
	[ -n "$S3_PID" ] && kill "$S3_PID" 2>/dev/null
	wait 2>/dev/null
	[ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

# ---- the server and the proxy ------------------------------------------
NODE_PATH=$NPM_DIR/node_modules node "$AOD_TOP/tests/helpers/s3server.js" "$WORK/s3" "$BUCKET" \
	>"$WORK/s3.log" 2>&1 &
S3_PID=$!
wait_for 20 grep -q 'listening on' "$WORK/s3.log" ||
	{ fail upload-setup "s3rver did not start: $(tail -n 3 "$WORK/s3.log")"; exit 0; }
S3_PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/s3.log" | head -n 1)

start_proxy() { # [port]: 0 = any free port
	rm -f "$WORK/proxy.port"
	node "$PROXY_JS" "${1:-0}" "$S3_PORT" "$WORK/proxy.port" >>"$WORK/proxy.log" 2>&1 &
	PROXY_PID=$!
	wait_for 10 test -s "$WORK/proxy.port" || return 1
	PROXY_PORT=$(cat "$WORK/proxy.port")
}
stop_proxy() { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=; }
pctl() { curl -sf "http://127.0.0.1:$PROXY_PORT/__proxy/$1"; }
start_proxy || { fail upload-setup "s3proxy did not start: $(tail -n 3 "$WORK/proxy.log")"; exit 0; }

OUT=$WORK/out
DB=$OUT/aod.db
config() { # extra upload lines... (RETRIES=, TIMEOUT=, HTTP= listen in the environment)
	{
		cat <<YAML
watch_interval_sec: 1
aod_output_dir: $OUT
watcher:
  actions: [mounts]
agent:
  control_socket: $WORK/aod.sock
http:
  listen: "${HTTP:-}"
upload:
  endpoint: http://127.0.0.1:$PROXY_PORT
  bucket: $BUCKET
  prefix: fleet/{host}/
  retries: ${RETRIES:-30}
  backoff_initial_ms: 200
  backoff_max_ms: 1000
  timeout_sec: ${TIMEOUT:-5}
YAML
		for l; do echo "  $l"; done
	} >"$WORK/aod.yaml"
}
status() { "$AOD_BIN" status --socket "$WORK/aod.sock" --json; }
up() { status | jq -r ".upload.$1"; }
sql() { # one value, read by Python's sqlite3 (read-only)
	python3 - "$DB" "$1" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
r = c.execute(sys.argv[2]).fetchone()
print("" if r is None or r[0] is None else r[0])
PY
}
# a manual bundle; prints its file name once written
snapshot() {
	local before
	before=$(ls "$OUT/batches" 2>/dev/null | grep -c '^aod_.*\.tar\.zst$')
	"$AOD_BIN" snapshot --socket "$WORK/aod.sock" >/dev/null || return 1
	wait_for 30 bash -c "[ \$(ls '$OUT/batches' | grep -c '^aod_.*\.tar\.zst\$') -gt $before ]" ||
		return 1
	ls -t "$OUT/batches" | grep '^aod_.*\.tar\.zst$' | head -n 1
}
object() { # bundle file name -> path of the object s3rver stored
	echo "$WORK/s3/$BUCKET/fleet/$(uname -n | tr -c 'A-Za-z0-9._\n-' _)/$1._S3rver_object"
}
puts_of() { # bundle -> PUTs of its key that the proxy forwarded
	pctl stats | jq -r --arg k "/$BUCKET/fleet/$(uname -n | tr -c 'A-Za-z0-9._\n-' _)/$1" \
		'.stats.put_forwarded[$k] // 0'
}
state_of() { sql "SELECT state FROM uploads WHERE bundle = '$1'"; }
uploaded() { [ "$(state_of "$1")" = uploaded ]; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }
pending_ge() { [ "$(sql "SELECT COUNT(*) FROM uploads WHERE state IN ('queued', 'uploading')")" -ge "$1" ]; }
retries_ge() { [ "$(up retries)" -ge "$1" ]; }
restart_agent() {
	stop_agent
	start_agent "$WORK/aod.yaml" "$WORK/agent.log.$1" ||
		{ fail "upload-$1" "agent did not start: $(tail -n 5 "$WORK/agent.log.$1")"; exit 0; }
}

# ---- 1. happy path, credentials from a file ----------------------------
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$WORK/creds"
chmod 644 "$WORK/creds"
config "credentials_file: $WORK/creds"
msg=$("$AOD_BIN" check-config "$WORK/aod.yaml" 2>&1 >/dev/null)
check upload-creds-0644-refused "check-config said: $msg" \
	grep -q 'upload.credentials_file: expected a file only its owner can read' <<<"$msg"
chmod 600 "$WORK/creds"
restart_agent happy
B1=$(snapshot) || { fail upload-happy "no bundle written"; exit 0; }
wait_for 20 uploaded "$B1"
if uploaded "$B1" && cmp -s "$OUT/batches/$B1" "$(object "$B1")"; then
	pass "upload-happy ($(stat -c %s "$OUT/batches/$B1") bytes, object == bundle)"
else
	fail upload-happy "state '$(state_of "$B1")', object $(ls -l "$(object "$B1")" 2>&1)"
fi
md5=$(md5sum "$OUT/batches/$B1" | cut -d' ' -f1)
check upload-happy-etag "store md5/etag $(sql "SELECT md5 || ' ' || etag FROM uploads WHERE bundle = '$B1'"), file $md5" \
	test "$(sql "SELECT md5 || ' ' || etag FROM uploads WHERE bundle = '$B1'")" = "$md5 $md5"
check upload-happy-one-put "PUTs forwarded: $(puts_of "$B1")" test "$(puts_of "$B1")" = 1
check upload-bundle-still-private "mode $(stat -c %a "$OUT/batches/$B1") of the local bundle" \
	test "$(stat -c %a "$OUT/batches/$B1")" = 600
id=${B1#aod_}; id=${id%%_*}
check upload-bundles-column "aod bundles: $("$AOD_BIN" bundles --config "$WORK/aod.yaml" 2>&1 | grep "$id")" \
	bash -c "'$AOD_BIN' bundles --config '$WORK/aod.yaml' | grep '^$id ' | grep -q ' uploaded\$'"

# ---- 2. 500s: retried, one PUT reaches the server ----------------------
pctl 'fail?status=500&count=2' >/dev/null
r0=$(up retries)
B2=$(snapshot) || { fail upload-500 "no bundle written"; exit 0; }
wait_for 30 uploaded "$B2"
inj=$(pctl stats | jq .stats.injected)
if uploaded "$B2" && cmp -s "$OUT/batches/$B2" "$(object "$B2")" && [ "$(puts_of "$B2")" = 1 ] &&
   [ "$inj" = 2 ] && [ $(( $(up retries) - r0 )) -ge 2 ]; then
	pass "upload-500 (2 injected 500s, retries $(( $(up retries) - r0 )), 1 PUT forwarded)"
else
	fail upload-500 "state '$(state_of "$B2")', injected $inj, PUTs $(puts_of "$B2"), retries $(( $(up retries) - r0 ))"
fi

# ---- 3. a slow answer: the retry looks before it PUTs -------------------
pctl 'delay?ms=8000&count=1' >/dev/null   # timeout_sec is 5
a0=$(up already_there)
B3=$(snapshot) || { fail upload-slow "no bundle written"; exit 0; }
wait_for 40 uploaded "$B3"
if uploaded "$B3" && cmp -s "$OUT/batches/$B3" "$(object "$B3")" && [ "$(puts_of "$B3")" = 1 ] &&
   [ $(( $(up already_there) - a0 )) = 1 ]; then
	pass "upload-slow (answer held 8 s > timeout 5 s: a HEAD found it, 1 PUT)"
else
	fail upload-slow "state '$(state_of "$B3")', PUTs $(puts_of "$B3"), already_there +$(( $(up already_there) - a0 ))"
fi

# ---- 4. server down, then up -------------------------------------------
stop_proxy
r0=$(up retries)
B4=$(snapshot) || { fail upload-down "no bundle written"; exit 0; }
wait_for 15 retries_ge $(( r0 + 2 ))
st4=$(state_of "$B4")
start_proxy "$PROXY_PORT" || { fail upload-down "proxy did not restart on $PROXY_PORT"; exit 0; }
wait_for 30 uploaded "$B4"
if [ "$st4" = queued ] && uploaded "$B4" && cmp -s "$OUT/batches/$B4" "$(object "$B4")" &&
   [ "$(puts_of "$B4")" = 1 ]; then
	pass "upload-down-then-up (queued while down, retries $(( $(up retries) - r0 )), 1 PUT after)"
else
	fail upload-down-then-up "state while down '$st4', now '$(state_of "$B4")', PUTs $(puts_of "$B4")"
fi

# ---- 5. restart mid-queue ------------------------------------------------
stop_proxy
Q=
for i in 1 2 3; do Q="$Q $(snapshot)" || { fail upload-restart "no bundle written"; exit 0; }; done
wait_for 10 pending_ge 3
stop_agent
queued=$(sql "SELECT COUNT(*) FROM uploads WHERE state IN ('queued', 'uploading')")
start_proxy "$PROXY_PORT" || { fail upload-restart "proxy did not restart"; exit 0; }
pctl 'delay?ms=20000&count=1' >/dev/null   # the first PUT after the restart: stored, answer held
TIMEOUT=60 config "credentials_file: $WORK/creds"
restart_agent restart1
wait_for 20 bash -c "[ \$(curl -s http://127.0.0.1:$PROXY_PORT/__proxy/stats | jq .stats.delayed) = 1 ]"
sleep 1   # the held PUT has reached s3rver (its answer waits in the proxy)
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
restart_agent restart2
ok=1 why=
for b in $Q; do
	wait_for 40 uploaded "$b"
	if ! uploaded "$b" || ! cmp -s "$OUT/batches/$b" "$(object "$b")" || [ "$(puts_of "$b")" != 1 ]; then
		ok=0 why="$why $b: state '$(state_of "$b")' PUTs $(puts_of "$b");"
	fi
done
if [ "$queued" = 3 ] && [ $ok = 1 ]; then
	pass "upload-restart-mid-queue (3 queued at stop, kill -9 during a PUT: each uploaded, 1 PUT each)"
else
	fail upload-restart-mid-queue "queued at stop $queued;$why"
fi
check upload-restart-head "agent log after kill -9: $(grep -c 'was already at' "$WORK/agent.log.restart2") 'already at'" \
	grep -q 'was already at' "$WORK/agent.log.restart2"

# ---- 6. bad credentials ----------------------------------------------------
stop_agent
RETRIES=2 config
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$SECRET_BAD start_agent "$WORK/aod.yaml" "$WORK/agent.log.badcreds" ||
	{ fail upload-badcreds "agent did not start"; exit 0; }
B6=$(snapshot) || { fail upload-badcreds "no bundle written"; exit 0; }
wait_for 20 state_is "$B6" failed
line=$(grep "upload: bundle $B6" "$WORK/agent.log.badcreds" | tail -n 1)
if [ "$(state_of "$B6")" = failed ] && [ "$(up failed)" = 1 ] && [ "$(up retries)" = 0 ] &&
   grep -q 'HTTP 403 SignatureDoesNotMatch' <<<"$line" && [ ! -e "$(object "$B6")" ]; then
	pass "upload-bad-credentials (failed at once, counted: $line)"
else
	fail upload-bad-credentials "state '$(state_of "$B6")', failed $(up failed), retries $(up retries), log: $line"
fi
leaks=$(grep -l -- "$SECRET_BAD" "$WORK"/agent.log* "$DB" "$DB-wal" 2>/dev/null; status | grep -c -- "$SECRET_BAD")
check upload-secret-not-logged "secret found in: $leaks" test "$leaks" = 0

# ---- 7. delete_after_upload ----------------------------------------------
config "credentials_file: $WORK/creds" "delete_after_upload: true"
restart_agent delete
B7=$(snapshot) || { fail upload-delete "no bundle written"; exit 0; }
cp "$OUT/batches/$B7" "$WORK/b7.copy" 2>/dev/null
wait_for 20 bash -c "[ ! -e '$OUT/batches/$B7' ]"
id=${B7#aod_}; id=${id%%_*}
if [ ! -e "$OUT/batches/$B7" ] && uploaded "$B7" && cmp -s "$WORK/b7.copy" "$(object "$B7")" &&
   [ "$(sql "SELECT deleted FROM uploads WHERE bundle = '$B7'")" = 1 ] &&
   "$AOD_BIN" bundles --config "$WORK/aod.yaml" | grep "^$id " | grep -q 'uploaded, deleted$'; then
	pass "upload-delete-after-upload (local file gone, object == bundle, listed as uploaded, deleted)"
else
	fail upload-delete-after-upload "local $(ls "$OUT/batches/$B7" 2>&1), state '$(state_of "$B7")'"
fi
check upload-others-kept "B1 local copy after delete_after_upload" test -e "$OUT/batches/$B1"

# ---- 8. a full queue -------------------------------------------------------
stop_proxy
for _ in 1 2 3 4 5; do
	HTTP_PORT=$(( 20000 + RANDOM % 20000 ))
	ss -ltn | grep -q ":$HTTP_PORT " || break
done
HTTP=127.0.0.1:$HTTP_PORT config "credentials_file: $WORK/creds" "queue_size: 1"
restart_agent queue
Q1=$(snapshot) && Q2=$(snapshot) && Q3=$(snapshot) || { fail upload-queue-full "no bundle written"; exit 0; }
wait_for 10 state_is "$Q3" dropped
got="$(state_of "$Q1") $(state_of "$Q2") $(state_of "$Q3")"
# /metrics serves a snapshot taken once a second
dropped_metric() { metric=$(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null | grep '^aod_uploads_total{result="dropped"}'); [ "${metric##* }" = 2 ]; }
wait_for 5 dropped_metric
check upload-queue-full "states '$got', dropped $(up dropped), metric '$metric'" \
	test "$got $(up dropped) ${metric##* }" = "queued dropped dropped 2 2"
start_proxy "$PROXY_PORT" || { fail upload-queue-full "proxy did not restart"; exit 0; }
wait_for 30 uploaded "$Q1"
check upload-queue-full-rest "Q1 '$(state_of "$Q1")', Q2 '$(state_of "$Q2")' after the server came back" \
	test "$(state_of "$Q1") $(state_of "$Q2") $(puts_of "$Q2")" = "uploaded dropped 0"
# /metrics serves a snapshot taken once a second: the counter follows the store's state
uploaded_metric() { metric=$(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | grep '^aod_uploads_total{result="uploaded"}'); [ "${metric##* }" = 1 ]; }
wait_for 5 uploaded_metric
check upload-metrics "metric '$metric'" test "${metric##* }" = 1
stop_agent
