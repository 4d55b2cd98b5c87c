# Cascade Mask R-CNN R50-FPN 1x with GC blocks (ratio 1/16) in c3-c5.
# Only the backbone differs from
# baselines/cascade-mask-rcnn_r50_fpn_1x_coco.py.
_base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'
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
