# Mask R-CNN R50-FPN 1x with BoTNet's MHSA (4 heads, 2-D relative
# positions) in place of the 3x3 conv of the three c5 bottlenecks. Only the
# backbone type differs from baselines/mask-rcnn_r50_fpn_1x_coco.py; torchvision://resnet50
# still initialises everything but the c5 conv2 layers.
#
# ImageNet pretraining (BoTNet has no official weights: the checkpoint
# above leaves every MHSA layer random):
#   python tools/train.py configs/classification/bot50_8xb32_in1k.py
#   python tools/model_converters/resize_rel_tables.py \
#       work_dirs/bot50_8xb32_in1k/epoch_100.pth checkpoints/bot50_in1k.pth \
#       --input-size 224 --max-size 84
# (tables trained at 224, lengthened from that config's max_size 14 to the
# 84 here), then start from it instead of the checkpoint above:
#   model = dict(backbone=dict(init_cfg=dict(type='Pretrained',
#       checkpoint='checkpoints/bot50_in1k.pth', prefix='backbone.')))
# ../demo/mask_rcnn_bot_r50_fpn_from_cls_demo.py takes this path at demo
# scale (`make demo-cls`).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(backbone=dict(type='BoTNet', heads=4))
