# SE-ResNet-50 (SENet): an SE block (ratio 16) after conv3 of every
# bottleneck of all four stages, before the residual add, as SENet and
# mmpretrain's SEResNet place it; mmctx's SEBlock plug-in on CtxResNet.
#
# Recipe: mmpretrain's SE-ResNet-50 recipe, named as such
# (configs/seresnet/seresnet50_8xb32_in1k.py of mmpretrain 1.2.0: these
# bases), not SENet's own: SGD lr 0.1 momentum 0.9 wd 1e-4 on 8 x 32
# images, steps at epochs 40/80/120, 140 epochs, RandomResizedCrop 224 +
# flip, test resize 256 + centre crop 224. mmpretrain reports 28.09M
# params, 4.13 GFLOPs, 77.74 top-1 with it (its metafile). SENet's paper
# recipe (100 epochs, lr / 10 every 30, batch 1024 at lr 0.6) and its
# numbers (28.1M, 3.87 GFLOPs, 76.71 top-1) are UNVERIFIED here.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/schedules/imagenet_bs256_140e.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='CtxResNet',
        depth=50,
        out_indices=(3, ),
        norm_eval=False,
        plugins=[
            dict(
                cfg=dict(type='SEBlock', ratio=16),
                stages=(True, True, True, True),
                position='after_conv3')
        ]),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
