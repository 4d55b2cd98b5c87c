# CPU-scale PatchConvNet-S60 UperNet on the ADE20k-layout demo data: the
# demo GC UperNet (data, 64-channel heads, BN, short schedule) with the
# backbone, head inputs and test padding of
# ../patchconvnet/upernet_patchconvnet-s60_4xb4-160k_ade20k-512x512.py (the full S60 backbone).
_base_ = './upernet_gc_r50_ade20k_demo.py'
embed_dims = 384
model = dict(
    data_preprocessor=dict(test_cfg=dict(size_divisor=32)),
    backbone=dict(
        _delete_=True,
        type='PatchConvNet',
        arch='S60',
        out_indices=(0, 1, 2, 3),
        init_cfg=None),
    decode_head=dict(in_channels=[embed_dims] * 4),
    auxiliary_head=dict(in_channels=embed_dims, in_index=2))
