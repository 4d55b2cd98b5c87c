# CPU-scale SE-CoTNetD-50 UperNet on the ADE20k-layout demo data: the demo GC
# UperNet (data, 64-channel heads, BN, short schedule) with the full-width
# backbone of ../cotnet/upernet_se-cotnetd50_4xb4-160k_ade20k-512x512.py, from scratch.
_base_ = './upernet_gc_r50_ade20k_demo.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='SECoTNetD',
        depth=50,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    decode_head=dict(in_channels=[256, 512, 1024, 2048]),
    auxiliary_head=dict(in_channels=1024))
