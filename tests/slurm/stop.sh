#!/bin/bash
# Stops the daemons tests/slurm/start.sh started in STATE_DIR (by their pid files only).
dir=${1:?usage: stop.sh STATE_DIR}
for f in slurmd.pid slurmctld.pid munge/munged.pid; do
  [ -f "$dir/$f" ] && kill "$(cat "$dir/$f")" 2>/dev/null
done
sleep 0.5
for f in slurmd.pid slurmctld.pid munge/munged.pid; do
  [ -f "$dir/$f" ] && kill -9 "$(cat "$dir/$f")" 2>/dev/null
done
exit 0
