# CPU-scale CoTNet UperNet on the ADE20k-layout demo data: the demo GC
# UperNet with the backbone of ../upernet_cot_r50_ade20k.py.
_base_ = './upernet_gc_r50_ade20k_demo.py'
model = dict(backbone=dict(type='CoTNet', plugins=None))
