# CPU-scale CoTNet UperNet on the ADE20k-layout demo data: the demo GC
# UperNet (data, 64-channel heads, BN, short schedule) with the backbone of
# ../cotnet/upernet_cotnet50_4xb4-160k_ade20k-512x512.py (CoT layers, plain 7x7 stem), from scratch.
_base_ = './upernet_gc_r50_ade20k_demo.py'
model = dict(
    backbone=dict(
        type='CoTNet', plugins=None, deep_stem=False, init_cfg=None))
