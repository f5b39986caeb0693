#!/usr/bin/env bash
# Stop the daemons that start_local_slurm.sh started, by their pid files (never by name);
# daemons that were already running before it are left alone.
set -u
STARTED=/run/matfuse-local-slurm.started
[ -s "$STARTED" ] || exit 0
# slurmd before slurmctld before munged: the reverse of the start order
for pidfile in $(tac "$STARTED"); do
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        pid=$(cat "$pidfile")
        kill "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        echo "stopped $pidfile ($pid)"
    fi
done
rm -f "$STARTED"
