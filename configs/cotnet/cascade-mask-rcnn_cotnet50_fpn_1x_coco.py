# Cascade Mask R-CNN R50-FPN 1x with a CoTNet-50 backbone. Only the backbone
# differs from baselines/cascade-mask-rcnn_r50_fpn_1x_coco.py: its type and
# the official CoTNet-50 ImageNet weights, as in
# mask-rcnn_cotnet50_fpn_1x_coco.py beside this file (recipe notes there):
#
#   1. mkdir -p checkpoints
#      gdown 1SR5ezIu7LN943zHaUh4mC0ehxBVMqtfv \
#          -O checkpoints/cotnet50.pth.tar
#      (the "CoTNet-50" Google Drive link of the JDAI-CV/CoTNet README)
#   2. python tools/model_converters/cotnet2mmctx.py \
#          checkpoints/cotnet50.pth.tar checkpoints/cotnet50_mmctx.pth
#      (backbone.* keys, loaded with prefix='backbone.')
#   3. python tools/train.py \
#          configs/cotnet/cascade-mask-rcnn_cotnet50_fpn_1x_coco.py
_base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='CoTNet',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/cotnet50_mmctx.pth',
            prefix='backbone.')))
