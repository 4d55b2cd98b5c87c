# mmdet's gcnet/cascade-mask-rcnn_x101-32x4d-syncbn-r4-gcb-c3-c5_fpn_1x_coco
# with mmctx's GCBlock: the r16 config beside it with GC ratio 1/4.
_base_ = './cascade-mask-rcnn_x101-32x4d-syncbn-r16-gcb-c3-c5_fpn_1x_coco.py'
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='GCBlock', ratio=1. / 4),
            stages=(False, True, True, True),
            position='after_conv3')
    ]))
