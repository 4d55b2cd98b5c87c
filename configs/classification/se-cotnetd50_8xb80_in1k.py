# SE-CoTNetD-50 on ImageNet-1k with the official "350 epoch" recipe of
# JDAI-CV/CoTNet. Reported: 23.1M params, 4.1 GFLOPs, 81.6 top-1 / 95.8 top-5
# at 224 (official README.md).
# SE-CoTNetD is the official models/cotnet_hybrid.py network: deep stem,
# average-pool shortcuts, swish, CoT layers in c5 and every other c4
# block, SE convs elsewhere.
#
# Everything but the model, batch and lr is
# cotnet50_8xb80_in1k.py (sources and deviations there: no drop path 0.1,
# no dropout 0.25). Batch 80/GPU x 8 GPUs = 640, lr 0.25 (0.1 per 256),
# weight decay 4e-5: cot_experiments/SE-CoTNetD-50_350epoch/config.yaml
# and train.sh.
_base_ = './cotnet50_8xb80_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True, type='SECoTNetD', depth=50, out_indices=(3, ),
        norm_eval=False))
train_dataloader = dict(batch_size=80)
optim_wrapper = dict(optimizer=dict(lr=0.25, weight_decay=4e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4 / 0.25, by_epoch=True, begin=0,
         end=5),
    dict(type='CosineAnnealingLR', T_max=345, eta_min=1e-5, by_epoch=True,
         begin=5, end=350),
]
auto_scale_lr = dict(base_batch_size=640)
