# UperNet with a PatchConvNet-S60 backbone, 512x512, 160k on ADE20k. The
# backbone's simple pyramid (strides 4/8/16/32 from the stride-16 trunk, 384
# channels each) replaces ResNet's stages; UperNet and the auxiliary FCN head
# (on the stride-16 trunk output) take its channels. Whole-image testing pads
# to a multiple of 32 (the backbone needs multiples of 16) and crops the
# prediction back.
#
# Recipe: the PatchConvNet paper reports ADE20k UperNet results, but its
# fine-tuning recipe could not be verified from a primary source, and the
# official code (facebookresearch/deit) ships no segmentation code or
# config. mmseg's 160k SGD recipe is therefore kept unchanged, as for every
# other backbone here.
#
# Weights: the official ImageNet-1k S60 checkpoint, converted as in
# mask-rcnn_patchconvnet-s60_fpn_1x_coco.py beside this file:
#   1. mkdir -p checkpoints
#      wget https://dl.fbaipublicfiles.com/deit/s60_224_1k.pth \
#          -O checkpoints/s60_224_1k.pth
#   2. python tools/model_converters/patchconvnet2mmctx.py \
#          checkpoints/s60_224_1k.pth checkpoints/patchconvnet_s60_mmctx.pth
#   3. tools/dist_train.sh CONFIG 4, CONFIG being this file (4 GPUs, as
#      mmseg's 4xb4 schedule; one GPU: python tools/train.py CONFIG)
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
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/patchconvnet_s60_mmctx.pth',
            prefix='backbone.')),
    decode_head=dict(in_channels=[embed_dims] * 4),
    auxiliary_head=dict(in_channels=embed_dims, in_index=2))
