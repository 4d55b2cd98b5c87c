# GCNet's wider variant: GC ratio 1/4 in c3-c5.
_base_ = './mask_rcnn_gc_r50_fpn.py'
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='GCBlock', ratio=1. / 4),
            stages=(False, True, True, True),
            position='after_conv3')
    ]))
