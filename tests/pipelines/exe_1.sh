#!/bin/bash
# Seed 002/004's exe_1: pipeline_1 100 times in parallel. $1: the log (see
# pipeline_1.sh); each pipeline shell adds "PID PARENT_PID 0 pipeline".
log=$1 n=${2:-100}
here=$(dirname "$0")
for ((i = 0; i < n; i++)); do
	bash "$here/pipeline_1.sh" "$log" &
	echo "$! $$ 0 pipeline" >> "$log"
done
wait
