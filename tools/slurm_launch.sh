#!/usr/bin/env bash
# Shared by slurm_train.sh and slurm_test.sh:
#   tools/slurm_launch.sh PARTITION JOB_NAME TOOL [TOOL ARGS...]
# runs "python -u tools/TOOL ARGS... --launcher=slurm" as GPUS Slurm tasks
# (one per GPU); mmengine's init_dist then reads SLURM_PROCID, SLURM_NTASKS,
# SLURM_LOCALID and SLURM_NODELIST (and MASTER_PORT, default 29500).
#
# Environment:
#   GPUS           tasks in all (default 8)
#   GPUS_PER_NODE  tasks and GPUs per node (default: GPUS, at most 8)
#   CPUS_PER_TASK  CPU cores per task (default 5)
#   SRUN_ARGS      extra srun options, split on spaces (default none)
#   PYTHON         interpreter on the nodes (default python)
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 PARTITION JOB_NAME TOOL [TOOL ARGS...]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
TOOL=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
PYTHON=${PYTHON:-python}
# SRUN_ARGS as words; the ${A[@]+...} expansion below keeps an empty list
# legal under set -u in bash < 4.4 (CentOS 7 clusters).
read -r -a EXTRA_SRUN_ARGS <<< "${SRUN_ARGS:-}"
exec srun -p "$PARTITION" \
  --job-name="$JOB_NAME" \
  --gres=gpu:"$GPUS_PER_NODE" \
  --ntasks="$GPUS" \
  --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="$CPUS_PER_TASK" \
  --kill-on-bad-exit=1 \
  ${EXTRA_SRUN_ARGS[@]+"${EXTRA_SRUN_ARGS[@]}"} \
  "$PYTHON" -u "$(dirname "$0")/$TOOL" "${@:4}" --launcher=slurm
