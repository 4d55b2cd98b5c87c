# Mask R-CNN with a PatchConvNet-S60 backbone and FPN, 1x on COCO. The
# columnar stride-16 trunk feeds FPN through the backbone's simple pyramid
# (strides 4/8/16/32, 384 channels each), so only the backbone and FPN's
# in_channels differ from baselines/mask-rcnn_r50_fpn_1x_coco.py. The paper's detection
# schedule and optimizer are not verified here: mmdet's 1x SGD schedule is
# kept. No ImageNet PatchConvNet checkpoint is available offline, so the
# backbone starts from random weights (init_cfg=None); give a Pretrained
# init_cfg to fine-tune from one.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
embed_dims = 384
model = dict(
    backbone=dict(
        _delete_=True,
        type='PatchConvNet',
        arch='S60',
        out_indices=(0, 1, 2, 3),
        init_cfg=None),
    neck=dict(in_channels=[embed_dims] * 4))
