# CPU-scale BoTNet Cascade Mask R-CNN: the demo GC cascade with the backbone
# of ../botnet/cascade-mask-rcnn_bot50_fpn_1x_coco.py.
_base_ = './cascade_mask_rcnn_gc_r50_fpn_demo.py'
model = dict(backbone=dict(type='BoTNet', heads=4, plugins=None))
