#!/bin/bash
# Starts a one-node Slurm cluster (munged, slurmctld, slurmd) whose every file lives in STATE_DIR,
# on free ports, for tests/slurm_test.ts. Needs root and Debian's slurm-wlm and munge.
# Usage: tests/slurm/start.sh STATE_DIR   → writes STATE_DIR/slurm.conf; stop with stop.sh STATE_DIR.
# Exit codes: 0 ready; 3 cannot start here (the reason on stderr, one line).
set -u
dir=${1:?usage: start.sh STATE_DIR}
fail() { echo "cannot start Slurm: $*" >&2; exit 3; }
[ "$(id -u)" = 0 ] || fail "needs root (munged and slurmd run as root here)"
for b in munged mungekey slurmctld slurmd sbatch scontrol; do
  command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || fail "$b not installed (apt-get install slurm-wlm munge)"
done
export PATH="$PATH:/usr/sbin"
mkdir -p "$dir"/{state,spool,munge,log} && chmod 700 "$dir" "$dir/munge" || fail "cannot create $dir"
host=$(hostname -s)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])'; }
ctld_port=$(free_port); d_port=$(free_port)
mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 256 ))
# munge: a fresh key, its own socket
mungekey --create --keyfile="$dir/munge/munge.key" --force >/dev/null 2>&1 \
  || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
  --seed-file="$dir/munge/munged.seed" 2>"$dir/log/munged.err" || fail "munged: $(tail -1 "$dir/log/munged.err")"
cat >"$dir/slurm.conf" <<CONF
ClusterName=spec
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CryptoType=crypto/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=300
# 4 CPUs on any machine (config_overrides): the test's array tasks mostly wait on start-up, so four
# at a time keep it short even on 2 cores.
NodeName=$host CPUs=4 RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -i 2>"$dir/log/slurmctld.err" || fail "slurmctld: $(tail -1 "$dir/log/slurmctld.err")"
slurmd 2>"$dir/log/slurmd.err" || fail "slurmd: $(tail -1 "$dir/log/slurmd.err")"
for _ in $(seq 1 60); do
  state=$(sinfo -h -n "$host" -o %t 2>/dev/null)
  case "$state" in idle*|mix*|alloc*) exit 0 ;; esac
  sleep 0.25
done
fail "the node did not become idle (state '${state:-none}'; see $dir/log)"
