"""Backbones."""
from .ctx_resnet import CtxResNet

__all__ = ['CtxResNet']
