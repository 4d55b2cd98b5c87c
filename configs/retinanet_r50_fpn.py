# RetinaNet R50-FPN, 1x on COCO: mmdet's own baseline, unchanged, for
# like-with-like comparison with retinanet_aa_r50_fpn.py.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
