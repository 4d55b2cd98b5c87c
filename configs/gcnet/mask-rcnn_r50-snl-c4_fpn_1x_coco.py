# GCNet's "+1 SNL" row: one simplified non-local block at the position the
# NL config uses (second-to-last c4 bottleneck, after conv3).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='CtxResNet',
        plugins=[
            dict(
                cfg=dict(type='SimplifiedNonLocalBlock'),
                stages=(False, False, True, False),
                blocks=(-2, ),
                position='after_conv3')
        ]))
