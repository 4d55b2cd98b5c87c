# Mask R-CNN R50-FPN 1x with BoTNet's MHSA (4 heads, 2-D relative
# positions) in place of the 3x3 conv of the three c5 bottlenecks. Only the
# backbone type differs from baselines/mask-rcnn_r50_fpn_1x_coco.py; torchvision://resnet50
# still initialises everything but the c5 conv2 layers.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(backbone=dict(type='BoTNet', heads=4))
