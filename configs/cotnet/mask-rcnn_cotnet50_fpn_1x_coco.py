# Mask R-CNN R50-FPN 1x with a CoTNet-50 backbone (a CoT layer in place of
# every 3x3 conv and the BN/ReLU after it). Only the backbone differs from
# baselines/mask-rcnn_r50_fpn_1x_coco.py: its type, and the official
# CoTNet-50 ImageNet weights (81.3% top-1) instead of torchvision's
# ResNet-50.
#
# Recipe: mmdet's 1x, so that only the backbone differs from the baseline.
# The authors' COCO runs (JDAI-CV/CoTNet-ObjectDetection-InstanceSegmentation,
# detectron2) use the same 1x schedule (16 images, lr 0.02, 90k iterations)
# but SyncBN in backbone, FPN and heads and a 4conv-1fc box head, so their
# numbers (configs/cotnet/README.md) are a reference, not a target.
#
# Weights:
#   1. download the "CoTNet-50" checkpoint linked in the JDAI-CV/CoTNet
#      README (Google Drive file 1SR5ezIu7LN943zHaUh4mC0ehxBVMqtfv, or Baidu,
#      code cotn; keep it packed, it is a torch archive despite a .tar name):
#        mkdir -p checkpoints
#        gdown 1SR5ezIu7LN943zHaUh4mC0ehxBVMqtfv \
#            -O checkpoints/cotnet50.pth.tar
#   2. convert it (EMA weights when present, strict key and shape check;
#      the output holds backbone.* keys, the ImageClassifier layout, which
#      init_cfg loads with prefix='backbone.'):
#        python tools/model_converters/cotnet2mmctx.py \
#            checkpoints/cotnet50.pth.tar checkpoints/cotnet50_mmctx.pth
#   3. train (8 GPUs: tools/dist_train.sh CONFIG 8):
#        python tools/train.py \
#            configs/cotnet/mask-rcnn_cotnet50_fpn_1x_coco.py
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='CoTNet',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/cotnet50_mmctx.pth',
            prefix='backbone.')))
