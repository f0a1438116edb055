# Shared helpers for integration tests (sourced). Each test prints
# PASS: name | FAIL: name: why | SKIP: name: why  (see tests/run-all.sh).
AOD_TOP=${AOD_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
AOD_BUILD=${AOD_BUILD:-build}
AOD_BIN=${AOD_BIN:-$AOD_TOP/$AOD_BUILD/aod}
HELPERS=$AOD_TOP/$AOD_BUILD/tests

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
skip() { echo "SKIP: $1: $2"; }
check() { # name why cmd...
	local name=$1 why=$2; shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

# A scratch dir on a real block device (not tmpfs), removed at exit.
make_workdir() {
	WORK=$(mktemp -d /var/tmp/aod-test.XXXXXX)
	chmod 700 "$WORK"
	trap 'stop_agent 2>/dev/null; rm -rf "$WORK"' EXIT
}

need_root_bpf() { # name
	if [ "$(id -u)" != 0 ]; then skip "$1" "needs root"; return 1; fi
	if [ ! -r /sys/kernel/btf/vmlinux ]; then skip "$1" "kernel has no BTF"; return 1; fi
	return 0
}

# start_agent CONFIG [LOG]: starts build/aod agent in the background; AGENT_PID set.
start_agent() {
	local cfg=$1 log=${2:-$WORK/agent.log}
	"$AOD_BIN" agent --config "$cfg" >"$log" 2>&1 &
	AGENT_PID=$!
	AGENT_LOG=$log
	# ready when the control socket answers
	for _ in $(seq 1 100); do
		if ! kill -0 "$AGENT_PID" 2>/dev/null; then return 1; fi
		grep -q 'running: config' "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

stop_agent() {
	[ -n "${AGENT_PID:-}" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local deadline=$(( $(date +%s%N) + ${1%.*} * 1000000000 )); shift
	while [ "$(date +%s%N)" -lt "$deadline" ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# Number of BPF links on the system (compared before and after an agent runs).
aod_link_count() {
	bpftool -j link show 2>/dev/null | jq '[.[] | select(.prog_id != null)] | length' 2>/dev/null || echo -1
}


# IDs of the BPF programs a process holds (from its fds), sorted.
agent_prog_ids() {
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un | tr '\n' ' '
}
