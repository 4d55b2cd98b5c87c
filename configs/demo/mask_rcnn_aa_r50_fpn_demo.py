# CPU-scale AA Mask R-CNN on the demo data: the demo GC Mask R-CNN with the
# backbone of ../aa/mask-rcnn_aa-r50_fpn_1x_coco.py (attention-augmented c3-c5, no GC).
_base_ = './mask_rcnn_gc_r50_fpn_demo.py'
model = dict(
    backbone=dict(
        type='AAResNet', heads=8, kappa=0.2, upsilon=0.1, plugins=None))
