# UperNet with an SE-CoTNetD-50 backbone, 512x512, 160k on ADE20k. Only the
# backbone differs from baselines/upernet_r50_4xb4-160k_ade20k-512x512.py
# (SyncBN, BN in train mode, as mmseg's ResNetV1c there; the CoTNet authors
# publish no segmentation recipe); it starts from the official ImageNet
# weights:
#
#   1. mkdir -p checkpoints
#      gdown 1D2b5fr3lxpBpiFcCYBKngmmSgfVHt_56 \
#          -O checkpoints/se_cotnetd_50.pth.tar
#      (the "SE-CoTNetD-50" Google Drive link of the JDAI-CV/CoTNet README)
#   2. python tools/model_converters/cotnet2mmctx.py \
#          checkpoints/se_cotnetd_50.pth.tar \
#          checkpoints/se_cotnetd50_mmctx.pth
#      (backbone.* keys, loaded with prefix='backbone.')
#   3. tools/dist_train.sh CONFIG 4, CONFIG being this file (4 GPUs, as
#      mmseg's 4xb4 schedule; one GPU: python tools/train.py CONFIG)
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='SECoTNetD',
        depth=50,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/se_cotnetd50_mmctx.pth',
            prefix='backbone.')))
