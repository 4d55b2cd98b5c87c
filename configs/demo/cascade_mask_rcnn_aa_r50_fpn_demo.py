# CPU-scale AA Cascade Mask R-CNN on the demo data: the demo GC Cascade
# Mask R-CNN with the backbone of ../aa/cascade-mask-rcnn_aa-r50_fpn_1x_coco.py.
_base_ = './cascade_mask_rcnn_gc_r50_fpn_demo.py'
model = dict(
    backbone=dict(
        type='AAResNet', heads=8, kappa=0.2, upsilon=0.1, plugins=None))
