# Cascade Mask R-CNN R50-FPN, 1x on COCO: mmdet's own baseline, unchanged.
_base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'
