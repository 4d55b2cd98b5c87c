"""Backbones."""
from .ctx_resnet import AAResNet, BoTNet, CoTNet, CoTNeXt, CtxResNet
from .patchconvnet import PatchConvNet
from .se_cotnetd import AntiAliasedCoTLayer, SECoTNetD, SEConv

__all__ = ['AAResNet', 'BoTNet', 'CoTNet', 'CoTNeXt', 'CtxResNet',
           'PatchConvNet', 'SECoTNetD', 'SEConv', 'AntiAliasedCoTLayer']
