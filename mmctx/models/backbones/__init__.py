"""Backbones."""
from .ctx_resnet import BoTNet, CtxResNet

__all__ = ['BoTNet', 'CtxResNet']
