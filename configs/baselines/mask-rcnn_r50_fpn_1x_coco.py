# Mask R-CNN R50-FPN, 1x on COCO: mmdet's own baseline, unchanged, for
# like-with-like comparison with the context configs beside it.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
