"""Pretrain -> detect at test scale: a tiny BoTNet classifier trained with
tools/train.py on an ImageNet-layout folder, its relative tables resized
for the detection inputs, and a Mask R-CNN started from its backbone with
``init_cfg=dict(type='Pretrained', prefix='backbone.')``."""
import json
import math
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmctx.compat import load_local_checkpoint
from mmctx.datasets import write_imagenet_folders
from conftest import ROOT, SHORT, run_tool

CLS_CONFIG = osp.join(ROOT, 'configs', 'demo', 'bot_r50_cls_demo.py')
DET_CONFIG = osp.join(ROOT, 'configs', 'demo',
                      'mask_rcnn_bot_r50_fpn_from_cls_demo.py')
RESIZE = osp.join(ROOT, 'tools', 'model_converters', 'resize_rel_tables.py')
#: Classifier input: the MHSA of layer4.0 attends at the c4 extent (4x3),
#: the other c5 blocks at c5's (2x2).
CLS_HW = (64, 48)
TRAINED = {'layer4.0.conv2': (4, 3), 'layer4.1.conv2': (2, 2),
           'layer4.2.conv2': (2, 2)}
#: An eighth-width BoTNet-50 (the demo's is a quarter).
TINY_CLS = ['model.backbone.base_channels=8', 'model.head.in_channels=256']
TINY_DET = ['model.backbone.base_channels=8',
            'model.neck.in_channels=[32,64,128,256]']
#: Training only: no validation after the last step.
NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']


def tools_train(cwd, config, work_dir, options):
    """Run tools/train.py with ``--cfg-options``; return the process."""
    return subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config,
         '--work-dir', str(work_dir), '--cfg-options', *options, *SHORT],
        cwd=cwd, capture_output=True, text=True, timeout=900)


def backbone_tensors(state_dict, prefix='backbone.'):
    return {k[len(prefix):]: v for k, v in state_dict.items()
            if k.startswith(prefix)}


@pytest.fixture(scope='module')
def pretrained(workspace):
    """A two-step classifier checkpoint and its resized-table copy."""
    write_imagenet_folders(str(workspace / 'data/demo/imagenet'),
                           num_train=10, num_val=5, size=CLS_HW, seed=1)
    work = workspace / 'cls'
    proc = tools_train(workspace, CLS_CONFIG, work, TINY_CLS + NO_VAL + [
        'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2',
        'train_dataloader.batch_size=5', 'train_dataloader.num_workers=0'])
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    checkpoint = str(work / 'iter_2.pth')
    tables = str(work / 'backbone_rel_tables.pth')
    output = run_tool(workspace, sys.executable, RESIZE, checkpoint, tables,
                      '--input-size', 'x'.join(map(str, CLS_HW)),
                      '--max-size', '84')
    assert 'backbone.layer4.0.conv2.rel_w: 27 -> 167 rows' in output
    assert 'backbone.layer4.0.conv2.rel_w: 5 of 167 rows trained' in output
    return dict(checkpoint=checkpoint, tables=tables, work=work)


def test_classifier_checkpoint_has_the_imagenet_classifier_layout(
        pretrained):
    state = load_local_checkpoint(pretrained['checkpoint'])['state_dict']
    assert {key.split('.')[0] for key in state} == {'backbone', 'head'}
    assert state['head.fc.weight'].shape == (5, 256)
    written = load_local_checkpoint(pretrained['tables'])
    assert written['state_dict'].keys() == state.keys()
    assert written['meta']['trained_sizes'] == TRAINED
    for key, value in state.items():
        resized = written['state_dict'][key]
        if key.endswith(('rel_h', 'rel_w')):
            # max_size 14 (the classifier's) -> 84 (the detector's); the
            # centre rows (offsets -1..1, trained by every block) kept
            assert value.shape[0] == 27 and resized.shape[0] == 167, key
            assert torch.equal(resized[83 - 1:83 + 2], value[13 - 1:13 + 2])
        else:
            assert torch.equal(resized, value), key


def test_detector_starts_from_the_classifier_backbone(workspace,
                                                      pretrained):
    """With a zero learning rate the step leaves the parameters at their
    initial values: those of the resized classifier checkpoint."""
    work = workspace / 'det'
    proc = tools_train(workspace, DET_CONFIG, work, TINY_DET + NO_VAL + [
        f'model.backbone.init_cfg.checkpoint={pretrained["tables"]}',
        'optim_wrapper.optimizer.lr=0', 'train_cfg.max_iters=1',
        'default_hooks.checkpoint.interval=1',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0'])
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    log = next(work.glob('*/*.log')).read_text()
    assert f'load backbone. in model from: {pretrained["tables"]}' in log
    source = backbone_tensors(
        load_local_checkpoint(pretrained['tables'])['state_dict'])
    detector = load_local_checkpoint(str(work / 'iter_1.pth'))['state_dict']
    backbone = backbone_tensors(detector)
    assert backbone.keys() == source.keys()
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    cfg = Config.fromfile(DET_CONFIG)
    cfg.model.backbone.base_channels = 8
    cfg.model.neck.in_channels = [32, 64, 128, 256]
    parameters = {name for name, _ in
                  MODELS.build(cfg.model).backbone.named_parameters()}
    assert {'layer4.0.conv2.rel_h', 'layer4.2.conv2.rel_w'} <= parameters
    for name in parameters:
        assert torch.equal(backbone[name], source[name]), name
    scalars = next(work.glob('*/vis_data/scalars.json'))
    step = json.loads(scalars.read_text().splitlines()[0])
    assert step['step'] == 1 and math.isfinite(step['loss'])
    assert math.isfinite(step['grad_norm']) and step['grad_norm'] > 0


def test_a_backbone_that_does_not_fit_stops_the_run(workspace, pretrained):
    """A BoTNet-101 detector cannot start from a BoTNet-50 classifier:
    c4's blocks 6-22 would stay random."""
    proc = tools_train(workspace, DET_CONFIG, workspace / 'det101',
                       TINY_DET + NO_VAL + [
                           'model.backbone.depth=101',
                           'model.backbone.init_cfg.checkpoint='
                           f'{pretrained["tables"]}',
                           'train_cfg.max_iters=1'])
    assert proc.returncode != 0
    assert pretrained['tables'] in proc.stderr
    assert 'layer3.6.' in proc.stderr  # the first missing block
