# mmdet's gcnet/cascade-mask-rcnn_x101-32x4d-syncbn-r16-gcb-c3-c5_fpn_1x_coco
# with mmctx's GCBlock: the R50 cascade GC r16 config beside it with a
# ResNeXt-101-32x4d trunk (OpenMMLab's ImageNet weights) and synchronised BN
# in the backbone, updated during training (norm_eval=False).
_base_ = './cascade-mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        groups=32,
        base_width=4,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnext101_32x4d')))
