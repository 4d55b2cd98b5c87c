"""Pooling layers that replace global average pooling."""
from .attention_pool import AttentionPool

__all__ = ['AttentionPool']
