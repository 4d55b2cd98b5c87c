"""Backbones."""
from .ctx_resnet import BoTNet, CoTNet, CoTNeXt, CtxResNet

__all__ = ['BoTNet', 'CoTNet', 'CoTNeXt', 'CtxResNet']
