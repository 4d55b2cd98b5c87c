# GCNet's "+1 NL" row: one embedded-Gaussian non-local block in c4, at the
# end of the residual branch of the second-to-last c4 bottleneck (GCNet puts
# it just before the last c4 block; plug-ins live inside blocks, so this is
# the nearest position).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='CtxResNet',
        plugins=[
            dict(
                cfg=dict(type='NonLocalBlock', reduction=2),
                stages=(False, False, True, False),
                blocks=(-2, ),
                position='after_conv3')
        ]))
