#!/usr/bin/env bash
# A Slurm cluster of one machine, for the tests and for trying 'shoal slurm':
# slurmctld and slurmd on 127.0.0.1, munged for authentication, no systemd,
# no accounting (squeue and scontrol show the jobs; sacct does not).
#
# usage: scripts/slurm-local.sh install|start|stop|status
#   install   apt-get install slurm-wlm munge (apt-get update only when needed)
#   start     wipe the state directory, then start munged, slurmctld and slurmd
#   stop      cancel the jobs, stop the daemons that start launched (pid files)
#   status    whether the daemons run, and sinfo
# Needs root. Everything lives under $SHOAL_SLURM_DIR (default /tmp/shoal-slurm):
# slurm.conf, state, spool, logs and pid files. slurmctld listens on
# $SHOAL_SLURM_PORT (default 6817), slurmd on the port after it. The Slurm
# commands find the cluster through SLURM_CONF, which start prints:
#   export SLURM_CONF=/tmp/shoal-slurm/etc/slurm.conf
set -euo pipefail

dir=${SHOAL_SLURM_DIR:-/tmp/shoal-slurm}
conf=$dir/etc/slurm.conf
ctld_port=${SHOAL_SLURM_PORT:-6817}

say() { printf 'slurm-local: %s\n' "$*"; }
die() { printf 'slurm-local: error: %s\n' "$*" >&2; exit 1; }

need_root() { ((EUID == 0)) || die "run as root (slurmd starts jobs as any user)"; }

installed() {
  local pkg status
  for pkg in slurm-wlm munge; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || return 1
  done
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null
}

install() {
  need_root
  if installed; then
    say "slurm-wlm and munge are installed"
    return
  fi
  command -v apt-get >/dev/null || die "no apt-get: install slurm-wlm and munge by hand"
  local apt=(apt-get -q -o DPkg::Lock::Timeout=300)
  export DEBIAN_FRONTEND=noninteractive
  # Update the package lists only when they do not know the packages yet.
  if ! apt-cache show slurm-wlm >/dev/null 2>&1 || ! apt-cache show munge >/dev/null 2>&1; then
    say "apt-get update"
    "${apt[@]}" update
  fi
  # Without systemd, the packages' scripts would start munged and the Slurm
  # daemons with the system's configuration; 'start' runs its own instead.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  say "apt-get install slurm-wlm munge"
  local status=0
  "${apt[@]}" install -y --no-install-recommends slurm-wlm munge || status=$?
  if ((status != 0)); then
    # Package lists that know the names but not the current versions: refresh once.
    say "apt-get install failed; apt-get update, then once more"
    status=0
    "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends slurm-wlm munge ||
      status=$?
  fi
  ((made_policy)) && rm -f "$policy"
  ((status == 0)) || die "apt-get install slurm-wlm munge failed (status $status)"
  installed || die "slurm-wlm and munge were installed but slurmctld, slurmd or munged is missing"
}

# True when something accepts connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True while the process of a pid file runs.
running() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

munge_works() { command -v munge >/dev/null && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  mkdir -p /run/munge /var/lib/munge /var/log/munge /etc/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  if munge_works; then
    say "munged already runs (not started here; stop leaves it running)"
    return
  fi
  if [[ ! -s /etc/munge/munge.key ]]; then
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile=/etc/munge/munge.key
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key
  chmod 0700 /etc/munge
  chmod 0600 /etc/munge/munge.key
  mkdir -p "$dir/munge"
  chown munge:munge "$dir/munge"
  # munged refuses to run as root: run it as the munge user, as its package does.
  runuser -u munge -- munged --force --pid-file="$dir/munge/munged.pid"
  for _ in $(seq 100); do
    munge_works && return
    sleep 0.1
  done
  die "munged did not start; see /var/log/munge/munged.log"
}

write_conf() {
  local host cpus
  host=$(hostname -s)
  cpus=$(nproc)
  cat >"$conf" <<EOF
# Written by scripts/slurm-local.sh: one node, this machine, as root.
ClusterName=shoal-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  need_root
  installed || die "slurm-wlm and munge are not installed; run: $0 install"
  stop_daemons quiet
  local port
  for port in "$ctld_port" "$((ctld_port + 1))"; do
    if listening "$port"; then
      die "port $port is taken (another Slurm cluster?); stop it, or pick other ports with SHOAL_SLURM_PORT"
    fi
  done
  # Old state would bring old jobs back: start from nothing every time.
  rm -rf "$dir"
  mkdir -p "$dir/etc" "$dir/state" "$dir/spool" "$dir/log"
  chmod 0755 "$dir"
  write_conf
  start_munge
  export SLURM_CONF=$conf
  slurmctld -f "$conf"
  slurmd -f "$conf"
  for _ in $(seq 50); do
    running "$dir/slurmctld.pid" && running "$dir/slurmd.pid" && break
    sleep 0.1
  done
  running "$dir/slurmctld.pid" || die "slurmctld did not start; see $dir/log/slurmctld.log"
  running "$dir/slurmd.pid" || die "slurmd did not start; see $dir/log/slurmd.log"
  # Ready when the node is idle.
  local state=""
  for _ in $(seq 300); do
    state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
    [[ $state == idle ]] && break
    sleep 0.1
  done
  if [[ $state != idle ]]; then
    say "logs: $dir/log/slurmctld.log, $dir/log/slurmd.log" >&2
    tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    die "the node did not become idle (state '${state:-none}')"
  fi
  say "slurmctld and slurmd run on $(hostname -s) ($(nproc) CPUs), state in $dir"
  say "export SLURM_CONF=$conf"
}

stop_one() {
  local name=$1 pidfile=$2 pid
  running "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  say "$name (pid $pid) did not stop in 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

stop_daemons() {
  if [[ -f $conf ]] && running "$dir/slurmctld.pid"; then
    # Jobs first, so that no job step outlives its slurmd.
    SLURM_CONF=$conf scancel --quiet --user="$(id -un)" 2>/dev/null || true
  fi
  stop_one slurmd "$dir/slurmd.pid"
  stop_one slurmctld "$dir/slurmctld.pid"
  stop_one munged "$dir/munge/munged.pid"
  [[ ${1:-} == quiet ]] || say "stopped"
}

status() {
  local name pidfile rc=0
  for name in munged slurmctld slurmd; do
    pidfile=$dir/$name.pid
    [[ $name == munged ]] && pidfile=$dir/munge/munged.pid
    if running "$pidfile"; then
      say "$name runs (pid $(cat "$pidfile"))"
    else
      say "$name does not run"
      rc=1
    fi
  done
  if ((rc == 0)); then SLURM_CONF=$conf sinfo; fi
  return "$rc"
}

case ${1:-} in
  install) install ;;
  start) start ;;
  stop) need_root; stop_daemons ;;
  status) status ;;
  -h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0" ;;
  *) sed -n '2,16s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
