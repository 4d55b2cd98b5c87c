# CPU-scale SE-CoTNetD-50 Mask R-CNN on the demo data: the demo GC Mask R-CNN
# (data, 64-channel heads, short schedule) with the full-width backbone of
# ../cotnet/mask-rcnn_se-cotnetd50_fpn_1x_coco.py, trained from scratch (no ImageNet
# weights offline), unfrozen, BN in train mode.
_base_ = './mask_rcnn_gc_r50_fpn_demo.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='SECoTNetD',
        depth=50,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
