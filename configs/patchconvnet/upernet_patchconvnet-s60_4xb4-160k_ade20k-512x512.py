# UperNet with a PatchConvNet-S60 backbone, 512x512, 160k on ADE20k. The
# backbone's simple pyramid (strides 4/8/16/32 from the stride-16 trunk, 384
# channels each) replaces ResNet's stages; UperNet and the auxiliary FCN head
# (on the stride-16 trunk output) take its channels. Whole-image testing pads
# to a multiple of 32 (the backbone needs multiples of 16) and crops the
# prediction back. The paper's segmentation schedule and optimizer are not
# verified here: mmseg's 160k SGD schedule is kept. No ImageNet PatchConvNet
# checkpoint is available offline (init_cfg=None).
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
embed_dims = 384
model = dict(
    pretrained=None,
    data_preprocessor=dict(test_cfg=dict(size_divisor=32)),
    backbone=dict(
        _delete_=True,
        type='PatchConvNet',
        arch='S60',
        out_indices=(0, 1, 2, 3),
        init_cfg=None),
    decode_head=dict(in_channels=[embed_dims] * 4),
    auxiliary_head=dict(in_channels=embed_dims, in_index=2))
