# BoT50 (BoTNet): ResNet-50 with MHSA (4 heads, 2-D relative position
# logits) in place of the 3x3 conv of the three c5 bottlenecks.
# Relative tables: at 224 the first c5 block attends at stride 16 (14 x 14,
# then a 2x2 average pool) and the other two at 7 x 7, so max_size=14 makes
# every 224 position exact (tables of 2 * 14 - 1 rows per axis).
#
# Recipe: BoTNet has no official training code and the paper's ImageNet
# hyper-parameters are UNVERIFIED here (believed: SGD, label smoothing
# 0.1, ~90-100 epochs for the "canonical" setting). This config uses
# mmpretrain's ResNet-50 label-smoothing recipe, named as such
# (configs/resnet/resnet50_8xb32-lbs_in1k.py of mmpretrain 1.2.0: these
# bases + LabelSmoothLoss 0.1): SGD lr 0.1 momentum 0.9 wd 1e-4 on 8 x 32,
# steps at 30/60/90, 100 epochs, RandomResizedCrop 224 + flip, test resize
# 256 + centre crop 224. Paper: about 20.8M params (UNVERIFIED); no
# ImageNet accuracy at 224 is verified.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='BoTNet',
        depth=50,
        heads=4,
        max_size=14,
        out_indices=(3, ),
        norm_eval=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, loss_weight=1.0),
        topk=(1, 5)))
