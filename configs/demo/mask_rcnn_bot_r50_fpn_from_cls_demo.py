# mask_rcnn_bot_r50_fpn_demo.py fine-tuned from the classifier of
# bot_r50_cls_demo.py: the ImageNet-pretraining path of
# ../botnet/mask-rcnn_bot50_fpn_1x_coco.py at demo scale (`make demo-cls`):
#
#   python tools/train.py configs/demo/bot_r50_cls_demo.py
#   python tools/model_converters/resize_rel_tables.py \
#       work_dirs/bot_r50_cls_demo/iter_2000.pth \
#       work_dirs/bot_r50_cls_demo/backbone_rel_tables.pth \
#       --input-size 48 --max-size 84
#   python tools/train.py configs/demo/mask_rcnn_bot_r50_fpn_from_cls_demo.py
#
# The classifier's MHSA tables hold offsets up to 13 (max_size 14) and only
# trained those of its 48x48 inputs (3x3 before the c5 stride, 2x2 after);
# resize_rel_tables.py lengthens them to this BoTNet's max_size 84 and
# gives every farther offset the outermost trained row, and
# `prefix='backbone.'` takes the backbone out of the ImageClassifier
# checkpoint (its head is left out). Changed from the from-scratch demo:
# init and a shorter schedule (300 steps).
_base_ = './mask_rcnn_bot_r50_fpn_demo.py'

max_iters = 300
model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='work_dirs/bot_r50_cls_demo/backbone_rel_tables.pth',
            prefix='backbone.')))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50,
         end=max_iters, eta_min_ratio=0.01)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
