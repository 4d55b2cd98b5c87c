# UperNet with an AA-ResNet-50 backbone (ResNetV1c stem, attention-augmented
# 3x3 convs in c3-c5), 512x512, 160k on ADE20k: the backbone of
# gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py with attention augmentation instead of GC blocks;
# open-mmlab://resnet50_v1c initialises all but the augmented conv2 layers.
_base_ = '../gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py'
model = dict(
    backbone=dict(
        type='AAResNet', heads=8, kappa=0.2, upsilon=0.1, plugins=None))
