# UperNet with a CoTNet-50 backbone, 512x512, 160k on ADE20k. The backbone
# is the official CoTNet-50 (plain 7x7 stem and max-pool, strided 1x1
# shortcuts: the layout its ImageNet weights fit, unlike ResNetV1c's deep
# stem) with SyncBN in train mode as
# baselines/upernet_r50_4xb4-160k_ade20k-512x512.py, whose head, data and
# schedule are kept (the CoTNet authors publish no segmentation recipe).
# Weights:
#
#   1. mkdir -p checkpoints
#      gdown 1SR5ezIu7LN943zHaUh4mC0ehxBVMqtfv \
#          -O checkpoints/cotnet50.pth.tar
#      (the "CoTNet-50" Google Drive link of the JDAI-CV/CoTNet README)
#   2. python tools/model_converters/cotnet2mmctx.py \
#          checkpoints/cotnet50.pth.tar checkpoints/cotnet50_mmctx.pth
#      (backbone.* keys, loaded with prefix='backbone.')
#   3. tools/dist_train.sh CONFIG 4, CONFIG being this file (4 GPUs, as
#      mmseg's 4xb4 schedule; one GPU: python tools/train.py CONFIG)
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='CoTNet',
        depth=50,
        deep_stem=False,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/cotnet50_mmctx.pth',
            prefix='backbone.')))
