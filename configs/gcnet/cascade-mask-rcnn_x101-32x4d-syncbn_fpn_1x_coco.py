# mmdet's gcnet/cascade-mask-rcnn_x101-32x4d-syncbn_fpn_1x_coco.py, unchanged:
# the SyncBN baseline (no GC blocks) of mmdet's GCNet table, for
# like-with-like comparison with the GC configs beside it.
_base_ = 'mmdet::gcnet/cascade-mask-rcnn_x101-32x4d-syncbn_fpn_1x_coco.py'
