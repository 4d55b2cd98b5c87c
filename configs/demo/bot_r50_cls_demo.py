# CPU-scale BoTNet-50 classifier on the single-shape demo set, trained from
# scratch: the model `make demo-cls` trains before fine-tuning its backbone
# in mask_rcnn_bot_r50_fpn_from_cls_demo.py. Same model code as
# ../classification/bot50_8xb32_in1k.py (BoTNet-50, MHSA with 4 heads and
# 2-D relative positions in c5, tables of max_size 14, GAP, linear head
# with label smoothing), reading mmpretrain's ImageNet layout.
# Changed: data (tools/make_demo_data.py --sets imagenet: 6000 + 200 plain
# shapes of 5 classes at 48x48); width (a quarter-width ResNet-50,
# base_channels=16: the backbone of mask_rcnn_bot_r50_fpn_demo.py, so the
# `backbone.*` keys are the detector's); init (the last BN of each block
# starts at one, not zero); pipeline (the images as they are, random flips);
# schedule (2000 AdamW steps, seeded); top-2 instead of top-5 (5 classes
# make top-5 trivial).
_base_ = '../classification/bot50_8xb32_in1k.py'

data_root = 'data/demo/imagenet'
metainfo = dict(classes=('box', 'disc', 'ring', 'star', 'triangle'))
num_classes = 5
topk = (1, 2)
max_iters = 2000
randomness = dict(seed=0, deterministic=True)

model = dict(
    backbone=dict(base_channels=16, zero_init_residual=False),
    head=dict(num_classes=num_classes, in_channels=512, topk=topk))
data_preprocessor = dict(num_classes=num_classes)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PackInputs')
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=50,
    num_workers=1,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(topk=topk)
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=200),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=200,
         end=max_iters, eta_min_ratio=0.01)
]
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False, window_size=20)
