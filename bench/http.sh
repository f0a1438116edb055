#!/bin/bash
# make bench, HTTP part (called by bench/run.sh; also runs alone as root):
#  - agent CPU per /metrics scrape (plain and gzip) with every available probe
#    attached and block histograms populated, the idle sampler's CPU taken out;
#  - agent RSS before and after 10 000 scrapes (target: no growth).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${AOD_BUILD:-build}
AOD=$TOP/$BUILD/aod
SCRAPES=${BENCH_SCRAPES:-10000}
[ "$(id -u)" = 0 ] || { echo "bench http: needs root (BPF)"; exit 1; }
command -v curl >/dev/null || { echo "bench http: curl missing"; exit 1; }
WORK=$(mktemp -d /var/tmp/aod-bench-http.XXXXXX)
AGENT_PID=
trap '[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

port=
for _ in $(seq 1 50); do
	p=$(( 20000 + RANDOM % 40000 ))
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }
done
URL=http://127.0.0.1:$port/metrics
cat > "$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $WORK/out
guardian:
  anomalies:
    blocklat: {type: Latency, tool: biolatency, acceptable_count: 10, default_threshold_ms: 200}
    smblat: {type: Latency, tool: smbslower, acceptable_count: 10, default_threshold_ms: 20}
agent: {control_socket: $WORK/aod.sock}
http: {listen: "127.0.0.1:$port"}
YAML
"$AOD" agent --config "$WORK/aod.yaml" > "$WORK/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "$URL" && break; sleep 0.1; done
"$TOP/$BUILD/tests/odirect_io" "$WORK/io.dat" 256 >/dev/null   # block histograms with data
sleep 1.5

cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$AGENT_PID/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$AGENT_PID/status"; }
now() { date +%s.%N; }
urls() { # n file: a curl config of n scrapes on one kept-alive connection
	for _ in $(seq 1 "$1"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$URL"; done > "$2"
}
probes=$("$AOD" status --socket "$WORK/aod.sock" --json | jq -r '[.probes[] | "\(.name) \(.state)"] | join(", ")')
size=$(curl -s "$URL" | wc -c); zsize=$(curl -s -H 'Accept-Encoding: gzip' "$URL" | wc -c)
series=$(curl -s "$URL" | grep -vc '^#')
echo "http: probes $probes; /metrics $size bytes, $series samples ($zsize bytes gzipped)"

# idle: what the once-a-second sampler costs without scrapes
c0=$(cpu_s); t0=$(now); sleep 5; c1=$(cpu_s); t1=$(now)
idle=$(echo "($c1 - $c0) / ($t1 - $t0)" | bc -l)
printf 'http: idle agent CPU (sampler once a second): %.3f %% of one core\n' "$(echo "$idle * 100" | bc -l)"

urls 200 "$WORK/warm.cfg"; curl -s -K "$WORK/warm.cfg"
rss0=$(rss_kb)
urls "$SCRAPES" "$WORK/many.cfg"
c0=$(cpu_s); t0=$(now)
curl -s -K "$WORK/many.cfg"
c1=$(cpu_s); t1=$(now)
rss1=$(rss_kb)
per=$(echo "(($c1 - $c0) - $idle * ($t1 - $t0)) / $SCRAPES * 1000000" | bc -l)
printf 'http: %d scrapes in %.1f s (%.0f/s, one connection); agent CPU per scrape %.0f us (render + HTTP)\n' \
	"$SCRAPES" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$SCRAPES / ($t1 - $t0)" | bc -l)" "$per"
printf 'http: agent RSS before %d KiB, after %d scrapes %d KiB: growth %d KiB (target 0: no growth)\n' \
	"$rss0" "$SCRAPES" "$rss1" "$((rss1 - rss0))"

n=$((SCRAPES / 10))
for _ in $(seq 1 "$n"); do printf 'url = "%s"\noutput = "/dev/null"\ncompressed\n' "$URL"; done > "$WORK/gz.cfg"
c0=$(cpu_s); t0=$(now)
curl -s -K "$WORK/gz.cfg"
c1=$(cpu_s); t1=$(now)
printf 'http: agent CPU per gzip scrape %.0f us (%d scrapes)\n' \
	"$(echo "(($c1 - $c0) - $idle * ($t1 - $t0)) / $n * 1000000" | bc -l)" "$n"
