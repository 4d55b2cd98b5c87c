"""Demo data: deterministic, exact masks under occlusion, and read by mmdet's
CocoDataset and mmseg's ADE20KDataset as they are."""
import filecmp
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image
from pycocotools import mask as mask_utils

from mmctx.datasets import (ADE_STAND_INS, CLASSES, render_scene,
                            write_ade_semantic, write_coco_instances)
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
