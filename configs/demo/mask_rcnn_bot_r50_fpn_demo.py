# CPU-scale BoTNet Mask R-CNN on the demo data: the demo GC Mask R-CNN with
# the backbone of ../botnet/mask-rcnn_bot50_fpn_1x_coco.py (MHSA in c5, no GC blocks).
_base_ = './mask_rcnn_gc_r50_fpn_demo.py'
model = dict(backbone=dict(type='BoTNet', heads=4, plugins=None))
