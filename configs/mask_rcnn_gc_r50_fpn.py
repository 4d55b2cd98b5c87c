# The GC Mask R-CNN of the card, `python tools/train.py
# configs/mask_rcnn_gc_r50_fpn.py`: Mask R-CNN R50-FPN 1x with GC blocks
# (r16) in c3-c5, the config in gcnet/ under its model-zoo name.
_base_ = './gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py'
