# Mask R-CNN R50-FPN 1x with GC blocks (ratio 1/16) after conv3 of every
# bottleneck in c3-c5, as GCNet and mmdet's gcnet/mask-rcnn_r50-gcb-r16-
# c3-c5_fpn_1x_coco.py. Only the backbone differs from
# baselines/mask-rcnn_r50_fpn_1x_coco.py.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='CtxResNet',
        plugins=[
            dict(
                cfg=dict(type='GCBlock', ratio=1. / 16),
                stages=(False, True, True, True),
                position='after_conv3')
        ]))
