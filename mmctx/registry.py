"""Registration into mmengine's root ``MODELS`` registry.

mmdet, mmseg and mmcv registries are children of mmengine's root registry
and fall back to it when a type is not found in their own scope, so a module
registered here resolves under ``default_scope='mmdet'``, ``'mmseg'`` or no
scope at all.
"""
from mmengine.registry import MODELS

__all__ = ['MODELS']
