# PatchConvNet-B60 on ImageNet-1k. Reported: 99.4M params, 15.8 GFLOPs, 83.5
# top-1 at 224 (deit README_patchconvnet.md).
#
# Everything but the model is patchconvnet-s60_32xb64_in1k.py (sources and
# UNVERIFIED items there: the per-model stochastic depth is not known, the
# main.py default 0.1 is kept). B60 starts its LayerScales, the pooling
# block's included, at 1e-6 (patchconvnet_models.py).
_base_ = './patchconvnet-s60_32xb64_in1k.py'

model = dict(
    backbone=dict(arch='B60'),
    neck=dict(in_channels=768, layer_scale_init=1e-6),
    head=dict(in_channels=768))
