# PatchConvNet-S60 with one class token per ImageNet class (deit's
# S60_multi): class c is scored from token c alone, and
# tools/analysis/vis_attention.py draws each class token's attention map
# (the paper's per-class maps).
#
#   python tools/model_converters/patchconvnet2mmctx.py S60_multi.pth \
#       checkpoints/patchconvnet-s60-multi_in1k_mmctx.pth --with-head
#   python tools/test.py configs/classification/patchconvnet-s60-multi_in1k.py \
#       checkpoints/patchconvnet-s60-multi_in1k_mmctx.pth
#   python tools/analysis/vis_attention.py \
#       configs/classification/patchconvnet-s60-multi_in1k.py \
#       checkpoints/patchconvnet-s60-multi_in1k_mmctx.pth IMAGE --out vis/
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='PatchConvNet', arch='S60', out_indices=(2, )),
    neck=dict(type='AttentionPoolNeck', in_channels=384, num_tokens=1000),
    head=dict(
        type='MultiTokenClsHead',
        num_classes=1000,
        in_channels=384,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
