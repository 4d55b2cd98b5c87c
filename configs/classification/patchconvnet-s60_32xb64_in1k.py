# PatchConvNet-S60 on ImageNet-1k, the recipe of facebookresearch/deit's
# main.py (the official PatchConvNet code) with the optimizer the first
# author gave. Reported: 25.2M params, 4.0 GFLOPs, 82.1 top-1 at 224
# (deit README_patchconvnet.md).
#
# Source of every number:
#   LAMB, lr 3e-3, global batch 2048: Hugo Touvron in facebookresearch/deit
#     issue #185 (2022-09-09). Whether 3e-3 is the final lr or main.py's
#     --lr before its batch/512 scaling is UNVERIFIED; read here as the
#     final lr at 2048 (32 GPUs x 64 here; per-GPU split is ours).
#   stochastic depth: "depends on the model size, see the paper" (same
#     issue); the per-model values are UNVERIFIED, main.py's default 0.1 is
#     used, constant over the trunk (patchconvnet_models.py dpr_constant).
#   epochs: 300 is main.py's default; the paper's value is UNVERIFIED
#     (possibly 400).
#   main.py defaults (release commit f512394): weight decay 0.05 with no
#     decay on 1-D parameters and cls_token (timm create_optimizer with
#     no_weight_decay()), LAMB eps 1e-8 (--opt-eps), 5 warmup epochs from
#     1e-6, cosine to 1e-5 stepped per epoch, label smoothing 0.1, mixup 0.8
#     / cutmix 1.0 (one per batch), RandAugment rand-m9-mstd0.5-inc1
#     (mmpretrain's 'timm_increasing'), random erasing 0.25 (per-pixel
#     noise), repeated augmentation x3, model EMA decay 0.99996, AMP,
#     bicubic RandomResizedCrop 224; test: bicubic resize to 256, centre
#     crop 224 (datasets.py). Colour jitter is unused with RandAugment.
#   LayerScale init 1e-4 (S60) / 1e-6 (deeper, wider): patchconvnet_models.py
#     (the PatchConvNet arch presets).
# Whether the reported accuracy is the EMA model's is UNVERIFIED; EMAHook
# below evaluates the EMA weights. The cosine is evaluated from epoch 5 over
# 295 epochs (timm: epochs 5..299 of a 300-epoch cosine). AMP: pass --amp
# to tools/train.py.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='PatchConvNet', arch='S60', out_indices=(2, ),
        drop_path_rate=0.1),
    neck=dict(type='AttentionPoolNeck', in_channels=384, num_tokens=1),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=384,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))

train_dataloader = dict(
    batch_size=64, sampler=dict(type='RepeatAugSampler', shuffle=True))

# lr 3e-3 for 2048 images, scaled by auto_scale_lr otherwise.
optim_wrapper = dict(
    optimizer=dict(type='Lamb', lr=3e-3, weight_decay=0.05, eps=1e-8),
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        flat_decay_mult=0.,
        custom_keys={'.cls_token': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 3e-3, by_epoch=True, begin=0,
         end=5),
    dict(type='CosineAnnealingLR', T_max=295, eta_min=1e-5, by_epoch=True,
         begin=5, end=300),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=2048)

custom_hooks = [
    dict(type='EMAHook', momentum=4e-5, update_buffers=True,
         priority='ABOVE_NORMAL'),
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, save_best='auto',
                    max_keep_ckpts=3))
