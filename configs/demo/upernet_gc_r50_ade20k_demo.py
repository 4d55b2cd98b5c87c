# CPU-scale GC UperNet on the ADE20k-layout demo data, the model
# `make demo-seg` trains. Same model code as ../gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py;
# changed: data (1000 + 40 images at 160x160, no resizing), classes (the six
# ADE20k classes the demo data uses, through mmseg's label map: the other
# 144 ids are ignored, and 6-way heads instead of 150-way ones make a step
# 3.4x cheaper, as the 150-channel logits at full resolution dominated it),
# width (quarter-width backbone, base_channels=16, and 64-channel heads),
# schedule (AdamW, seeded), BN instead of SyncBN (single CPU process), and no
# ImageNet init (offline).
_base_ = '../gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py'

data_root = 'data/demo/ade'
width = 64
crop_size = (160, 160)
max_iters = 4500
randomness = dict(seed=0)
norm_cfg = dict(type='BN', requires_grad=True)
# In ADE20k's order; mmseg maps each of these ids to its index here.
metainfo = dict(
    classes=('wall', 'box', 'signboard', 'flower', 'plate', 'clock'))
num_classes = len(metainfo['classes'])

model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(base_channels=16, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=[64, 128, 256, 512], channels=width,
        num_classes=num_classes, norm_cfg=norm_cfg),
    auxiliary_head=dict(
        in_channels=256, channels=width, num_classes=num_classes,
        norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
# From scratch AdamW learns faster than the 160k schedule's SGD (lr 0.01).
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05))
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters))
