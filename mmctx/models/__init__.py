"""Blocks and backbones; importing this module registers them."""
from .attention import AttentionMap, attention_sources, capture_attention
from .backbones import BoTNet, CoTNet, CoTNeXt, CtxResNet
from .mixers import MHSA, CoTLayer, CoXtLayer
from .plugins import (GCBlock, NonLocalBlock, SEBlock,
                      SimplifiedNonLocalBlock)

__all__ = [
    'AttentionMap', 'attention_sources', 'capture_attention', 'BoTNet',
    'CoTNet', 'CoTNeXt', 'CoTLayer', 'CoXtLayer', 'CtxResNet', 'MHSA',
    'GCBlock', 'NonLocalBlock', 'SEBlock', 'SimplifiedNonLocalBlock'
]
