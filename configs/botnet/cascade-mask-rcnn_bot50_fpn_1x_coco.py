# Cascade Mask R-CNN R50-FPN 1x with MHSA in c5 (BoTNet). Only the backbone
# type differs from baselines/cascade-mask-rcnn_r50_fpn_1x_coco.py.
_base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(backbone=dict(type='BoTNet', heads=4))
