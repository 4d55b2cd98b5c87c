#!/usr/bin/env bash
# Train with N processes: tools/dist_train.sh CONFIG N [train.py flags...]
# Works on GPUs (nccl) and on CPU (gloo, chosen by train.py).
set -euo pipefail
CONFIG=$1
NPROC=$2
PYTHON=${PYTHON:-python}
exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$NPROC" \
  "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
