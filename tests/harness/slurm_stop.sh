#!/usr/bin/env bash
# slurm_stop.sh - stop the daemons slurm_start.sh started (listed in $STARTED), by pid,
# in reverse start order. Safe to run repeatedly. Leaves packages, configs and state
# (accounting DB, StateSaveLocation) in place.
#   PURGE_STATE=1  also delete slurmctld/slurmd spool dirs (job ids restart at 1)
set -u
STARTED=${STARTED:-/run/diffpipe-slurm.started}

stop() {  # stop COMM PIDFILE
  local comm=$1 pf=$2 pid
  [ -s "$pf" ] || { echo "$comm: no pid file ($pf)"; return 0; }
  pid=$(cat "$pf")
  if ! kill -0 "$pid" 2>/dev/null || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$comm" ]; then
    echo "$comm: not running (stale pid file $pf)"; return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || { echo "$comm: stopped (pid $pid)"; return 0; }; sleep 0.5; done
  echo "$comm: did not exit after 30s, sending SIGKILL (pid $pid)"
  kill -KILL "$pid" 2>/dev/null || true
}

# Cancel leftover jobs so no slurmstepd/job processes outlive slurmd.
if command -v squeue >/dev/null && [ -s /run/slurmctld.pid ] && kill -0 "$(cat /run/slurmctld.pid)" 2>/dev/null; then
  JOBS=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
  if [ -n "$JOBS" ]; then
    echo "cancelling jobs: $(echo $JOBS)"
    scancel $JOBS || true
    sleep 2
  fi
fi

# Reverse start order; only what this harness started (a daemon that was already running stays).
if [ -s "$STARTED" ]; then
  tac "$STARTED" | while read -r comm pf; do stop "$comm" "$pf"; done
  rm -f "$STARTED"
fi

if [ "${PURGE_STATE:-0}" = 1 ]; then
  rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
  echo "purged slurm spool state"
fi
