# mmdet's gcnet/mask-rcnn_r101-syncbn-gcb-r16-c3-c5_fpn_1x_coco.py with
# mmctx's GCBlock: the R101 GC r16 config beside it with synchronised BN in
# the backbone, updated during training (norm_eval=False).
_base_ = './mask-rcnn_r101-gcb-r16-c3-c5_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='SyncBN', requires_grad=True), norm_eval=False))
