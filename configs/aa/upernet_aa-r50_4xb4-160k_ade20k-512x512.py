# UperNet with an AA-ResNet-50 backbone (ResNetV1c stem, attention-augmented
# 3x3 convs in c3-c5), 512x512, 160k on ADE20k: the backbone of
# gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py with attention augmentation instead of GC blocks;
# open-mmlab://resnet50_v1c initialises all but the augmented conv2 layers.
#
# ImageNet pretraining (no official AA-ResNet weights: the checkpoint above
# leaves every attention branch random); the classifier takes this
# config's ResNetV1c stem:
#   python tools/train.py configs/classification/aa-resnet50_8xb32_in1k.py \
#       --cfg-options model.backbone.deep_stem=True
#   python tools/model_converters/resize_rel_tables.py \
#       work_dirs/aa-resnet50_8xb32_in1k/epoch_100.pth \
#       checkpoints/aa-resnet50-v1c_in1k.pth \
#       --input-size 224 --max-size layer2=168 layer3=84 layer4=42
# then replace the checkpoint above:
#   model = dict(pretrained=None, backbone=dict(init_cfg=dict(
#       type='Pretrained', checkpoint='checkpoints/aa-resnet50-v1c_in1k.pth',
#       prefix='backbone.')))
_base_ = '../gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py'
model = dict(
    backbone=dict(
        type='AAResNet', heads=8, kappa=0.2, upsilon=0.1, plugins=None))
