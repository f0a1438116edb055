#!/bin/bash
# libcurl and libcrypto are loaded by the uploader only (src/upload/s3_lib.c):
#  1. an agent without upload: maps neither (its /proc/PID/maps);
#  2. an agent with upload: maps both, and they came from the system's
#     libraries (the same files ldconfig names);
#  3. libcurl unloadable (an empty file bind-mounted over it in a private
#     mount namespace): the agent refuses to start and its error names the
#     library; without upload: it starts all the same.
set -u
. "$(dirname "$0")/lib.sh"
need_root_bpf upload-lib || exit 0
need_tools upload-lib unshare ldconfig || exit 0
make_workdir
cleanup() { stop_agent 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

OUT=$WORK/out
config() { # with_upload(0|1)
	cat >"$WORK/aod.yaml" <<YAML
watch_interval_sec: 1
aod_output_dir: $OUT
watcher:
  actions: [mounts]
agent:
  control_socket: $WORK/aod.sock
http:
  listen: ""
YAML
	[ "$1" = 1 ] && cat >>"$WORK/aod.yaml" <<YAML
upload:
  endpoint: http://127.0.0.1:9
  bucket: aod-bundles
YAML
	return 0
}
export AWS_ACCESS_KEY_ID=AODTESTKEY AWS_SECRET_ACCESS_KEY=aod-test-secret
lib_path() { ldconfig -p | awk -v n="$1" '$1 == n && /x86-64|x86_64|64bit/ {print $NF; exit}'; }
CURL=$(lib_path libcurl.so.4)
CRYPTO=$(lib_path libcrypto.so.3)
[ -n "$CURL" ] && [ -n "$CRYPTO" ] ||
	{ fail upload-lib-setup "ldconfig names no libcurl.so.4 ('$CURL') or libcrypto.so.3 ('$CRYPTO')"; exit 0; }
mapped() { # pid file: the file's inode is mapped
	local ino
	ino=$(stat -L -c %i "$2")
	awk -v i="$ino" '$5 == i {f = 1} END {exit !f}' "/proc/$1/maps"
}

# ---- 1. no upload: nothing of either mapped ----
config 0
if start_agent "$WORK/aod.yaml" "$WORK/agent.log.plain"; then
	n=$(grep -c 'libcurl\|libcrypto\|libssl' "/proc/$AGENT_PID/maps")
	# the probes, store and HTTP threads are up: the check is not of a half-started agent
	check upload-lib-not-mapped "without upload: $n mappings of libcurl/libcrypto/libssl" [ "$n" = 0 ]
	stop_agent
else
	fail upload-lib-not-mapped "agent did not start: $(tail -n 3 "$WORK/agent.log.plain")"
fi

# ---- 2. upload: both mapped, the system's files ----
config 1
if start_agent "$WORK/aod.yaml" "$WORK/agent.log.upload"; then
	check upload-lib-mapped "with upload: libcurl ($CURL) or libcrypto ($CRYPTO) not mapped: $(grep -o '/[^ ]*\(curl\|crypto\)[^ ]*' "/proc/$AGENT_PID/maps" | sort -u | tr '\n' ' ')" \
		bash -c "$(declare -f mapped); mapped $AGENT_PID '$CURL' && mapped $AGENT_PID '$CRYPTO'"
	stop_agent
else
	fail upload-lib-mapped "agent did not start: $(tail -n 3 "$WORK/agent.log.upload")"
fi

# ---- 3. libcurl unloadable ----
: >"$WORK/empty.so"
hide() { # log: the agent under a private mount namespace with libcurl hidden (pid in $pid)
	timeout 60 unshare -m --propagation private bash -c \
		'mount --bind "$1" "$2" && exec "$3" agent --config "$4"' _ "$WORK/empty.so" "$CURL" "$AOD_BIN" \
		"$WORK/aod.yaml" >"$1" 2>&1 &
	pid=$!
}
config 1
hide "$WORK/agent.log.hidden"
wait_for 30 bash -c "! kill -0 $pid 2>/dev/null"
if kill -0 "$pid" 2>/dev/null; then
	kill "$pid"; wait "$pid" 2>/dev/null
	fail upload-lib-missing "the agent kept running without libcurl: $(tail -n 3 "$WORK/agent.log.hidden")"
else
	wait "$pid"; rc=$?
	check upload-lib-missing "exit $rc, log: $(tail -n 3 "$WORK/agent.log.hidden")" \
		bash -c "[ $rc != 0 ] && grep -q 'upload: cannot load libcurl.so.4' '$WORK/agent.log.hidden'"
fi
config 0
hide "$WORK/agent.log.hidden-plain"
if wait_for 30 grep -q 'running: config' "$WORK/agent.log.hidden-plain"; then
	pass upload-lib-missing-unneeded
else
	fail upload-lib-missing-unneeded "without upload, the agent did not start with libcurl hidden: $(tail -n 3 "$WORK/agent.log.hidden-plain")"
fi
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
