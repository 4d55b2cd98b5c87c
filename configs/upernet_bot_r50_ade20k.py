# UperNet with a BoTNet-50 backbone (ResNetV1c stem, MHSA in c5), 512x512,
# 160k on ADE20k; open-mmlab://resnet50_v1c initialises all but the c5
# conv2 layers. Everything else is upernet_r50_ade20k.py.
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='BoTNet',
        depth=50,
        heads=4,
        deep_stem=True,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch'))
