# RetinaNet R50-FPN, 1x on COCO: mmdet's own baseline, unchanged, for
# like-with-like comparison with aa/retinanet_aa-r50_fpn_1x_coco.py.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
