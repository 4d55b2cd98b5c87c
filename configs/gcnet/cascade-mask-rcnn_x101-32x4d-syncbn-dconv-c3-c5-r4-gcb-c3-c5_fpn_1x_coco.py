# mmdet's gcnet/cascade-mask-rcnn_x101-32x4d-syncbn-dconv-c3-c5-r4-gcb-c3-c5
# _fpn_1x_coco.py with mmctx's GCBlock: the X101 SyncBN GC r4 cascade config
# beside it with mmcv's deformable conv (DCN) as the 3x3 conv of every
# bottleneck in c3-c5; GC blocks still follow conv3.
_base_ = './cascade-mask-rcnn_x101-32x4d-syncbn-r4-gcb-c3-c5_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))
