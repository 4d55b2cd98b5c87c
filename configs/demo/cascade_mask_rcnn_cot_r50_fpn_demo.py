# CPU-scale CoTNet Cascade Mask R-CNN: the demo GC cascade with the backbone
# of ../cotnet/cascade-mask-rcnn_cotnet50_fpn_1x_coco.py.
_base_ = './cascade_mask_rcnn_gc_r50_fpn_demo.py'
model = dict(backbone=dict(type='CoTNet', plugins=None))
