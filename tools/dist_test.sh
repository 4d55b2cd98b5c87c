#!/usr/bin/env bash
# Test with N processes: tools/dist_test.sh CONFIG CHECKPOINT N [flags...]
# N processes per node; for several nodes run it on each node with
#   NNODES (default 1), NODE_RANK (0..NNODES-1, default 0),
#   MASTER_ADDR (node 0's address, default 127.0.0.1), PORT (default 29500).
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
PYTHON=${PYTHON:-python}
exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$NPROC" \
  "$(dirname "$0")/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
