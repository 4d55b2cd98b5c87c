# UperNet with an AA-ResNet-50 backbone (ResNetV1c stem, attention-augmented
# 3x3 convs in c3-c5), 512x512, 160k on ADE20k: the backbone of
# upernet_gc_r50_ade20k.py with attention augmentation instead of GC blocks;
# open-mmlab://resnet50_v1c initialises all but the augmented conv2 layers.
_base_ = './upernet_gc_r50_ade20k.py'
model = dict(
    backbone=dict(
        type='AAResNet', heads=8, kappa=0.2, upsilon=0.1, plugins=None))
