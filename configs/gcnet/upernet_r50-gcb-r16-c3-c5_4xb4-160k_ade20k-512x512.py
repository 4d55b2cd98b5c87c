# UperNet R50 with GC blocks (ratio 1/16) after conv3 of every bottleneck in
# c3-c5, 512x512, 160k on ADE20k. The backbone is mmseg's ResNetV1c (deep
# stem, same keys, so open-mmlab://resnet50_v1c still initialises it) with
# GC plug-ins; everything else is
# baselines/upernet_r50_4xb4-160k_ade20k-512x512.py.
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='CtxResNet',
        depth=50,
        deep_stem=True,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        plugins=[
            dict(
                cfg=dict(type='GCBlock', ratio=1. / 16),
                stages=(False, True, True, True),
                position='after_conv3')
        ]))
