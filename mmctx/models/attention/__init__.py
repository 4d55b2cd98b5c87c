"""Primitives shared by several blocks."""
from .observer import (AttentionMap, AttentionSource, attention_sources,
                       capture_attention)
from .softmax_pool import softmax_pool

__all__ = [
    'AttentionMap', 'AttentionSource', 'attention_sources',
    'capture_attention', 'softmax_pool'
]
