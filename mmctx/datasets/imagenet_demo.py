"""Writer of the classification demo set, in mmpretrain's ImageNet layout.

:func:`write_imagenet_folders` draws one shape of a scene class per image
(:func:`~mmctx.datasets.scenes.render_object`, in plain colours unless
asked for the detection scenes' textures) and writes::

    <root>/train/<class>/<class>_<index>.png   one folder per class
    <root>/val/val_<index>.png                 flat
    <root>/meta/train.txt, meta/val.txt        '<path> <label>' lines
    <root>/meta/classes.txt                    class names, label order

which mmpretrain's own ``ImageNet`` dataset reads with ``split='train'`` /
``split='val'``. As in ImageNet, where the labels follow the sorted
synset folders, a label indexes :data:`IMAGENET_CLASSES`, the scene
classes sorted by name. Both splits hold the classes in equal shares (up
to one image) in a seeded random order: the set is a deterministic
function of its seed.
"""
import os
import os.path as osp
from typing import Dict, Tuple

import numpy as np
from PIL import Image

from .demo_data import _check
from .scenes import CLASSES, render_object

#: Class names in label order: the scene classes sorted by name, the order
#: of the ``train/`` folders.
IMAGENET_CLASSES = tuple(sorted(CLASSES))


def write_imagenet_folders(root: str,
                           num_train: int = 6000,
                           num_val: int = 200,
                           size: Tuple[int, int] = (48, 48),
                           scale: Tuple[float, float] = (0.25, 0.45),
                           textured: bool = False,
                           seed: int = 0) -> Dict[str, str]:
    """Write an ImageNet-layout classification set of single shapes.

    Args:
        root: Output folder (created); it plays ``data/imagenet``.
        num_train: Training images.
        num_val: Validation images.
        size: ``(height, width)`` of every image.
        scale: Range of a shape's radius as a fraction of the shorter side.
        textured: Whether to texture backdrop and shape as the detection
            scenes are (default: one colour each, which a small network
            trained from scratch learns in minutes; textured shapes take
            it far longer).
        seed: Seed of the generator (the val split uses ``seed + 1``).

    Returns:
        Paths of the ``meta/<split>.txt`` label files by split name.

    Raises:
        ValueError: For fewer than one image or a side under 32 pixels.
    """
    meta = osp.join(root, 'meta')
    os.makedirs(meta, exist_ok=True)
    with open(osp.join(meta, 'classes.txt'), 'w') as f:
        f.write(''.join(f'{name}\n' for name in IMAGENET_CLASSES))
    outputs = {}
    for split, count, split_seed in (('train', num_train, seed),
                                     ('val', num_val, seed + 1)):
        _check(count, size)
        rng = np.random.default_rng(split_seed)
        labels = rng.permutation(np.arange(count) % len(IMAGENET_CLASSES))
        lines = []
        for index, label in enumerate(labels.tolist()):
            name = IMAGENET_CLASSES[label]
            image, _ = render_object(rng, size, CLASSES.index(name), scale,
                                     textured)
            if split == 'train':
                path = f'{name}/{name}_{index:06d}.png'
            else:
                path = f'val_{index:06d}.png'
            os.makedirs(osp.dirname(osp.join(root, split, path)),
                        exist_ok=True)
            Image.fromarray(image).save(osp.join(root, split, path))
            lines.append(f'{path} {label}\n')
        outputs[split] = osp.join(meta, f'{split}.txt')
        with open(outputs[split], 'w') as f:
            f.writelines(lines)
    return outputs
