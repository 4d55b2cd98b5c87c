# NL-ResNet-50: one embedded-Gaussian non-local block (inner width C/2) in
# c4, after conv3 of the second-to-last c4 bottleneck: the placement of
# configs/gcnet/mask-rcnn_r50-nl-c4_fpn_1x_coco.py (GCNet's "+1 NL" row).
#
# Recipe: the Non-local paper has, as far as we know, no ImageNet
# classification result (UNVERIFIED) and no recipe for it; this config
# uses resnet50-se-r16_8xb32_in1k.py's recipe (mmpretrain's SE-ResNet-50
# recipe, 140 epochs) so that it compares with the SE and GC configs.
# No paper number to compare against.
_base_ = './resnet50-se-r16_8xb32_in1k.py'

model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='NonLocalBlock', reduction=2),
            stages=(False, False, True, False),
            blocks=(-2, ),
            position='after_conv3')
    ]))
