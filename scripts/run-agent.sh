#!/bin/sh
# make run: start the agent in the foreground with the repo's config, state under ./var/.
set -eu
bin=${1:-build/aod}
if [ "$(id -u)" != 0 ]; then
	echo "aod: the agent loads BPF programs and needs root (or CAP_BPF + CAP_PERFMON): sudo make run" >&2
	exit 1
fi
mkdir -p var
listen=$(sed -n 's/^  listen: *"\([^"]*\)".*/\1/p' config/aod.yaml | head -n 1)
case $listen in
"") ui="off (http.listen is empty in config/aod.yaml)" ;;
:*) ui="http://127.0.0.1$listen/" ;;
*) ui="http://$listen/" ;;
esac
cat <<MSG
aod: starting the agent with config/aod.yaml (Ctrl-C stops it).
  log lines, one per anomaly ........ this terminal (stderr) and syslog
  anomalies as JSON lines ........... var/aod/anomalies.jsonl
  diagnostics bundles ............... var/aod/batches/aod_<id>_<source>_<type>.tar.zst
  web UI ............................ $ui
    (bundles, events, config need the API token: sudo cat var/aod/http.token)
  probe states and loss counters .... $bin status        (another terminal)
  list / read bundles ............... $bin bundles  |  $bin bundles show ID
  manual bundle now ................. $bin snapshot      (or kill -USR1 the agent)
  reload config/aod.yaml ............ kill -HUP the agent
MSG
exec "$bin" agent --config config/aod.yaml
