"""Demo data writers (COCO-format instances, ADE20k-layout semantic maps)."""
from .demo_data import (ADE_METAINFO, COCO_METAINFO, SEMANTIC_CLASSES,
                        write_ade_semantic, write_coco_instances)
from .scenes import CLASSES, render_scene

__all__ = [
    'ADE_METAINFO', 'COCO_METAINFO', 'CLASSES', 'SEMANTIC_CLASSES',
    'render_scene', 'write_ade_semantic', 'write_coco_instances'
]
