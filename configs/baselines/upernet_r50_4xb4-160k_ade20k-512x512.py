# UperNet R50 (ResNetV1c), 512x512 crops, 160k iterations on ADE20k:
# mmseg's own baseline, unchanged.
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
