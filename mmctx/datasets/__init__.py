"""Demo data writers (COCO-format instances, ADE20k-layout semantic maps)."""
from .demo_data import ADE_STAND_INS, write_ade_semantic, write_coco_instances
from .scenes import CLASSES, render_scene

__all__ = [
    'ADE_STAND_INS', 'CLASSES',
    'render_scene', 'write_ade_semantic', 'write_coco_instances'
]
