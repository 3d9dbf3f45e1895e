#!/usr/bin/env bash
# slurm_start.sh - diffpipe's test harness: a single-node SLURM cluster on Debian 12, as root.
# Used by tests/test_slurm.py (started once per test session, stopped by slurm_stop.sh).
# Adapted from the verified recipe in the shared reference notes.
#
# Installs (apt) and starts: munged, [MariaDB + slurmdbd], slurmctld, slurmd.
# Waits until `sinfo` reports the node "idle" and (with WITH_DBD=1) until
# `sacct` lists a finished smoke-test job. Works without systemd: every daemon
# is started directly and writes a pid file (see stop_cluster.sh).
# Idempotent: re-running rewrites configs, restarts only daemons whose config
# changed, and starts only daemons that are not running.
#
# Knobs (environment variables):
#   WITH_DBD=1       1: MariaDB + slurmdbd accounting (sacct works, plugin default
#                    status command). 0: no accounting -> use
#                    `snakemake --slurm-status-command squeue`.
#   FAKE_GPUS=0      N>0: advertise N fake GPUs (GRES gpu backed by /dev/null
#                    symlinks) so jobs asking for --gpus/--gres=gpu get scheduled.
#   CLUSTER=ci  PARTITION=debug  ACCOUNT=ci_acct
#   SLURM_USERS="root $SUDO_USER"   users added to ACCOUNT in slurmdbd
#   MEM_MARGIN_MB=1024   RealMemory = detected memory - margin
#   WAIT_S=120           max seconds to wait for node idle / sacct
#   SMOKE_TEST=1         submit one `true` job and wait for it to finish
#   STARTED=/run/diffpipe-slurm.started   daemons this harness started ("COMM PIDFILE" lines);
#                        slurm_stop.sh stops exactly those
set -euo pipefail
STARTED=${STARTED:-/run/diffpipe-slurm.started}
touch "$STARTED"
started() { grep -qx "$1 $2" "$STARTED" || echo "$1 $2" >> "$STARTED"; }

WITH_DBD=${WITH_DBD:-1}
FAKE_GPUS=${FAKE_GPUS:-0}
CLUSTER=${CLUSTER:-ci}
PARTITION=${PARTITION:-debug}
ACCOUNT=${ACCOUNT:-ci_acct}
SLURM_USERS=${SLURM_USERS:-"root ${SUDO_USER:-}"}
MEM_MARGIN_MB=${MEM_MARGIN_MB:-1024}
WAIT_S=${WAIT_S:-120}
SMOKE_TEST=${SMOKE_TEST:-1}
DB_PASS=${DB_PASS:-slurmdbpass}

ETC=/etc/slurm
LOGDIR=/var/log/slurm
SPOOL_CTLD=/var/spool/slurmctld
SPOOL_D=/var/spool/slurmd
T0=$SECONDS

log() { echo "[start_cluster +$((SECONDS - T0))s] $*"; }
die() { echo "[start_cluster] ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

# running PIDFILE COMM -> 0 if the pid in PIDFILE is alive and is COMM
running() {
  local pf=$1 comm=$2 pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]
}
stop_pid() {  # stop_pid PIDFILE COMM
  running "$1" "$2" || return 0
  local pid; pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
}
# write_file PATH MODE < content ; returns 0 if the file changed
write_file() {
  local path=$1 mode=$2 tmp
  tmp=$(mktemp)
  cat > "$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then rm -f "$tmp"; chmod "$mode" "$path"; return 1; fi
  install -m "$mode" "$tmp" "$path"; rm -f "$tmp"; return 0
}
wait_for() {  # wait_for SECONDS DESCRIPTION CMD...
  local t=$1 what=$2; shift 2
  for _ in $(seq "$t"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  die "timed out after ${t}s waiting for: $what"
}

# ---------------------------------------------------------------- packages
PKGS="munge slurmctld slurmd slurm-client"
[ "$WITH_DBD" = 1 ] && PKGS="$PKGS slurmdbd mariadb-server"
MISSING=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || MISSING="$MISSING $p"
done
if [ -n "$MISSING" ]; then
  log "apt-get install$MISSING"
  export DEBIAN_FRONTEND=noninteractive
  # Keep package postinst scripts from auto-starting daemons (no config yet);
  # this script starts everything itself.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  if ! apt-get install -y --no-install-recommends $MISSING; then
    apt-get update
    apt-get install -y --no-install-recommends $MISSING
  fi
fi

HOST=$(hostname -s)
getent hosts "$HOST" >/dev/null || echo "127.0.0.1 $HOST" >> /etc/hosts

# ---------------------------------------------------------------- munge
if [ ! -s /etc/munge/munge.key ]; then
  install -d -o munge -g munge -m 0700 /etc/munge
  mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
    || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
if ! running /run/munge/munged.pid munged; then
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged
  started munged /run/munge/munged.pid
fi
wait_for 20 "munge" sh -c 'munge -n | unmunge'

# ---------------------------------------------------------------- slurm.conf
install -d -m 0755 "$ETC" "$LOGDIR" "$SPOOL_CTLD" "$SPOOL_D"
# Node line straight from the hardware probe, minus a memory margin.
NODE_HW=$(slurmd -C | head -n1)
HWMEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$NODE_HW")
MEM=$((HWMEM - MEM_MARGIN_MB)); [ "$MEM" -gt 256 ] || MEM=$HWMEM
NODE_LINE=$(sed -e "s/RealMemory=[0-9]*/RealMemory=$MEM/" <<<"$NODE_HW")
GRES_LINES=""
if [ "$FAKE_GPUS" -gt 0 ]; then
  NODE_LINE="$NODE_LINE Gres=gpu:$FAKE_GPUS"
  GRES_LINES=$'GresTypes=gpu\nAccountingStorageTRES=gres/gpu'
  for i in $(seq 0 $((FAKE_GPUS - 1))); do ln -sfn /dev/null "$SPOOL_D/fakegpu$i"; done
fi
if [ "$WITH_DBD" = 1 ]; then
  ACCT_LINES=$'AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=localhost\nAccountingStoragePort=6819\nAccountingStoreFlags=job_comment'
else
  ACCT_LINES='AccountingStorageType=accounting_storage/none'
fi

SLURM_CHANGED=0
write_file "$ETC/slurm.conf" 0644 <<EOF && SLURM_CHANGED=1 || true
# generated by diffpipe's tests/harness/slurm_start.sh
ClusterName=$CLUSTER
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
EnforcePartLimits=ALL
MinJobAge=300
StateSaveLocation=$SPOOL_CTLD
SlurmdSpoolDir=$SPOOL_D
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGDIR/jobcomp.log
$ACCT_LINES
$GRES_LINES
$NODE_LINE State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP DefMemPerCPU=1000
EOF

if [ "$FAKE_GPUS" -gt 0 ]; then
  write_file "$ETC/gres.conf" 0644 <<EOF && SLURM_CHANGED=1 || true
NodeName=$HOST Name=gpu File=$SPOOL_D/fakegpu[0-$((FAKE_GPUS - 1))]
EOF
elif [ -e "$ETC/gres.conf" ]; then
  rm -f "$ETC/gres.conf"; SLURM_CHANGED=1
fi

# ---------------------------------------------------------------- accounting
if [ "$WITH_DBD" = 1 ]; then
  if ! running /run/mysqld/mysqld.pid mariadbd; then
    log "starting MariaDB"
    install -d -o mysql -g root -m 0755 /run/mysqld
    /etc/init.d/mariadb start
    started mariadbd /run/mysqld/mysqld.pid
  fi
  wait_for 60 "MariaDB" mariadb-admin ping
  mariadb <<EOF
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
EOF
  DBD_CHANGED=0
  write_file "$ETC/slurmdbd.conf" 0600 <<EOF && DBD_CHANGED=1 || true
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
DebugLevel=info
LogFile=$LOGDIR/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=$DB_PASS
EOF
  [ "$DBD_CHANGED" = 1 ] && running /run/slurmdbd.pid slurmdbd && { log "restarting slurmdbd (config changed)"; stop_pid /run/slurmdbd.pid slurmdbd; }
  if ! running /run/slurmdbd.pid slurmdbd; then log "starting slurmdbd"; slurmdbd; started slurmdbd /run/slurmdbd.pid; fi
  wait_for 60 "slurmdbd" timeout 10 sacctmgr -n list cluster
  # cluster/account/users must exist before slurmctld registers
  has_line() { grep -qx -- "$2" <<<"$1"; }   # avoid `cmd | grep -q` + pipefail
  has_line "$(sacctmgr -n -P list cluster format=cluster)" "$CLUSTER" \
    || sacctmgr -i add cluster "$CLUSTER"
  has_line "$(sacctmgr -n -P list account format=account)" "$ACCOUNT" \
    || sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description=ci Organization=ci
  for u in $SLURM_USERS; do
    has_line "$(sacctmgr -n -P list assoc user="$u" account="$ACCOUNT" cluster="$CLUSTER" format=user)" "$u" \
      || sacctmgr -i add user "$u" Account="$ACCOUNT" DefaultAccount="$ACCOUNT" Cluster="$CLUSTER"
  done
fi

# ---------------------------------------------------------------- slurmctld / slurmd
if [ "$SLURM_CHANGED" = 1 ]; then
  if running /run/slurmctld.pid slurmctld || running /run/slurmd.pid slurmd; then
    log "restarting slurmctld/slurmd (config changed)"
    stop_pid /run/slurmd.pid slurmd
    stop_pid /run/slurmctld.pid slurmctld
  fi
fi
if ! running /run/slurmctld.pid slurmctld; then log "starting slurmctld"; slurmctld; started slurmctld /run/slurmctld.pid; fi
wait_for 30 "slurmctld" scontrol ping
if ! running /run/slurmd.pid slurmd; then log "starting slurmd"; slurmd; started slurmd /run/slurmd.pid; fi

log "waiting for node $HOST to become idle"
STATE=""
for i in $(seq "$WAIT_S"); do
  STATE=$(sinfo -h -n "$HOST" -o %T 2>/dev/null || true)
  case "$STATE" in
    idle|mixed|allocated) break ;;
    down*|drain*|inval*|fail*) [ $((i % 5)) = 0 ] && scontrol update NodeName="$HOST" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 1
done
case "$STATE" in idle|mixed|allocated) ;; *)
  tail -n 20 "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" >&2 || true
  die "node $HOST state is '$STATE' after ${WAIT_S}s" ;;
esac
log "node $HOST is $STATE"

# ---------------------------------------------------------------- smoke test
if [ "$SMOKE_TEST" = 1 ]; then
  JID=$(cd "$(mktemp -d)" && sbatch --parsable -p "$PARTITION" -o /dev/null -t 1 --mem=10 --wrap true)
  JID=${JID%%;*}
  if [ "$WITH_DBD" = 1 ]; then
    wait_for "$WAIT_S" "sacct to report job $JID COMPLETED" \
      sh -c "sacct -n -X -P -j $JID -o State | grep -qx COMPLETED"
  else
    wait_for "$WAIT_S" "job $JID COMPLETED" \
      sh -c "scontrol show job $JID | grep -q JobState=COMPLETED"
  fi
  log "smoke-test job $JID completed"
fi

sinfo
log "cluster ready (cluster=$CLUSTER partition=$PARTITION account=$([ "$WITH_DBD" = 1 ] && echo "$ACCOUNT" || echo none) dbd=$WITH_DBD fake_gpus=$FAKE_GPUS) in $((SECONDS - T0))s"
