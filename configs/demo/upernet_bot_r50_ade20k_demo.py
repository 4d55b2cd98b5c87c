# CPU-scale BoTNet UperNet on the ADE20k-layout demo data: the demo GC
# UperNet with the backbone of ../botnet/upernet_bot50_4xb4-160k_ade20k-512x512.py.
_base_ = './upernet_gc_r50_ade20k_demo.py'
model = dict(backbone=dict(type='BoTNet', heads=4, plugins=None))
