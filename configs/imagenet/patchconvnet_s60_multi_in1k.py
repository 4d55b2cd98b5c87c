# PatchConvNet-S60 with one class token per ImageNet class (deit's
# S60_multi) as a classifier, for tools/analysis/vis_attention.py: it draws
# each class token's attention map (the paper's per-class maps).
#
#   python tools/model_converters/patchconvnet2mmctx.py S60_multi.pth \
#       checkpoints/patchconvnet_s60_multi_in1k_mmctx.pth --with-head
#   python tools/analysis/vis_attention.py \
#       configs/imagenet/patchconvnet_s60_multi_in1k.py \
#       checkpoints/patchconvnet_s60_multi_in1k_mmctx.pth IMAGE --out vis/
custom_imports = dict(
    imports=['mmctx', 'mmctx.analysis.complexity'],
    allow_failed_imports=False)
default_scope = 'mmdet'  # the tools' config reader asks for one
model = dict(
    type='ImageNetClassifier',
    backbone=dict(type='PatchConvNet', arch='S60', out_indices=(2, )),
    channels=384,
    num_classes=1000,
    pool='attention',
    num_tokens=1000)
input_size = 224  # the image is resized to input_size x input_size
