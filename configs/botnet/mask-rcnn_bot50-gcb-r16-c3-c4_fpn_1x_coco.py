# Mask R-CNN R50-FPN 1x with GC blocks (ratio 1/16) in c3-c4 and MHSA in c5:
# global context where the 3x3 convs stay, self-attention where they go.
#
# ImageNet pretraining: the BoTNet classifier of
# configs/classification/bot50_8xb32_in1k.py, its tables resized as in
# mask-rcnn_bot50_fpn_1x_coco.py, initialises all but the GC blocks (keys
# the classifier lacks, left at their initialisation; mmengine logs them
# as missing): set
#   model = dict(backbone=dict(init_cfg=dict(type='Pretrained',
#       checkpoint='checkpoints/bot50_in1k.pth', prefix='backbone.')))
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='CtxResNet',
        plugins=[
            dict(
                cfg=dict(type='GCBlock', ratio=1. / 16),
                stages=(False, True, True, False),
                position='after_conv3')
        ],
        mixers=(None, None, None, dict(type='MHSA', heads=4))))
