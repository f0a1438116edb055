#!/bin/bash
# Seed 002/004's exe_2: pipeline_2 10 times in parallel (see exe_1.sh).
log=$1 n=${2:-10}
here=$(dirname "$0")
for ((i = 0; i < n; i++)); do
	bash "$here/pipeline_2.sh" "$log" &
	echo "$! $$ 0 pipeline" >> "$log"
done
wait
