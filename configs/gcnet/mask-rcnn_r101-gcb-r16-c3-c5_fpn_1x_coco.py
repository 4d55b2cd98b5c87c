# mmdet's gcnet/mask-rcnn_r101-gcb-r16-c3-c5_fpn_1x_coco.py with mmctx's
# GCBlock: the R50 GC r16 config beside it with a ResNet-101 trunk
# initialised from torchvision's ImageNet weights.
_base_ = './mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet101')))
