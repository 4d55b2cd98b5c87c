# Cascade Mask R-CNN FPN 1x with an SE-CoTNetD-50 backbone: the backbone of
# mask-rcnn_se-cotnetd50_fpn_1x_coco.py beside this file, everything else
# baselines/cascade-mask-rcnn_r50_fpn_1x_coco.py. Weights, as there:
#
#   1. mkdir -p checkpoints
#      gdown 1D2b5fr3lxpBpiFcCYBKngmmSgfVHt_56 \
#          -O checkpoints/se_cotnetd_50.pth.tar
#      (the "SE-CoTNetD-50" Google Drive link of the JDAI-CV/CoTNet README)
#   2. python tools/model_converters/cotnet2mmctx.py \
#          checkpoints/se_cotnetd_50.pth.tar \
#          checkpoints/se_cotnetd50_mmctx.pth
#      (backbone.* keys, loaded with prefix='backbone.')
#   3. python tools/train.py \
#          configs/cotnet/cascade-mask-rcnn_se-cotnetd50_fpn_1x_coco.py
_base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'
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
