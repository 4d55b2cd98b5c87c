# Cascade Mask R-CNN R50-FPN 1x with AA-ResNet-50 (attention-augmented 3x3
# convs in c3-c5). Only the backbone type differs from
# baselines/cascade-mask-rcnn_r50_fpn_1x_coco.py.
_base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(backbone=dict(type='AAResNet', heads=8, kappa=0.2, upsilon=0.1))
