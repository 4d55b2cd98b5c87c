"""A tiny classification set in mmpretrain's ImageNet layout, for tests.

:func:`write_tiny_imagenet` writes::

    <root>/train/<class>/<class>_<index>.png   one folder per class
    <root>/val/val_<index>.png                 flat
    <root>/meta/val.txt                        '<path> <label>' lines

so that ``ImageNet(split='train')`` reads classes from the folders (there is
no ``meta/train.txt``) and ``ImageNet(split='val')`` reads
``meta/val.txt``. Class ``c`` is a noisy image whose channel ``c`` (RGB) is
bright: a few training steps of a small network separate them.
"""
import os
import os.path as osp
from typing import List, Tuple

import numpy as np
from PIL import Image

#: Class names in label order (sorted, as the class folders are read).
CLASSES = ('blue', 'green', 'red')
#: The RGB channel that is bright in each class.
CHANNELS = {'red': 0, 'green': 1, 'blue': 2}


def draw(rng: np.random.Generator, label: int, size: int) -> np.ndarray:
    """One ``size`` x ``size`` RGB image of class ``label``.

    Args:
        rng: Random generator.
        label: Index into :data:`CLASSES`.
        size: Side length in pixels.

    Returns:
        A uint8 ``(size, size, 3)`` array.
    """
    image = rng.integers(0, 90, (size, size, 3))
    image[..., CHANNELS[CLASSES[label]]] += 150
    return image.astype(np.uint8)


def write_tiny_imagenet(root: str,
                        num_train: int = 6,
                        num_val: int = 4,
                        size: int = 40,
                        seed: int = 0) -> List[Tuple[str, int]]:
    """Write the set under ``root`` (it plays ``data/imagenet``).

    Args:
        root: Output folder (created).
        num_train: Training images per class.
        num_val: Validation images per class.
        size: Side length of every image.
        seed: Seed of the generator.

    Returns:
        The validation samples as ``(path under root/val, label)``, in the
        order of ``meta/val.txt``.
    """
    rng = np.random.default_rng(seed)
    for label, name in enumerate(CLASSES):
        os.makedirs(osp.join(root, 'train', name))
        for index in range(num_train):
            Image.fromarray(draw(rng, label, size)).save(
                osp.join(root, 'train', name, f'{name}_{index}.png'))
    os.makedirs(osp.join(root, 'val'))
    os.makedirs(osp.join(root, 'meta'))
    labels = rng.permutation(np.arange(num_val * len(CLASSES)) % len(CLASSES))
    samples = []
    for index, label in enumerate(labels.tolist()):
        path = f'val_{index}.png'
        Image.fromarray(draw(rng, label, size)).save(
            osp.join(root, 'val', path))
        samples.append((path, label))
    with open(osp.join(root, 'meta', 'val.txt'), 'w') as f:
        f.writelines(f'{path} {label}\n' for path, label in samples)
    return samples


#: A tiny classifier on that set: a quarter-width ResNet-18 with GC blocks
#: in stages 2-4, mmpretrain's ImageNet dataset and Accuracy metric.
CONFIG = """\
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
classes = {classes!r}
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        num_classes=3, mean=[127.5] * 3, std=[64.0] * 3, to_rgb=True),
    backbone=dict(
        type='CtxResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        out_indices=(3, ),
        plugins=[
            dict(
                cfg=dict(type='GCBlock', ratio=1. / 4),
                stages=(False, True, True, True),
                position='after_conv2')
        ]),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=3,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 2)))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=36, edge='short'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
train_pipeline = test_pipeline[:3] + [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=6,
    num_workers=0,
    dataset=dict(
        type='ImageNet',
        data_root={data_root!r},
        split='train',
        classes=classes,
        pipeline=train_pipeline),
    sampler=dict(type='InfiniteSampler', shuffle=True))
val_dataloader = dict(
    batch_size=6,
    num_workers=0,
    dataset=dict(
        type='ImageNet',
        data_root={data_root!r},
        split='val',
        classes=classes,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, 2))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters={max_iters},
    val_interval={max_iters})
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(
        type='CheckpointHook', interval={max_iters}, by_epoch=False))
log_processor = dict(by_epoch=False, window_size=1)
randomness = dict(seed=0)
"""


def write_config(path: str, data_root: str, max_iters: int = 12) -> str:
    """Write :data:`CONFIG` for the set at ``data_root``.

    Args:
        path: Config file to write.
        data_root: Folder written by :func:`write_tiny_imagenet`.
        max_iters: Training steps (a checkpoint is saved after the last).

    Returns:
        ``path``.
    """
    with open(path, 'w') as f:
        f.write(CONFIG.format(classes=CLASSES, data_root=data_root,
                              max_iters=max_iters))
    return path
