# Mask R-CNN R50-FPN 1x with AA-ResNet-50: attention-augmented 3x3 convs in
# every bottleneck of c3-c5. Only the backbone type differs from
# baselines/mask-rcnn_r50_fpn_1x_coco.py; torchvision://resnet50 initialises everything but
# the augmented conv2 layers.
#
# ImageNet pretraining (no official AA-ResNet weights: the checkpoint above
# leaves every attention branch random):
#   python tools/train.py configs/classification/aa-resnet50_8xb32_in1k.py
#   python tools/model_converters/resize_rel_tables.py \
#       work_dirs/aa-resnet50_8xb32_in1k/epoch_100.pth \
#       checkpoints/aa-resnet50_in1k.pth --input-size 224 \
#       --max-size layer2=168 layer3=84 layer4=42
# (tables trained at 224, lengthened from that config's max_input_size 224
# to the default 1344 here), then start from it instead:
#   model = dict(backbone=dict(init_cfg=dict(type='Pretrained',
#       checkpoint='checkpoints/aa-resnet50_in1k.pth', prefix='backbone.')))
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(backbone=dict(type='AAResNet', heads=8, kappa=0.2, upsilon=0.1))
