# mmdet's gcnet/mask-rcnn_r50-syncbn_fpn_1x_coco.py, unchanged:
# the SyncBN baseline (no GC blocks) of mmdet's GCNet table, for
# like-with-like comparison with the GC configs beside it.
_base_ = 'mmdet::gcnet/mask-rcnn_r50-syncbn_fpn_1x_coco.py'
