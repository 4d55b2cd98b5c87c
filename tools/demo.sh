#!/usr/bin/env bash
# Run a demo end to end on the generated demo data: write the data, train
# the demo model, evaluate its last checkpoint and draw pictures under
# WORK_DIR/pictures.
#
# Usage: tools/demo.sh det|seg|cls
#   det: configs/demo/mask_rcnn_gc_r50_fpn_demo.py  (bbox/segm AP)
#   seg: configs/demo/upernet_gc_r50_ade20k_demo.py (mIoU)
#     Both draw the predictions on the val images, the GC attention map of
#     one val image and the training curves.
#   cls: configs/demo/bot_r50_cls_demo.py (top-1/top-2 accuracy), then the
#     pretrain -> detect path: its BoTNet tables resized for the detection
#     inputs (tools/model_converters/resize_rel_tables.py) and a short
#     Mask R-CNN fine-tune from its backbone,
#     configs/demo/mask_rcnn_bot_r50_fpn_from_cls_demo.py (bbox/segm AP).
#     Draws the classifier's predictions on every 10th val image and its
#     training curves, the detector's predictions and the MHSA attention
#     of one val image.
# Runs in the current folder: the demo configs read data/demo/ there.
# Environment: PYTHON (default: the project's .venv), WORK_DIR (default
# work_dirs/<config name>; cls: the detector trains in WORK_DIR/detection),
# DEMO_DATA_ARGS (extra arguments for tools/make_demo_data.py, e.g.
# "--num-train 8"), DEMO_ARGS (extra arguments for tools/train.py, e.g.
# "--cfg-options train_cfg.max_iters=4"), FINETUNE_ARGS (cls: the same for
# the detection fine-tune).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
DEMO_DATA=data/demo
case "${1:-}" in
  det)
    CONFIG=$ROOT/configs/demo/mask_rcnn_gc_r50_fpn_demo.py
    SETS=coco METRIC=coco/bbox_mAP IMAGE=$DEMO_DATA/coco/val/000000.jpg
    ;;
  seg)
    CONFIG=$ROOT/configs/demo/upernet_gc_r50_ade20k_demo.py
    SETS=ade METRIC=mIoU
    IMAGE=$DEMO_DATA/ade/images/validation/ADE_validation_00000000.jpg
    ;;
  cls)
    CONFIG=$ROOT/configs/demo/bot_r50_cls_demo.py
    DET_CONFIG=$ROOT/configs/demo/mask_rcnn_bot_r50_fpn_from_cls_demo.py
    SETS="imagenet coco" METRIC=accuracy/top1
    IMAGE=$DEMO_DATA/coco/val/000000.jpg
    ;;
  *)
    echo "usage: $0 det|seg|cls" >&2
    exit 2
    ;;
esac
WORK_DIR=${WORK_DIR:-work_dirs/$(basename "$CONFIG" .py)}
PICTURES=$WORK_DIR/pictures

start=$(date +%s)
# DEMO_DATA_ARGS, DEMO_ARGS, FINETUNE_ARGS and SETS are lists of words:
# split on spaces on purpose.
# shellcheck disable=SC2086
"$PYTHON" "$ROOT/tools/make_demo_data.py" --out "$DEMO_DATA" --sets $SETS \
  ${DEMO_DATA_ARGS:-}
# shellcheck disable=SC2086
"$PYTHON" "$ROOT/tools/train.py" "$CONFIG" --work-dir "$WORK_DIR" \
  ${DEMO_ARGS:-}
checkpoint=$(cat "$WORK_DIR/last_checkpoint")
# The training run's scalars (loss per logged step, metric at the end).
scalars=$(ls -t "$WORK_DIR"/*/vis_data/scalars.json | head -n 1)
mkdir -p "$PICTURES"

if [ "$1" != cls ]; then
  # The last GC block of c5: its attention map is the one GCNet's figures
  # show.
  LAYER=backbone.layer4.2.context_block
  # mmseg's visualisation hook draws every 50th image unless told otherwise.
  "$PYTHON" "$ROOT/tools/test.py" "$CONFIG" "$checkpoint" \
    --work-dir "$WORK_DIR" --show-dir "$(realpath "$PICTURES")/predictions" \
    --cfg-options default_hooks.visualization.interval=1
  "$PYTHON" "$ROOT/tools/analysis/vis_attention.py" "$CONFIG" "$checkpoint" \
    "$IMAGE" --layer "$LAYER" --out "$PICTURES/attention"
  "$PYTHON" "$ROOT/tools/analysis/plot_curves.py" "$scalars" \
    --keys loss "$METRIC" --out "$PICTURES/curves.png"
  echo "demo ($1) finished in $(( $(date +%s) - start )) s"
  echo "predictions drawn on the val images: $PICTURES/predictions"
  echo "GC attention map ($LAYER): $PICTURES/attention"
  echo "training loss and $METRIC: $PICTURES/curves.png"
  exit 0
fi

# mmpretrain's visualisation hook, drawing true and predicted classes on
# every 10th val image, upscaled to 256 pixels.
"$PYTHON" "$ROOT/tools/test.py" "$CONFIG" "$checkpoint" \
  --work-dir "$WORK_DIR" --cfg-options \
  default_hooks.visualization.enable=True \
  default_hooks.visualization.interval=10 \
  default_hooks.visualization.resize=256 \
  "default_hooks.visualization.out_dir=$(realpath "$PICTURES")/classes"
"$PYTHON" "$ROOT/tools/analysis/plot_curves.py" "$scalars" \
  --keys loss "$METRIC" --out "$PICTURES/curves.png"
# The classifier's tables trained at its input size (that of the images it
# read) and hold offsets up to 13 (max_size 14, as
# configs/classification/bot50_8xb32_in1k.py); the detector's inputs are
# larger and its tables longer (BoTNet's default max_size, 84).
input_size=$("$PYTHON" -c "import sys; from PIL import Image; \
w, h = Image.open(sys.argv[1]).size; print(f'{h}x{w}')" \
  "$DEMO_DATA/imagenet/val/val_000000.png")
TABLES=$WORK_DIR/backbone_rel_tables.pth
"$PYTHON" "$ROOT/tools/model_converters/resize_rel_tables.py" \
  "$checkpoint" "$TABLES" --input-size "$input_size" --max-size 84
DET_WORK_DIR=$WORK_DIR/detection
# shellcheck disable=SC2086
"$PYTHON" "$ROOT/tools/train.py" "$DET_CONFIG" --work-dir "$DET_WORK_DIR" \
  --cfg-options "model.backbone.init_cfg.checkpoint=$TABLES" \
  ${FINETUNE_ARGS:-}
det_checkpoint=$(cat "$DET_WORK_DIR/last_checkpoint")
"$PYTHON" "$ROOT/tools/test.py" "$DET_CONFIG" "$det_checkpoint" \
  --work-dir "$DET_WORK_DIR" \
  --show-dir "$(realpath "$PICTURES")/detections" \
  --cfg-options default_hooks.visualization.interval=1
# The first MHSA block attends before the c5 stride: the finest map.
LAYER=backbone.layer4.0.conv2
"$PYTHON" "$ROOT/tools/analysis/vis_attention.py" "$DET_CONFIG" \
  "$det_checkpoint" "$IMAGE" --layer "$LAYER" --out "$PICTURES/attention"
echo "demo (cls) finished in $(( $(date +%s) - start )) s"
echo "true and predicted classes on val images: $PICTURES/classes"
echo "classifier training loss and $METRIC: $PICTURES/curves.png"
echo "BoTNet tables resized from ${input_size} inputs: $TABLES"
echo "detector fine-tuned from it: $DET_WORK_DIR"
echo "its predictions drawn on the val images: $PICTURES/detections"
echo "its MHSA attention ($LAYER): $PICTURES/attention"
