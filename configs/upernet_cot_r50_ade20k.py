# UperNet with a CoTNet-50 backbone (ResNetV1c stem), 512x512, 160k on
# ADE20k: the backbone of upernet_gc_r50_ade20k.py with CoT layers instead
# of GC blocks. Everything else is upernet_r50_ade20k.py.
_base_ = './upernet_gc_r50_ade20k.py'
model = dict(backbone=dict(type='CoTNet', plugins=None))
