# CPU-scale GC + BoTNet Mask R-CNN: the demo GC Mask R-CNN with the backbone
# of ../botnet/mask-rcnn_bot50-gcb-r16-c3-c4_fpn_1x_coco.py (GC in c3-c4, MHSA in c5).
_base_ = './mask_rcnn_gc_r50_fpn_demo.py'
model = dict(
    backbone=dict(
        plugins=[
            dict(
                cfg=dict(type='GCBlock', ratio=1. / 16),
                stages=(False, True, True, False),
                position='after_conv3')
        ],
        mixers=(None, None, None, dict(type='MHSA', heads=4))))
