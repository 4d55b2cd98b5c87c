# UperNet with a BoTNet-50 backbone (ResNetV1c stem, MHSA in c5), 512x512,
# 160k on ADE20k: the backbone of gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py with MHSA in c5
# instead of GC blocks; open-mmlab://resnet50_v1c initialises all but the c5
# conv2 layers. Everything else is baselines/upernet_r50_4xb4-160k_ade20k-512x512.py.
_base_ = '../gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py'
model = dict(backbone=dict(type='BoTNet', heads=4, plugins=None))
