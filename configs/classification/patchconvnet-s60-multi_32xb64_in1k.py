# PatchConvNet-S60 with one class token per ImageNet class (deit's
# S60_multi): class c is scored from token c alone, and
# tools/analysis/vis_attention.py draws each class token's attention map
# (the paper's per-class maps). Reported: 25.6M params, 5.3 GFLOPs, 81.1
# top-1 trained from scratch, 82.0 fine-tuned (deit README_patchconvnet.md).
#
# Everything but the neck and head is patchconvnet-s60_32xb64_in1k.py
# (sources and UNVERIFIED items there). That the multi-token model was
# trained with the same recipe, and how the "finetune" row was obtained,
# is UNVERIFIED.
#
#   python tools/model_converters/patchconvnet2mmctx.py S60_multi.pth \
#       checkpoints/patchconvnet-s60-multi_in1k_mmctx.pth --with-head
#   python tools/test.py \
#       configs/classification/patchconvnet-s60-multi_32xb64_in1k.py \
#       checkpoints/patchconvnet-s60-multi_in1k_mmctx.pth
#   python tools/analysis/vis_attention.py \
#       configs/classification/patchconvnet-s60-multi_32xb64_in1k.py \
#       checkpoints/patchconvnet-s60-multi_in1k_mmctx.pth IMAGE --out vis/
_base_ = './patchconvnet-s60_32xb64_in1k.py'

model = dict(
    neck=dict(num_tokens=1000),
    head=dict(type='MultiTokenClsHead'))
