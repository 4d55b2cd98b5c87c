"""Blocks and backbones; importing this module registers them."""
from .attention import AttentionMap, attention_sources, capture_attention
from .backbones import BoTNet, CtxResNet
from .mixers import MHSA
from .plugins import (GCBlock, NonLocalBlock, SEBlock,
                      SimplifiedNonLocalBlock)

__all__ = [
    'AttentionMap', 'attention_sources', 'capture_attention', 'BoTNet',
    'CtxResNet', 'MHSA',
    'GCBlock', 'NonLocalBlock', 'SEBlock', 'SimplifiedNonLocalBlock'
]
