# GCNet's wider variant: GC ratio 1/4 in c3-c5.
_base_ = './mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py'
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='GCBlock', ratio=1. / 4),
            stages=(False, True, True, True),
            position='after_conv3')
    ]))
