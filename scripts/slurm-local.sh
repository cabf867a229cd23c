#!/usr/bin/env bash
# slurm-local.sh -- a private single-node Slurm cluster in one folder, for
# trying `mmusim sweep --emit slurm` and for tests/test_slurm.c.
#
#   scripts/slurm-local.sh start DIR   start munged, slurmctld and slurmd; wait
#                                      until the node takes jobs; print the
#                                      SLURM_CONF line to export
#   scripts/slurm-local.sh stop DIR    cancel its jobs, stop the three daemons
#
# Everything lives in DIR: the munge key and socket, slurm.conf, the state
# and spool folders, pid files and logs (DIR/log/*.log).  Nothing under /etc,
# /run or /var is read or written and no system service is touched, so it
# runs beside a real Slurm or munge and several copies run at once: each
# picks free TCP ports.  The daemons run as the calling user (root in CI);
# jobs run as that user on this machine, with the partition "debug".
#
# Uses Debian 12's packages munge, slurmctld, slurmd and slurm-client
# (scripts/setup.sh installs them).  Exit status: 0, or 1 with the daemons'
# logs on stderr when the cluster did not come up (what started is stopped).
set -euo pipefail

NODE=mmusim0           # the node's name: slurmd -N, so the host name does not matter
START_TIMEOUT=30       # seconds for the node to register (about 2 s normally)

die() { echo "slurm-local: $*" >&2; exit 1; }

# A TCP port nobody listens on, in 20000-32767: below Linux's ephemeral
# range (32768-60999), so no outgoing connection takes it later.  Not
# reserved: two starts in the same instant could pick the same one.
free_port() {
  local p hex
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 12768))
    hex=$(printf ':%04X ' "$p")
    if ! grep -qi -- "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free TCP port found in 20000-32767"
}

show_logs() {
  local f
  for f in "$1"/log/*.log; do
    [ -s "$f" ] || continue
    echo "---- $f (last 20 lines)" >&2
    tail -n 20 "$f" >&2
  done
}

# SIGTERM to the daemons whose pid files are given, then wait (up to 10 s)
# for them to exit: each takes about 2 s, so they are stopped together.
stop_pids() {
  local f pids=() pid
  for f in "$@"; do
    [ -s "$f" ] && pid=$(cat "$f") && kill "$pid" 2>/dev/null && pids+=("$pid")
    rm -f "$f"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

stop() {
  local d=$1
  if [ -s "$d/run/slurmctld.pid" ] && [ -f "$d/slurm.conf" ]; then
    # Jobs first, so no slurmstepd outlives its slurmd.
    export SLURM_CONF=$d/slurm.conf
    if [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null)" ]; then
      timeout 10 scancel --quiet --user="$(id -un)" 2>/dev/null || true
      for _ in $(seq 50); do
        [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null)" ] || break
        sleep 0.2
      done
    fi
  fi
  stop_pids "$d/run/slurmd.pid" "$d/run/slurmctld.pid" "$d/munge/munged.pid"
}

start() {
  local d=$1 u cpus host ctl_port d_port
  for cmd in munged mungekey slurmctld slurmd sinfo sbatch; do
    command -v "$cmd" >/dev/null || PATH=$PATH:/usr/sbin command -v "$cmd" >/dev/null ||
      die "$cmd: not installed (scripts/setup.sh installs munge, slurmctld, slurmd, slurm-client)"
  done
  export PATH=$PATH:/usr/sbin
  mkdir -p "$d"
  d=$(cd "$d" && pwd)
  [ ! -s "$d/run/slurmctld.pid" ] || ! kill -0 "$(cat "$d/run/slurmctld.pid")" 2>/dev/null ||
    die "$d: a cluster is running here (stop it first)"
  # munged refuses folders others may write to, and a key others may read.
  mkdir -p "$d/munge" "$d/log" "$d/run" "$d/state" "$d/spool"
  chmod 711 "$d" "$d/munge"
  rm -f "$d"/log/*.log
  [ -f "$d/munge/munge.key" ] || mungekey --create --keyfile="$d/munge/munge.key"
  chmod 600 "$d/munge/munge.key"

  u=$(id -un)
  cpus=$(nproc)
  host=$(hostname -s)
  ctl_port=$(free_port)
  d_port=$(free_port)
  [ "$d_port" != "$ctl_port" ] || d_port=$((ctl_port + 1))
  # config_overrides: the node is what this file says, not what slurmd
  # detects, so it comes up on any machine.  cons_tres with CR_Core lets
  # array tasks share the node, one per core.
  cat >"$d/slurm.conf.tmp" <<EOF
# Written by scripts/slurm-local.sh: a private single-node cluster.
ClusterName=mmusim-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=$u
SlurmdUser=$u
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.sock
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
MaxArraySize=1001
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus RealMemory=1024 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$d/slurm.conf.tmp" "$d/slurm.conf"
  export SLURM_CONF=$d/slurm.conf

  # --force: munged wants every folder above its socket open to all users
  # (DIR may well be inside a private one, e.g. from mktemp -d); only this
  # user's daemons and jobs talk to it.
  if ! munged --socket="$d/munge/munge.sock" --key-file="$d/munge/munge.key" \
      --pid-file="$d/munge/munged.pid" --log-file="$d/log/munged.log" \
      --seed-file="$d/munge/munged.seed" --force; then
    show_logs "$d"
    stop "$d"
    die "munged did not start"
  fi
  # Without -D both daemonize once they have read the config and written
  # their pid files; -i: ignore state a previous cluster left in DIR.
  if ! slurmctld -i || ! slurmd -N "$NODE"; then
    show_logs "$d"
    stop "$d"
    die "slurmctld or slurmd did not start"
  fi
  local state=""
  for _ in $(seq $((START_TIMEOUT * 5))); do
    state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
    case $state in idle* | mixed* | allocated*) break ;; esac
    sleep 0.2
  done
  case $state in
    idle* | mixed* | allocated*) ;;
    *)
      show_logs "$d"
      stop "$d"
      die "node $NODE not ready after ${START_TIMEOUT}s (state '${state:-none}')"
      ;;
  esac
  echo "export SLURM_CONF=$d/slurm.conf"
}

[ $# -eq 2 ] || die "usage: $0 start DIR | stop DIR"
case $1 in
  start) start "$2" ;;
  stop) [ -d "$2" ] || die "$2: no such folder"; stop "$2" ;;
  *) die "usage: $0 start DIR | stop DIR" ;;
esac
