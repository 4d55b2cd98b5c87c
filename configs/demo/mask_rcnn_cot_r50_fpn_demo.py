# CPU-scale CoTNet Mask R-CNN on the demo data: the demo GC Mask R-CNN with
# the backbone of ../cotnet/mask-rcnn_cotnet50_fpn_1x_coco.py (no GC blocks).
_base_ = './mask_rcnn_gc_r50_fpn_demo.py'
model = dict(backbone=dict(type='CoTNet', plugins=None))
