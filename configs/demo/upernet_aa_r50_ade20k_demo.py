# CPU-scale AA UperNet on the ADE20k-layout demo data: the demo GC UperNet
# with the backbone of ../aa/upernet_aa-r50_4xb4-160k_ade20k-512x512.py.
_base_ = './upernet_gc_r50_ade20k_demo.py'
model = dict(
    backbone=dict(
        type='AAResNet', heads=8, kappa=0.2, upsilon=0.1, plugins=None))
