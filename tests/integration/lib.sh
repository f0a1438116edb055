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
	LOOP=
	trap 'stop_agent 2>/dev/null; [ -n "$LOOP" ] && losetup -d "$LOOP"; rm -rf "$WORK"' EXIT
}

# make_loop NAME SIZE [IMAGE]: a loop device over IMAGE (default a sparse
# $WORK/disk.img of SIZE), detached at exit by make_workdir's trap; sets LOOP
# and DEV (its name in /sys/block). A real blk-mq disk whose every request is
# the test's own, so counts can be checked against /sys/block/DEV/stat.
make_loop() {
	local img=${3:-$WORK/disk.img}
	[ -e "$img" ] || truncate -s "$2" "$img"
	LOOP=$(losetup -f --show "$img") || { LOOP=; fail "$1-setup" "losetup $img failed"; return 1; }
	DEV=$(basename "$LOOP")
}

# Skips only for what the machine really lacks (root, BTF); setup failures are FAILs.
need_root_bpf() { # name
	if [ "$(id -u)" != 0 ]; then skip "$1" "needs root"; return 1; fi
	if [ ! -r /sys/kernel/btf/vmlinux ]; then skip "$1" "kernel has no BTF"; return 1; fi
	return 0
}

# need_tools NAME CMD...: make check installs every command the tests run (TEST_PKGS in
# scripts/deps.sh), so a missing one is a failed setup, not an absence: one FAIL.
need_tools() {
	local name=$1 c missing=; shift
	for c; do command -v "$c" >/dev/null || missing="$missing $c"; done
	[ -z "$missing" ] && return 0
	fail "$name" "missing:$missing (scripts/deps.sh test installs them)"
	return 1
}

# start_agent CONFIG [LOG]: starts build/aod agent in the background; AGENT_PID set.
start_agent() {
	local cfg=$1 log=${2:-$WORK/agent.log}
	"$AOD_BIN" agent --config "$cfg" >"$log" 2>&1 &
	AGENT_PID=$!
	AGENT_LOG=$log
	# ready when it says so (30 s: loading the BPF programs is slow on a loaded machine)
	for _ in $(seq 1 300); do
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
# free_port: a loopback TCP port nothing listens on (checked by connecting to it).
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$(( 20000 + RANDOM % 40000 ))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}

wait_for() {
	local deadline=$(( $(date +%s%N) + ${1%.*} * 1000000000 )); shift
	while [ "$(date +%s%N)" -lt "$deadline" ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# IDs of the BPF programs / links a process holds (from its fds), sorted, on one line.
agent_prog_ids() { _fd_ids "$1" prog_id; }
agent_link_ids() { _fd_ids "$1" link_id; }
_fd_ids() { grep -h "^$2:" /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un | tr '\n' ' '; }

# bpf_ids_gone prog|link ID...: there are ids, and none of them exists any more (ids are
# allocated cyclically: a freed one is not soon given to a new object).
bpf_ids_gone() {
	local kind=$1 id; shift
	[ $# -gt 0 ] || return 1   # nothing to look for proves nothing
	for id; do bpftool "$kind" show id "$id" >/dev/null 2>&1 && return 1; done
	return 0
}

# Every process below PID (children of all its threads, recursively), one per line.
descendants() {
	local c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# procs_below PID ERE: the processes below PID whose argv, joined by spaces and ended by
# one, matches ERE (e.g. '^/bin/sleep 60 $').
procs_below() {
	local p
	for p in $(descendants "$1"); do
		tr '\0' ' ' 2>/dev/null < /proc/"$p"/cmdline | grep -Eq -- "$2" && echo "$p"
	done
}

# Start time of a process (clock ticks since boot), empty if it is gone: with the pid it
# names one process, even after the pid is reused.
proc_start() {
	local s
	s=$(cat /proc/"$1"/stat 2>/dev/null) || return 0
	s=${s##*) }
	set -- $s
	echo "${20}"
}
