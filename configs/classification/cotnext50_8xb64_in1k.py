# CoTNeXt-50 on ImageNet-1k with the official "350 epoch" recipe of
# JDAI-CV/CoTNet. Reported: 30.1M params, 4.3 GFLOPs, 82.1 top-1 / 95.9 top-5
# at 224 (official README.md).
#
# Everything but the model, batch and lr is
# cotnet50_8xb80_in1k.py (sources and deviations there: no drop path 0.1,
# no dropout 0.25). Batch 64/GPU x 8 GPUs = 512, lr 0.2 (0.1 per 256),
# weight decay 4e-5: cot_experiments/CoTNeXt-50-350epoch/config.yaml
# and train.sh.
_base_ = './cotnet50_8xb80_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True, type='CoTNeXt', depth=50, out_indices=(3, ),
        norm_eval=False))
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=0.2, weight_decay=4e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4 / 0.2, by_epoch=True, begin=0,
         end=5),
    dict(type='CosineAnnealingLR', T_max=345, eta_min=1e-5, by_epoch=True,
         begin=5, end=350),
]
auto_scale_lr = dict(base_batch_size=512)
