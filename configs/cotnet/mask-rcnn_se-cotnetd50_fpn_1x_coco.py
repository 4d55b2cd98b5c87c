# Mask R-CNN FPN 1x with an SE-CoTNetD-50 backbone (CoTNet repository's
# hybrid network: deep stem, average-pool shortcuts, CoT layers in c5 and
# every other c4 block, SE convs elsewhere; 256/512/1024/2048 channels at
# strides 4-32 like ResNet-50). Only the backbone differs from
# baselines/mask-rcnn_r50_fpn_1x_coco.py; it starts from the official
# ImageNet weights (81.6% top-1). Recipe notes: see
# mask-rcnn_cotnet50_fpn_1x_coco.py beside this file.
#
#   1. download the "SE-CoTNetD-50" checkpoint linked in the JDAI-CV/CoTNet
#      README (Google Drive file 1D2b5fr3lxpBpiFcCYBKngmmSgfVHt_56, or Baidu,
#      code cotn; the README names no file, save it as below and do not
#      unpack it, it is a torch archive despite a .tar name):
#        mkdir -p checkpoints
#        gdown 1D2b5fr3lxpBpiFcCYBKngmmSgfVHt_56 \
#            -O checkpoints/se_cotnetd_50.pth.tar
#   2. convert it (EMA weights when present, strict key and shape check;
#      backbone.* keys, loaded with prefix='backbone.'):
#        python tools/model_converters/cotnet2mmctx.py \
#            checkpoints/se_cotnetd_50.pth.tar \
#            checkpoints/se_cotnetd50_mmctx.pth
#   3. train (8 GPUs: tools/dist_train.sh CONFIG 8):
#        python tools/train.py \
#            configs/cotnet/mask-rcnn_se-cotnetd50_fpn_1x_coco.py
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='SECoTNetD',
        depth=50,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/se_cotnetd50_mmctx.pth',
            prefix='backbone.')))
