"""Writers for the demo data sets, in the layouts mmdet and mmseg read.

- :func:`write_coco_instances`: ``<root>/{train,val}/*.jpg`` and
  ``<root>/annotations/instances_{train,val}.json`` with one category per
  scene class and compressed-RLE masks (exact under occlusion), read by
  mmdet's own ``CocoDataset``.
- :func:`write_ade_semantic`: ``<root>/images/{training,validation}/*.jpg``
  and ``<root>/annotations/{training,validation}/*.png`` with ADE20k's label
  convention (0 = unlabelled, ``k`` = class ``k - 1`` after mmseg's
  ``reduce_zero_label``), read by mmseg's own ``ADE20KDataset``.

Both are deterministic functions of their seed.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from .scenes import CLASSES, render_scene

#: ADE20k class (PNG value = 1-based ADE20k id) standing in for the
#: backdrop and each scene class in the semantic set.
ADE_STAND_INS = dict(
    backdrop=('wall', 1),
    disc=('plate', 143),
    box=('box', 42),
    triangle=('signboard', 44),
    star=('flower', 67),
    ring=('clock', 149))
def _check(num_images: int, size: Tuple[int, int]) -> None:
    if num_images < 1:
        raise ValueError(f'number of images must be >= 1, got {num_images}')
    if len(size) != 2 or min(size) < 32:
        raise ValueError(f'size must be (height, width) with both >= 32, '
                         f'got {size}')


def _coco_annotations(objects, image_id: int, first_id: int) -> List[Dict]:
    annotations = []
    for offset, obj in enumerate(objects):
        rle = mask_utils.encode(np.asfortranarray(obj.mask.astype(np.uint8)))
        x, y, w, h = mask_utils.toBbox(rle).tolist()
        annotations.append(
            dict(
                id=first_id + offset,
                image_id=image_id,
                category_id=obj.label + 1,
                bbox=[x, y, w, h],
                area=float(mask_utils.area(rle)),
                segmentation=dict(
                    size=rle['size'], counts=rle['counts'].decode('ascii')),
                iscrowd=0))
    return annotations


def write_coco_instances(root: str,
                         num_train: int = 200,
                         num_val: int = 40,
                         size: Tuple[int, int] = (256, 256),
                         max_objects: int = 5,
                         seed: int = 0) -> Dict[str, str]:
    """Write a COCO-format instance-segmentation set.

    Args:
        root: Output folder (created).
        num_train: Training images.
        num_val: Validation images.
        size: ``(height, width)`` of every image.
        max_objects: Most objects per image.
        seed: Seed of the scene generator.

    Returns:
        Paths of the two annotation files by split name.
    """
    outputs = {}
    for split, count, split_seed in (('train', num_train, seed),
                                     ('val', num_val, seed + 1)):
        _check(count, size)
        rng = np.random.default_rng(split_seed)
        os.makedirs(osp.join(root, split), exist_ok=True)
        images, annotations = [], []
        for index in range(count):
            image, objects = render_scene(rng, size, max_objects)
            name = f'{index:06d}.jpg'
            Image.fromarray(image).save(
                osp.join(root, split, name), quality=95)
            images.append(
                dict(id=index, file_name=name, height=size[0],
                     width=size[1]))
            annotations += _coco_annotations(objects, index,
                                             len(annotations) + 1)
        categories = [
            dict(id=i + 1, name=name, supercategory='shape')
            for i, name in enumerate(CLASSES)
        ]
        path = osp.join(root, 'annotations', f'instances_{split}.json')
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(
                dict(images=images, annotations=annotations,
                     categories=categories), f)
        outputs[split] = path
    return outputs


def write_ade_semantic(root: str,
                       num_train: int = 200,
                       num_val: int = 40,
                       size: Tuple[int, int] = (256, 256),
                       max_objects: int = 5,
                       seed: int = 0) -> Dict[str, str]:
    """Write an ADE20k-layout semantic-segmentation set.

    Args:
        root: Output folder (created); it plays ``ADEChallengeData2016``.
        num_train: Training images.
        num_val: Validation images.
        size: ``(height, width)`` of every image.
        max_objects: Most objects per image.
        seed: Seed of the scene generator.

    Returns:
        Annotation folders by split name.
    """
    outputs = {}
    for split, count, split_seed in (('training', num_train, seed),
                                     ('validation', num_val, seed + 1)):
        _check(count, size)
        rng = np.random.default_rng(split_seed)
        image_dir = osp.join(root, 'images', split)
        label_dir = osp.join(root, 'annotations', split)
        os.makedirs(image_dir, exist_ok=True)
        os.makedirs(label_dir, exist_ok=True)
        for index in range(count):
            image, objects = render_scene(rng, size, max_objects)
            labels = np.full(size, ADE_STAND_INS['backdrop'][1], np.uint8)
            for obj in objects:
                labels[obj.mask] = ADE_STAND_INS[CLASSES[obj.label]][1]
            stem = f'ADE_{split}_{index:08d}'
            Image.fromarray(image).save(
                osp.join(image_dir, stem + '.jpg'), quality=95)
            Image.fromarray(labels).save(osp.join(label_dir, stem + '.png'))
        outputs[split] = label_dir
    return outputs
