#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for tests/test_slurm.py: Debian's slurmctld,
# slurmd and munge, one partition `debug`, fake GPUs so that GPU jobs are scheduled and get
# CUDA_VISIBLE_DEVICES. Needs root and apt (Debian 12: slurm-wlm 22.05); no systemd, no cgroups.
#
# Idempotent: installs what is missing, (re)writes /etc/slurm/{slurm,gres}.conf, starts only the
# daemons that are not running (restarts slurm when its config changed), waits for the node.
# Every daemon it starts is listed (by pid file) in $STARTED; stop_local_slurm.sh stops those.
#
# Knobs: SLURM_CPUS (default nproc), SLURM_MEM_MB (default 8000), SLURM_NGPUS (default 1),
# SLURM_SHARDS_PER_GPU (default 4: gres/shard, so that jobs can share a GPU, as sites set it up).
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "start_local_slurm.sh: must run as root" >&2; exit 1; }

CONF_DIR=/etc/slurm
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
LOG_DIR=/var/log/slurm
FAKE_GPU_DIR=/var/lib/slurm-fakegpu
STARTED=/run/matfuse-local-slurm.started
NODE=$(hostname -s)
CPUS=${SLURM_CPUS:-$(nproc)}
MEM_MB=${SLURM_MEM_MB:-8000}
NGPUS=${SLURM_NGPUS:-1}
SHARDS=${SLURM_SHARDS_PER_GPU:-4}
t0=$(date +%s)

# ---- packages
missing=()
for p in slurmctld slurmd slurm-client munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
started() { grep -qxF "$1" "$STARTED" 2>/dev/null || echo "$1" >>"$STARTED"; }

# ---- munge (Debian's postinst makes /etc/munge/munge.key; make one if it is missing)
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 700 /etc/munge
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
chmod 755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock /run/munge/munged.pid
    su -s /bin/sh munge -c /usr/sbin/munged
    started /run/munge/munged.pid
    for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge >/dev/null

# ---- fake GPUs: gres/gpu wants one character device per GPU (a regular file is refused and a
# Count= without File= leaves the node INVAL), so make /dev/null clones (char 1,3).
restart=0
mkdir -p "$FAKE_GPU_DIR"
for i in $(seq 0 $((NGPUS - 1))); do
    if [ ! -c "$FAKE_GPU_DIR/nvidia$i" ]; then
        rm -f "$FAKE_GPU_DIR/nvidia$i"
        mknod -m 666 "$FAKE_GPU_DIR/nvidia$i" c 1 3
        restart=1
    fi
done

# ---- config
mkdir -p "$CONF_DIR" "$STATE_DIR" "$SPOOL_DIR" "$LOG_DIR"
chown slurm:slurm "$STATE_DIR" "$LOG_DIR"
new_conf=$(mktemp)
new_gres=$(mktemp)
cat >"$new_conf" <<CONF
# Single-node test cluster (written by matfuse's tests/slurm/start_local_slurm.sh)
ClusterName=localci
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
# no usable cgroups here: track processes via /proc, no task binding or confinement
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# no slurmdbd, so no sacct: snakemake must poll with --slurm-status-command squeue
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# finished jobs stay visible to squeue/scontrol for an hour: the status polling needs
# >= 3x --slurm-init-seconds-before-status-checks, the test inspects the jobs afterwards
MinJobAge=3600
# without it a job with no --mem takes the whole node's memory and jobs serialize
DefMemPerCPU=500
ReturnToService=2
SlurmdTimeout=300
StateSaveLocation=${STATE_DIR}
SlurmdSpoolDir=${SPOOL_DIR}
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
GresTypes=gpu,shard
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} Sockets=1 CoresPerSocket=${CPUS} ThreadsPerCore=1 RealMemory=${MEM_MB} Gres=gpu:fake:${NGPUS},shard:$((NGPUS * SHARDS)) State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
CONF
cat >"$new_gres" <<GRES
AutoDetect=off
NodeName=${NODE} Name=gpu Type=fake File=${FAKE_GPU_DIR}/nvidia[0-$((NGPUS - 1))]
NodeName=${NODE} Name=shard Count=$((NGPUS * SHARDS)) File=${FAKE_GPU_DIR}/nvidia[0-$((NGPUS - 1))]
GRES
cmp -s "$new_conf" "$CONF_DIR/slurm.conf" || { cp "$new_conf" "$CONF_DIR/slurm.conf"; restart=1; }
cmp -s "$new_gres" "$CONF_DIR/gres.conf" || { cp "$new_gres" "$CONF_DIR/gres.conf"; restart=1; }
chmod 644 "$CONF_DIR/slurm.conf" "$CONF_DIR/gres.conf"
rm -f "$new_conf" "$new_gres"

# ---- daemons (both daemonize and write their pid files)
stop_daemon() {
    if alive "$1"; then
        local pid
        pid=$(cat "$1")
        kill "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$1"
}
if [ "$restart" = 1 ]; then
    stop_daemon /run/slurmd.pid
    stop_daemon /run/slurmctld.pid
fi
if ! alive /run/slurmctld.pid; then
    slurmctld -c -i # -c: forget jobs of an earlier run; -i: ignore unreadable state files
    started /run/slurmctld.pid
fi
if ! alive /run/slurmd.pid; then
    slurmd
    started /run/slurmd.pid
fi

# ---- wait until the node takes jobs
state=""
for _ in $(seq 1 120); do
    state=$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null || true)
    case "$state" in
        idle | mixed | allocated | inval* | fail*) break ;;
        down* | drain*) scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
done
case "$state" in
    idle | mixed | allocated)
        echo "SLURM up: node=$NODE state=$state ($(($(date +%s) - t0)) s)"
        sinfo -N -o '%N %P %T %c %m %G'
        ;;
    *)
        echo "SLURM did not come up (node state '$state')" >&2
        sinfo -N -o '%N %T %E' >&2 || true
        tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
        exit 1
        ;;
esac
