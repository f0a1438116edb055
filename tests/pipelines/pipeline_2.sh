#!/bin/bash
# Seed 002/004's pipeline_2: tools bounded by timeout(1), logged like
# pipeline_1.sh. vmstat -n 1 never ends on its own: timeout stops it
# (SIGTERM) and exits 124. A tool this host lacks makes timeout exit 127.
log=$1
run() {
	"$@" >/dev/null 2>&1 &
	local pid=$! rc
	wait "$pid"
	rc=$?
	echo "$pid $BASHPID $rc $1" >> "$log"
}
run timeout 3s vmstat -n 1
run timeout 2s lsof -i
run timeout 4s iostat
run timeout 1s w
run timeout 2s last -n 5
