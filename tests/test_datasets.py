"""Demo data: deterministic, exact masks under occlusion, and read by mmdet's
CocoDataset, mmseg's ADE20KDataset and mmpretrain's ImageNet as they
are."""
import filecmp
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image
from pycocotools import mask as mask_utils

from mmctx.datasets import (ADE_STAND_INS, CLASSES, IMAGENET_CLASSES,
                            render_object, render_scene, write_ade_semantic,
                            write_coco_instances, write_imagenet_folders)
from mmctx.datasets.scenes import MIN_IN_FRAME, MIN_VISIBLE

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMALL = dict(num_train=6, num_val=3, size=(96, 128), seed=5)


def test_same_seed_same_files(tmp_path):
    write_coco_instances(str(tmp_path / 'a'), **SMALL)
    write_coco_instances(str(tmp_path / 'b'), **SMALL)
    for rel in ('annotations/instances_train.json', 'train/000004.jpg',
                'val/000002.jpg'):
        assert filecmp.cmp(tmp_path / 'a' / rel, tmp_path / 'b' / rel,
                           shallow=False)
    write_coco_instances(str(tmp_path / 'c'), **dict(SMALL, seed=6))
    assert not filecmp.cmp(tmp_path / 'a/train/000004.jpg',
                           tmp_path / 'c/train/000004.jpg', shallow=False)


def test_scene_masks_are_disjoint_and_visible():
    rng = np.random.default_rng(0)
    occluded = 0
    for _ in range(30):
        image, objects = render_scene(rng, (120, 100), max_objects=6)
        assert image.shape == (120, 100, 3) and image.dtype == np.uint8
        cover = np.zeros((120, 100), int)
        for obj in objects:
            assert obj.mask.any() and 0 <= obj.label < len(CLASSES)
            cover += obj.mask
        assert cover.max() <= 1  # each pixel belongs to one object at most
        occluded += len(objects) > 1
    assert occluded > 5


def test_objects_are_mostly_in_frame_and_visible():
    """No label on a shape cut to a sliver by the border or by occluders."""
    rng = np.random.default_rng(1)
    fractions = []
    for _ in range(60):
        _, objects = render_scene(rng, (96, 128), max_objects=6)
        fractions += [obj.mask.sum() / obj.full_area for obj in objects]
    assert len(fractions) > 100
    assert min(fractions) >= MIN_IN_FRAME * MIN_VISIBLE
    assert min(fractions) < 0.9  # occlusion and truncation still occur


def test_coco_annotations_match_masks(tmp_path):
    paths = write_coco_instances(str(tmp_path), **SMALL)
    data = json.load(open(paths['train']))
    assert [c['name'] for c in data['categories']] == list(CLASSES)
    assert len(data['images']) == 6 and data['annotations']
    for ann in data['annotations']:
        mask = mask_utils.decode(ann['segmentation'])
        assert mask.shape == (96, 128)
        assert ann['area'] == mask.sum()
        ys, xs = np.nonzero(mask)
        assert ann['bbox'] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                               ys.max() - ys.min() + 1]


def test_mmdet_coco_dataset_reads_it(tmp_path):
    write_coco_instances(str(tmp_path / 'coco'), **SMALL)
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/demo/mask_rcnn_gc_r50_fpn_demo.py'))
    assert tuple(cfg.metainfo['classes']) == CLASSES
    init_default_scope('mmdet')
    from mmdet.registry import DATASETS
    dataset = DATASETS.build(
        dict(cfg.train_dataloader.dataset, data_root=str(tmp_path / 'coco')))
    sample = dataset[0]['data_samples']
    assert len(sample.gt_instances) > 0
    masks = sample.gt_instances.masks.to_ndarray()
    assert masks.shape[0] == len(sample.gt_instances)
    assert masks.any(axis=(1, 2)).all()


def test_mmseg_ade_dataset_reads_it(tmp_path):
    write_ade_semantic(str(tmp_path / 'ade'), **SMALL)
    init_default_scope('mmseg')
    from mmseg.datasets import ADE20KDataset
    ade_classes = ADE20KDataset.METAINFO['classes']
    for name, ade_id in ADE_STAND_INS.values():
        assert ade_classes[ade_id - 1] == name
    png = np.array(Image.open(
        tmp_path / 'ade/annotations/validation/ADE_validation_00000000.png'))
    assert set(np.unique(png)) <= {ade_id for _, ade_id in
                                   ADE_STAND_INS.values()}
    # As ADE20k itself (150 classes) and as the demo config reads it (the six
    # classes that occur, through mmseg's label map).
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/demo/upernet_gc_r50_ade20k_demo.py'))
    demo_classes = cfg.val_dataloader.dataset.metainfo['classes']
    assert sorted(demo_classes) == sorted(n for n, _ in
                                          ADE_STAND_INS.values())
    assert cfg.model.decode_head.num_classes == len(demo_classes)
    assert cfg.model.auxiliary_head.num_classes == len(demo_classes)
    for metainfo, classes in ((None, ade_classes),
                              (cfg.val_dataloader.dataset.metainfo,
                               demo_classes)):
        dataset = ADE20KDataset(
            data_root=str(tmp_path / 'ade'),
            data_prefix=dict(
                img_path='images/validation',
                seg_map_path='annotations/validation'),
            metainfo=metainfo,
            pipeline=cfg.test_pipeline)
        assert len(dataset) == 3
        labels = dataset[0]['data_samples'].gt_sem_seg.data[0].numpy()
        expected = np.vectorize(
            lambda v: classes.index(ade_classes[v - 1]))(png)
        np.testing.assert_array_equal(labels, expected)


@pytest.mark.parametrize('kwargs', [dict(num_train=0), dict(size=(16, 64))])
def test_bad_sizes_are_rejected(tmp_path, kwargs):
    with pytest.raises(ValueError):
        write_coco_instances(str(tmp_path), **dict(SMALL, **kwargs))


CLS_SMALL = dict(num_train=12, num_val=7, size=(48, 56), seed=4)


def read_labels(root, split):
    with open(root / 'meta' / f'{split}.txt') as f:
        return [(path, int(label)) for path, label in
                (line.split() for line in f)]


def test_imagenet_set_holds_the_drawn_shape_under_its_label(
        tmp_path, monkeypatch):
    """Each file shows the shape drawn for it, and its label names that
    shape in IMAGENET_CLASSES order (the sorted folder order)."""
    from mmctx.datasets import imagenet_demo
    drawn = []

    def recording(*args, **kwargs):
        image, obj = render_object(*args, **kwargs)
        drawn.append((image, obj.label))
        return image, obj

    monkeypatch.setattr(imagenet_demo, 'render_object', recording)
    paths = write_imagenet_folders(str(tmp_path), **CLS_SMALL)
    assert paths == {split: str(tmp_path / 'meta' / f'{split}.txt')
                     for split in ('train', 'val')}
    assert IMAGENET_CLASSES == tuple(sorted(CLASSES))
    assert (tmp_path / 'meta/classes.txt').read_text().split() == list(
        IMAGENET_CLASSES)
    records = [('train', *r) for r in read_labels(tmp_path, 'train')] + [
        ('val', *r) for r in read_labels(tmp_path, 'val')]
    assert len(records) == len(drawn) == 12 + 7
    for (split, path, label), (image, shape) in zip(records, drawn):
        assert IMAGENET_CLASSES[label] == CLASSES[shape]
        if split == 'train':
            assert path.split('/')[0] == IMAGENET_CLASSES[label]
        else:
            assert '/' not in path
        saved = np.array(Image.open(tmp_path / split / path))
        assert saved.shape == (48, 56, 3)
        np.testing.assert_array_equal(saved, image)
    for split, count in (('train', 12), ('val', 7)):
        labels = [label for s, _, label in records if s == split]
        counts = np.bincount(labels, minlength=len(CLASSES))
        assert counts.max() - counts.min() <= 1, (split, counts)
    assert {p.name for p in (tmp_path / 'train').iterdir()} == set(CLASSES)


def test_imagenet_set_is_a_function_of_its_seed(tmp_path):
    write_imagenet_folders(str(tmp_path / 'a'), **CLS_SMALL)
    write_imagenet_folders(str(tmp_path / 'b'), **CLS_SMALL)
    names = sorted(str(p.relative_to(tmp_path / 'a'))
                   for p in (tmp_path / 'a').rglob('*') if p.is_file())
    assert len(names) == 12 + 7 + 3
    for name in names:
        assert filecmp.cmp(tmp_path / 'a' / name, tmp_path / 'b' / name,
                           shallow=False), name
    write_imagenet_folders(str(tmp_path / 'c'), **dict(CLS_SMALL, seed=5))
    assert not filecmp.cmp(tmp_path / 'a/val/val_000003.png',
                           tmp_path / 'c/val/val_000003.png', shallow=False)


def test_mmpretrain_imagenet_dataset_reads_it(tmp_path):
    write_imagenet_folders(str(tmp_path), **CLS_SMALL)
    cfg = Config.fromfile(osp.join(ROOT, 'configs/demo/bot_r50_cls_demo.py'))
    assert tuple(cfg.metainfo['classes']) == IMAGENET_CLASSES
    assert cfg.model.head.num_classes == len(IMAGENET_CLASSES)
    init_default_scope('mmpretrain')
    from mmpretrain.datasets import CustomDataset
    from mmpretrain.registry import DATASETS
    for split, loader in (('train', cfg.train_dataloader),
                          ('val', cfg.val_dataloader)):
        dataset = DATASETS.build(
            dict(loader.dataset, data_root=str(tmp_path)))
        assert type(dataset).__name__ == 'ImageNet'
        assert [(osp.relpath(d['img_path'], tmp_path / split),
                 d['gt_label']) for d in dataset.load_data_list()
                ] == read_labels(tmp_path, split)
        sample = dataset[0]
        assert tuple(sample['inputs'].shape) == (3, 48, 56)
    # Without meta/train.txt the labels come from the sorted class folders,
    # as ImageNet's synset folders give them: the same labels.
    folders = CustomDataset(data_root=str(tmp_path), data_prefix='train',
                            with_label=True)
    assert tuple(folders.CLASSES) == IMAGENET_CLASSES
    assert sorted((osp.relpath(d['img_path'], tmp_path / 'train'),
                   d['gt_label']) for d in folders.load_data_list()
                  ) == sorted(read_labels(tmp_path, 'train'))


def test_make_demo_data_writes_the_imagenet_set_alone(tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'make_demo_data.py'),
         '--out', str(tmp_path), '--sets', 'imagenet', '--num-train', '5',
         '--num-val', '3', '--size', '32', '40'],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['imagenet']
    assert len(read_labels(tmp_path / 'imagenet', 'train')) == 5
    image = Image.open(tmp_path / 'imagenet/val/val_000002.png')
    assert image.size == (40, 32)


@pytest.mark.parametrize('kwargs, match', [
    (dict(label=len(CLASSES)), r'label must index CLASSES.*got 5'),
    (dict(scale=(0.3, 0.2)), r'scale must be.*\(0\.3, 0\.2\)'),
    (dict(scale=(0.2, 0.6)), r'scale must be'),
    (dict(size=(32, 32), scale=(0.01, 0.02)), r'no placement of a disc'),
])
def test_render_object_rejects_bad_arguments(kwargs, match):
    args = dict(dict(size=(64, 64), label=0, scale=(0.2, 0.35)), **kwargs)
    with pytest.raises(ValueError, match=match):
        render_object(np.random.default_rng(0), **args)


@pytest.mark.parametrize('textured', [True, False])
def test_render_object_draws_one_visible_shape(textured):
    rng = np.random.default_rng(2)
    colours = []
    for label in range(len(CLASSES)):
        image, obj = render_object(rng, (64, 64), label, textured=textured)
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        assert obj.label == label
        assert obj.mask.sum() >= MIN_IN_FRAME * obj.full_area
        colours.append(len(np.unique(image[obj.mask], axis=0)))
    # plain: one colour per shape; textured: patterns on most of them
    assert (max(colours) == 1) != textured
