# UperNet with a BoTNet-50 backbone (ResNetV1c stem, MHSA in c5), 512x512,
# 160k on ADE20k: the backbone of gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py with MHSA in c5
# instead of GC blocks; open-mmlab://resnet50_v1c initialises all but the c5
# conv2 layers. Everything else is baselines/upernet_r50_4xb4-160k_ade20k-512x512.py.
#
# ImageNet pretraining (no official BoTNet weights: the checkpoint above
# leaves every MHSA layer random); the classifier takes this config's
# ResNetV1c stem:
#   python tools/train.py configs/classification/bot50_8xb32_in1k.py \
#       --cfg-options model.backbone.deep_stem=True
#   python tools/model_converters/resize_rel_tables.py \
#       work_dirs/bot50_8xb32_in1k/epoch_100.pth \
#       checkpoints/bot50-v1c_in1k.pth \
#       --input-size 224 --max-size 84
# then replace the checkpoint above:
#   model = dict(pretrained=None, backbone=dict(init_cfg=dict(
#       type='Pretrained', checkpoint='checkpoints/bot50-v1c_in1k.pth',
#       prefix='backbone.')))
_base_ = '../gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py'
model = dict(backbone=dict(type='BoTNet', heads=4, plugins=None))
