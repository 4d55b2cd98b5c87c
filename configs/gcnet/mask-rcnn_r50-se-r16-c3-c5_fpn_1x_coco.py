# GCNet's SE row: SE blocks (ratio 16) where the GC config puts GC blocks
# (after conv3 of every bottleneck in c3-c5).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='CtxResNet',
        plugins=[
            dict(
                cfg=dict(type='SEBlock', ratio=16),
                stages=(False, True, True, True),
                position='after_conv3')
        ]))
