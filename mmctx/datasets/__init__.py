"""Demo data writers (COCO-format instances, ADE20k-layout semantic maps,
ImageNet-layout single-shape classification)."""
from .demo_data import ADE_STAND_INS, write_ade_semantic, write_coco_instances
from .imagenet_demo import IMAGENET_CLASSES, write_imagenet_folders
from .scenes import CLASSES, render_object, render_scene

__all__ = [
    'ADE_STAND_INS', 'CLASSES', 'IMAGENET_CLASSES', 'render_object',
    'render_scene', 'write_ade_semantic', 'write_coco_instances',
    'write_imagenet_folders'
]
