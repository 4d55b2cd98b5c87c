# Mask R-CNN R50-FPN 1x with a CoTNet-50 backbone (a CoT layer in place of
# every 3x3 conv and the BN/ReLU after it). Only the backbone type differs
# from mask_rcnn_r50_fpn.py; torchvision://resnet50 initialises the layers
# CoTNet shares with ResNet-50 (point init_cfg at CoTNet ImageNet weights
# converted to these keys for the paper's setting).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(backbone=dict(type='CoTNet'))
