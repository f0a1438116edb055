#!/bin/bash
# The web UI in a real browser: Debian's chromium driven by playwright-core (ui/package.json,
# installed into $AOD_BUILD/ui by scripts/ui-build.sh) against the agent on this kernel, with
# block I/O on a loop device of our own and a rule that fires on it. ui/test/ui.test.mjs
# checks each view; here: the setup, the summary against the archive, the artifacts.
# Screenshots and DOM dumps stay in $AOD_BUILD/test-artifacts/ui/.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf ui || exit 0
need_tools ui curl jq losetup tar zstd node || exit 0
UIDIR=$AOD_TOP/$AOD_BUILD/ui
if [ ! -f "$UIDIR/dist/vendor/uPlot.esm.js" ]; then
	why=$(sed -n 's/.*id="ui-not-built">\([^<]*\)<.*/\1/p' "$UIDIR/dist/index.html" 2>/dev/null)
	skip ui "${why:-the web UI was not built (scripts/ui-build.sh did not run)}"
	exit 0
fi
[ -d "$UIDIR/node_modules/playwright-core" ] || { skip ui "playwright-core not installed in $UIDIR (npm ci failed)"; exit 0; }
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { fail ui "$CHROMIUM missing (scripts/deps.sh test installs chromium)"; exit 0; }
[ -x "$HELPERS/odirect_io" ] || { fail ui-setup "$HELPERS/odirect_io missing (make tests-build)"; exit 0; }
ART=$AOD_TOP/$AOD_BUILD/test-artifacts/ui
rm -rf "$ART" && mkdir -p "$ART"
make_workdir
make_loop ui 64M || exit 0

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
OUT=$WORK/out
RULE=ui_io
cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $OUT
guardian:
  anomalies:
    $RULE:
      type: Latency
      tool: biolatency
      mode: trackonly
      acceptable_count: 250
      emergency_threshold_ms: 3600000
      holdoff_sec: 2
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
start_agent "$WORK/aod.yaml" || { fail ui-agent-start "$(tail -n 5 "$WORK/agent.log")"; exit 0; }
wait_for 10 test "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/status")" = 200
wait_for 10 test -s "$OUT/http.token"

AOD_URL=$URL AOD_TOKEN=$(cat "$OUT/http.token") AOD_LOOP=$LOOP AOD_DEV=$DEV \
AOD_ODIRECT=$HELPERS/odirect_io AOD_ANOMALIES=$OUT/anomalies.jsonl AOD_RULE=$RULE AOD_ART=$ART \
UI_NODE_MODULES=$UIDIR/node_modules CHROMIUM=$CHROMIUM \
	timeout 200 node "$AOD_TOP/ui/test/ui.test.mjs" 2> "$ART/node.stderr"
rc=$?
[ $rc = 0 ] || fail ui-browser "node exited $rc: $(tail -n 3 "$ART/node.stderr" | tr '\n' ' ')"

# the summary the page showed is the archive's summary.txt
if [ -s "$ART/bundle-id" ]; then
	f=$(ls "$OUT/batches" | grep "^aod_$(cat "$ART/bundle-id")_" | head -n 1)
	mkdir -p "$WORK/x" && tar --zstd -xf "$OUT/batches/$f" -C "$WORK/x" 2>/dev/null
	check ui-bundle-summary-matches-archive "the page's summary differs from $f's summary.txt" \
		cmp -s "$ART/summary.dom.txt" "$WORK/x/${f%.tar.zst}/summary.txt"
	check ui-bundle-download-bytes "the browser's download ($(cat "$ART/download-name" 2>/dev/null)) differs from $f" \
		cmp -s "$ART/download.tar.zst" "$OUT/batches/$f"
	check ui-bundle-download-name "suggested name '$(cat "$ART/download-name" 2>/dev/null)', file $f" \
		test "$(cat "$ART/download-name" 2>/dev/null)" = "$f"
fi
# the build without a reachable registry: it succeeds, with a page that says why
FB=$WORK/fallback
mkdir -p "$FB"
if npm_config_registry=http://127.0.0.1:9/ npm_config_cache="$FB/cache" npm_config_fetch_retries=0 \
	"$AOD_TOP/scripts/ui-build.sh" "$FB" "$FB/ui_assets.c" > "$FB/log" 2>&1 &&
   grep -q 'aod_ui_built = 0;' "$FB/ui_assets.c" &&
   grep -q 'id="ui-not-built">The web UI was not built: npm ci failed' "$FB/ui/dist/index.html" &&
   cc -std=gnu11 -Wall -Wextra -Werror -I"$AOD_TOP/src" -c "$FB/ui_assets.c" -o "$FB/ui_assets.o"; then
	pass ui-build-without-registry
else fail ui-build-without-registry "$(tail -n 3 "$FB/log" | tr '\n' ' ')"; fi

n=$(ls "$ART"/*.png 2>/dev/null | wc -l)
check "ui-screenshots ($n in $ART)" "no screenshots" test "$n" -ge 5
check ui-agent-alive "the agent died: $(tail -n 3 "$WORK/agent.log")" kill -0 "$AGENT_PID"
stop_agent
