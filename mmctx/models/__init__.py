"""Blocks, backbones and classification parts; importing this module
registers them."""
from .attention import AttentionMap, attention_sources, capture_attention
from .backbones import AAResNet, BoTNet, CoTNet, CoTNeXt, CtxResNet
from .backbones import PatchConvNet
from .classification import AttentionPoolNeck, MultiTokenClsHead
from .mixers import MHSA, AAConv, CoTLayer, CoXtLayer
from .plugins import (GCBlock, NonLocalBlock, SEBlock,
                      SimplifiedNonLocalBlock)
from .pooling import AttentionPool

__all__ = [
    'AAConv', 'AAResNet', 'AttentionMap', 'attention_sources',
    'capture_attention', 'BoTNet',
    'CoTNet', 'CoTNeXt', 'CoTLayer', 'CoXtLayer', 'CtxResNet', 'MHSA',
    'GCBlock', 'NonLocalBlock', 'SEBlock', 'SimplifiedNonLocalBlock',
    'PatchConvNet', 'AttentionPool', 'AttentionPoolNeck', 'MultiTokenClsHead'
]
