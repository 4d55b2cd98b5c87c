#!/usr/bin/env bash
# Train with N processes: tools/dist_train.sh CONFIG N [train.py flags...]
# Works on GPUs (nccl) and on CPU (gloo, chosen by train.py).
# N processes per node; for several nodes run it on each node with
#   NNODES (default 1), NODE_RANK (0..NNODES-1, default 0),
#   MASTER_ADDR (node 0's address, default 127.0.0.1), PORT (default 29500).
set -euo pipefail
CONFIG=$1
NPROC=$2
PYTHON=${PYTHON:-python}
exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$NPROC" \
  "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
