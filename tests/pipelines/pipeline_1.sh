#!/bin/bash
# Seed 002/004's pipeline_1 (df, ls, uname, pwd), as ground truth: every
# command runs as a child of this shell and is logged to $1 as
# "PID PARENT_PID EXIT_CODE NAME" once it ended. pwd is a builtin in bash,
# so /bin/pwd is run, a process like the others.
log=$1
run() {
	"$@" >/dev/null 2>&1 &
	local pid=$! rc
	wait "$pid"
	rc=$?
	echo "$pid $BASHPID $rc $1" >> "$log"
}
run df -h
run ls -la /bin
run ls -la /etc
run uname -a
run /bin/pwd
run ls /nonexistent-aod-path
