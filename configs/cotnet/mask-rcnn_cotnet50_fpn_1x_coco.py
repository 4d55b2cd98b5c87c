# Mask R-CNN R50-FPN 1x with a CoTNet-50 backbone (a CoT layer in place of
# every 3x3 conv and the BN/ReLU after it). Only the backbone differs from
# baselines/mask-rcnn_r50_fpn_1x_coco.py: its type, and the official CoTNet-50 ImageNet weights
# (81.3% top-1) instead of torchvision's ResNet-50:
#
#   1. download the "CoTNet-50" checkpoint linked in the JDAI-CV/CoTNet
#      README (Google Drive file 1SR5ezIu7LN943zHaUh4mC0ehxBVMqtfv, or Baidu,
#      code cotn; keep it packed, it is a torch archive despite a .tar name):
#        mkdir -p checkpoints
#        gdown 1SR5ezIu7LN943zHaUh4mC0ehxBVMqtfv \
#            -O checkpoints/cotnet50.pth.tar
#   2. convert it (EMA weights when present, strict key and shape check):
#        python tools/model_converters/cotnet2mmctx.py \
#            checkpoints/cotnet50.pth.tar checkpoints/cotnet50_mmctx.pth
#   3. train (8 GPUs: tools/dist_train.sh CONFIG 8):
#        python tools/train.py configs/cotnet/mask-rcnn_cotnet50_fpn_1x_coco.py
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='CoTNet',
        init_cfg=dict(
            type='Pretrained', checkpoint='checkpoints/cotnet50_mmctx.pth')))
