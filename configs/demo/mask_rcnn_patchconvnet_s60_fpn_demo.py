# CPU-scale PatchConvNet-S60 Mask R-CNN on the demo data: the demo GC Mask
# R-CNN (data, 64-channel heads, 500 AdamW steps) with the backbone and FPN
# inputs of ../patchconvnet/mask-rcnn_patchconvnet-s60_fpn_1x_coco.py (the full S60 backbone).
_base_ = './mask_rcnn_gc_r50_fpn_demo.py'
embed_dims = 384
model = dict(
    backbone=dict(
        _delete_=True,
        type='PatchConvNet',
        arch='S60',
        out_indices=(0, 1, 2, 3),
        init_cfg=None),
    neck=dict(in_channels=[embed_dims] * 4))
