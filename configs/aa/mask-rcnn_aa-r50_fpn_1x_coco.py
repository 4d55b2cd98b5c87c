# Mask R-CNN R50-FPN 1x with AA-ResNet-50: attention-augmented 3x3 convs in
# every bottleneck of c3-c5. Only the backbone type differs from
# baselines/mask-rcnn_r50_fpn_1x_coco.py; torchvision://resnet50 initialises everything but
# the augmented conv2 layers.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(backbone=dict(type='AAResNet', heads=8, kappa=0.2, upsilon=0.1))
