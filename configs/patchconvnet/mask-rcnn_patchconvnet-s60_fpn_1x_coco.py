# Mask R-CNN with a PatchConvNet-S60 backbone and FPN, 1x on COCO. The
# columnar stride-16 trunk feeds FPN through the backbone's simple pyramid
# (strides 4/8/16/32, 384 channels each), so only the backbone and FPN's
# in_channels differ from baselines/mask-rcnn_r50_fpn_1x_coco.py.
#
# Recipe: the PatchConvNet paper reports COCO Mask R-CNN results, but its
# fine-tuning recipe (optimizer, schedule, augmentation) could not be
# verified from a primary source, and the official code
# (facebookresearch/deit) ships no detection code or config. mmdet's 1x
# SGD recipe is therefore kept unchanged, as for every other backbone here.
#
# Weights: the official ImageNet-1k S60 checkpoint (82.1% top-1), converted
# to mmctx's ImageClassifier layout; its stem and trunk load through
# prefix='backbone.', the pyramid branches (levels 0 and 1) are mmctx's own
# and keep their initialisation:
#   1. mkdir -p checkpoints
#      wget https://dl.fbaipublicfiles.com/deit/s60_224_1k.pth \
#          -O checkpoints/s60_224_1k.pth
#   2. python tools/model_converters/patchconvnet2mmctx.py \
#          checkpoints/s60_224_1k.pth checkpoints/patchconvnet_s60_mmctx.pth
#   3. python tools/train.py \
#          configs/patchconvnet/mask-rcnn_patchconvnet-s60_fpn_1x_coco.py
#      (8 GPUs: tools/dist_train.sh CONFIG 8)
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
embed_dims = 384
model = dict(
    backbone=dict(
        _delete_=True,
        type='PatchConvNet',
        arch='S60',
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/patchconvnet_s60_mmctx.pth',
            prefix='backbone.')),
    neck=dict(in_channels=[embed_dims] * 4))
