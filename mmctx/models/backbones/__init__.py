"""Backbones."""
from .ctx_resnet import AAResNet, BoTNet, CoTNet, CoTNeXt, CtxResNet
from .patchconvnet import PatchConvNet

__all__ = ['AAResNet', 'BoTNet', 'CoTNet', 'CoTNeXt', 'CtxResNet',
           'PatchConvNet']
