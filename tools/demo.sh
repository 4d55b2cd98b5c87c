#!/usr/bin/env bash
# Run a demo end to end on the generated demo data: write the data, train the
# demo GC model, evaluate its last checkpoint (pycocotools' AP table or
# mmseg's mIoU table), then draw predictions, the GC attention map of one
# val image and the training curves.
#
# Usage: tools/demo.sh det|seg
#   det: configs/demo/mask_rcnn_gc_r50_fpn_demo.py  (bbox/segm AP)
#   seg: configs/demo/upernet_gc_r50_ade20k_demo.py (mIoU)
# Runs in the current folder: the demo configs read data/demo/ there.
# Environment: PYTHON (default: the project's .venv), WORK_DIR (default
# work_dirs/<config name>), DEMO_DATA_ARGS (extra arguments for
# tools/make_demo_data.py, e.g. "--num-train 8"), DEMO_ARGS (extra
# arguments for tools/train.py, e.g. "--cfg-options train_cfg.max_iters=4").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
DEMO_DATA=data/demo
case "${1:-}" in
  det)
    CONFIG=$ROOT/configs/demo/mask_rcnn_gc_r50_fpn_demo.py
    SET=coco METRIC=coco/bbox_mAP IMAGE=$DEMO_DATA/coco/val/000000.jpg
    ;;
  seg)
    CONFIG=$ROOT/configs/demo/upernet_gc_r50_ade20k_demo.py
    SET=ade METRIC=mIoU
    IMAGE=$DEMO_DATA/ade/images/validation/ADE_validation_00000000.jpg
    ;;
  *)
    echo "usage: $0 det|seg" >&2
    exit 2
    ;;
esac
WORK_DIR=${WORK_DIR:-work_dirs/$(basename "$CONFIG" .py)}
PICTURES=$WORK_DIR/pictures
# The last GC block of c5: its attention map is the one GCNet's figures show.
LAYER=backbone.layer4.2.context_block

start=$(date +%s)
# DEMO_DATA_ARGS and DEMO_ARGS are lists of flags: split on spaces on
# purpose.
# shellcheck disable=SC2086
"$PYTHON" "$ROOT/tools/make_demo_data.py" --out "$DEMO_DATA" --sets "$SET" \
  ${DEMO_DATA_ARGS:-}
# shellcheck disable=SC2086
"$PYTHON" "$ROOT/tools/train.py" "$CONFIG" --work-dir "$WORK_DIR" \
  ${DEMO_ARGS:-}
checkpoint=$(cat "$WORK_DIR/last_checkpoint")
# The training run's scalars (loss per logged step, metric at the end).
scalars=$(ls -t "$WORK_DIR"/*/vis_data/scalars.json | head -n 1)
mkdir -p "$PICTURES"
# mmseg's visualisation hook draws every 50th image unless told otherwise.
"$PYTHON" "$ROOT/tools/test.py" "$CONFIG" "$checkpoint" --work-dir "$WORK_DIR" \
  --show-dir "$(realpath "$PICTURES")/predictions" \
  --cfg-options default_hooks.visualization.interval=1
"$PYTHON" "$ROOT/tools/analysis/vis_attention.py" "$CONFIG" "$checkpoint" "$IMAGE" \
  --layer "$LAYER" --out "$PICTURES/attention"
"$PYTHON" "$ROOT/tools/analysis/plot_curves.py" "$scalars" --keys loss "$METRIC" \
  --out "$PICTURES/curves.png"
echo "demo ($1) finished in $(( $(date +%s) - start )) s"
echo "predictions drawn on the val images: $PICTURES/predictions"
echo "GC attention map ($LAYER): $PICTURES/attention"
echo "training loss and $METRIC: $PICTURES/curves.png"
