# UperNet with a BoTNet-50 backbone (ResNetV1c stem, MHSA in c5), 512x512,
# 160k on ADE20k: the backbone of upernet_gc_r50_ade20k.py with MHSA in c5
# instead of GC blocks; open-mmlab://resnet50_v1c initialises all but the c5
# conv2 layers. Everything else is upernet_r50_ade20k.py.
_base_ = './upernet_gc_r50_ade20k.py'
model = dict(backbone=dict(type='BoTNet', heads=4, plugins=None))
