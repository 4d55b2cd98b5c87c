# mmdet's gcnet/mask-rcnn_x101-32x4d-syncbn-gcb-r4-c3-c5_fpn_1x_coco.py with
# mmctx's GCBlock: the R101 SyncBN GC r4 config beside it with ResNeXt
# bottlenecks (32 groups of width 4), initialised from OpenMMLab's
# ResNeXt-101-32x4d ImageNet weights.
_base_ = './mask-rcnn_r101-syncbn-gcb-r4-c3-c5_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        groups=32,
        base_width=4,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnext101_32x4d')))
