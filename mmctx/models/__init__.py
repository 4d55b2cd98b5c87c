"""Blocks and backbones; importing this module registers them."""
from .attention import AttentionMap, attention_sources, capture_attention
from .backbones import CtxResNet
from .plugins import (GCBlock, NonLocalBlock, SEBlock,
                      SimplifiedNonLocalBlock)

__all__ = [
    'AttentionMap', 'attention_sources', 'capture_attention', 'CtxResNet',
    'GCBlock', 'NonLocalBlock', 'SEBlock', 'SimplifiedNonLocalBlock'
]
