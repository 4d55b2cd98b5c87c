"""Every public module resolves in mmengine's root MODELS and through the
mmdet and mmseg registries, and works as a plug-in of their own ResNets.

Importing mmctx registers the ``mmctx::`` config alias, which resolves in
this checkout, and the ``mmctx`` registry scope, which builds the types of
configs read through ``mmctx::`` bases in the config's default scope."""
import glob
import os.path as osp
from collections import OrderedDict

import mmengine.registry as mm_registry
import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.utils import get_installed_path
from mmseg.registry import MODELS as MMSEG_MODELS

import mmctx
from conftest import ROOT
from mmctx.registry import ROOT_REGISTRIES, SCOPED, HostScopeRegistry

PUBLIC = ['GCBlock', 'NonLocalBlock', 'SimplifiedNonLocalBlock', 'SEBlock',
          'CtxResNet']
PLUGINS = [
    dict(type='GCBlock', ratio=1. / 16),
    dict(type='NonLocalBlock'),
    dict(type='SimplifiedNonLocalBlock'),
    dict(type='SEBlock'),
]


@pytest.mark.parametrize('name', PUBLIC)
def test_registered_in_root_and_visible_from_children(name):
    cls = ROOT_MODELS.get(name)
    assert cls is not None and cls.__module__.startswith('mmctx.')
    for registry, scope in ((MMDET_MODELS, 'mmdet'), (MMSEG_MODELS,
                                                       'mmseg')):
        with DefaultScope.overwrite_default_scope(scope):
            assert registry.get(name) is cls


@pytest.mark.parametrize('name', PUBLIC)
def test_names_do_not_shadow_openmmlab_modules(name):
    for registry in (MMDET_MODELS, MMSEG_MODELS):
        assert name not in registry.module_dict


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
@pytest.mark.parametrize('backbone', [
    dict(type='mmdet.ResNet', depth=50),
    dict(type='mmseg.ResNetV1c', depth=50),
], ids=['mmdet.ResNet', 'mmseg.ResNetV1c'])
@pytest.mark.parametrize('plugin', PLUGINS, ids=lambda p: p['type'])
def test_plugin_in_openmmlab_resnets(scope, backbone, plugin):
    registry = MMDET_MODELS if scope == 'mmdet' else MMSEG_MODELS
    cfg = dict(
        backbone,
        out_indices=(2, ),
        plugins=[
            dict(cfg=plugin, stages=(False, False, True, False),
                 position='after_conv3')
        ])
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg)
    model.eval()  # their ResNets return None from train()
    holders = [
        m for m in model.layer3.modules()
        if type(m).__name__ == plugin['type']
    ]
    assert len(holders) == len(model.layer3)
    (out, ) = model(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 1024, 4, 4)


GCNET = 'gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py'
UPERNET = 'gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py'
#: An OpenMMLab type of each scope, by registry, built with
#: ``_scope_='mmctx'`` under that default scope (datasets build their
#: pipeline, so nested builds run in the mmctx scope too).
HOSTED = {
    'mmdet': [
        ('TRANSFORMS', dict(type='PackDetInputs')),
        ('METRICS', dict(type='CocoMetric')),
        ('DATASETS', dict(type='CocoDataset', ann_file='absent.json',
                          lazy_init=True,
                          pipeline=[dict(type='PackDetInputs')])),
    ],
    'mmseg': [
        ('TRANSFORMS', dict(type='PackSegInputs')),
        ('METRICS', dict(type='IoUMetric')),
        ('DATASETS', dict(type='ADE20KDataset', lazy_init=True,
                          pipeline=[dict(type='PackSegInputs')])),
    ],
    'mmpretrain': [
        ('TRANSFORMS', dict(type='PackInputs')),
        ('METRICS', dict(type='Accuracy')),
        ('DATASETS', dict(type='CustomDataset', lazy_init=True,
                          data_root='absent',
                          pipeline=[dict(type='PackInputs')])),
    ],
}


def read_config(folder, text: str):
    """Write ``text`` as a config file in ``folder`` and read it."""
    path = osp.join(str(folder), 'user_config.py')
    with open(path, 'w') as f:
        f.write(text)
    return Config.fromfile(path)


def test_import_registers_config_alias_and_scope():
    # a module name: mmengine then finds the package by its import path,
    # not by the distribution's location (wrong for editable installs)
    package = MODULE2PACKAGE['mmctx']
    assert package == 'mmctx.mim'
    assert get_installed_path(package) == osp.dirname(mmctx.__file__)
    for name in ROOT_REGISTRIES:
        root = getattr(mm_registry, name)
        child = root._search_child('mmctx')
        assert isinstance(child, HostScopeRegistry), name
        assert child.parent is root and SCOPED[name] is child


def test_mmctx_base_resolves_in_checkout(tmp_path):
    path, scope = Config._get_cfg_path(f'mmctx::{GCNET}',
                                       str(tmp_path / 'user_config.py'))
    assert scope == 'mmctx'
    assert osp.realpath(path) == osp.realpath(
        osp.join(ROOT, 'configs', GCNET))
    cfg = read_config(tmp_path, f"_base_ = 'mmctx::{GCNET}'\n")
    assert cfg.default_scope == 'mmdet'
    assert cfg.model.backbone.type == 'CtxResNet'


@pytest.mark.parametrize('scope, registry, cfg', [
    (scope, registry, cfg) for scope, items in HOSTED.items()
    for registry, cfg in items
], ids=lambda x: x if isinstance(x, str) else x['type'])
def test_mmctx_scope_builds_in_default_scope(scope, registry, cfg):
    cfg = dict(cfg, _scope_='mmctx')
    build = getattr(mm_registry, registry).build
    # the newest default scope decides, not an earlier one
    other = next(s for s in HOSTED if s != scope)
    with DefaultScope.overwrite_default_scope(other):
        with DefaultScope.overwrite_default_scope(scope):
            obj = build(cfg)
        assert type(obj).__name__ == cfg['type']
        assert type(obj).__module__.startswith(scope)
        with pytest.raises(KeyError, match=cfg['type']):
            build(cfg)


def test_mmctx_scope_without_default_scope(monkeypatch):
    monkeypatch.setattr(DefaultScope, '_instance_dict', OrderedDict())
    cfg = dict(type='SEBlock', in_channels=16, _scope_='mmctx')
    assert type(ROOT_MODELS.build(cfg)).__name__ == 'SEBlock'
    with pytest.raises(KeyError, match='PackDetInputs'):
        mm_registry.TRANSFORMS.build(
            dict(type='PackDetInputs', _scope_='mmctx'))


@pytest.mark.parametrize('name', PUBLIC)
def test_mmctx_prefix_names_mmctx_modules(name):
    cls = ROOT_MODELS.get(name)
    for registry in (ROOT_MODELS, MMDET_MODELS, MMSEG_MODELS):
        assert registry.get(f'mmctx.{name}') is cls
    assert SCOPED['MODELS'].get('mmctx.BaseDataPreprocessor') is None


def test_mmctx_configs_build_their_models(tmp_path):
    classification = sorted(
        glob.glob(osp.join(ROOT, 'configs', 'classification', '*_in1k.py')))
    assert classification
    expected = {
        GCNET: ('MaskRCNN', 'mmdet'),
        UPERNET: ('EncoderDecoder', 'mmseg'),
        f'classification/{osp.basename(classification[0])}':
        ('ImageClassifier', 'mmctx'),
    }
    for config, (kind, model_scope) in expected.items():
        cfg = read_config(tmp_path, f"_base_ = 'mmctx::{config}'\n")
        # mmctx's classification configs define the model: mmctx scope
        assert cfg.model._scope_ == model_scope, config
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            model = ROOT_MODELS.build(cfg.model)
        assert type(model).__name__ == kind, config
        assert type(model.backbone).__module__.startswith('mmctx.'), config


def test_runner_trains_mmctx_scoped_pipeline(workspace, tmp_path,
                                             monkeypatch):
    """A user config reusing the demo config's mmctx-scoped pipelines,
    loop and schedulers trains a step (on one image, with fewer proposals
    and RoIs) and builds its validation data."""
    monkeypatch.chdir(workspace)
    loader = ('dict(batch_size=1, num_workers=0, persistent_workers=False,'
              ' dataset=dict(indices=1, pipeline=_base_.{}))')
    cfg = read_config(tmp_path, '\n'.join([
        "_base_ = 'mmctx::demo/mask_rcnn_gc_r50_fpn_demo.py'",
        f"train_dataloader = {loader.format('train_pipeline')}",
        f"val_dataloader = {loader.format('test_pipeline')}",
        'test_dataloader = val_dataloader',
        'model = dict(train_cfg=dict(rpn_proposal=dict(max_per_img=50), '
        'rcnn=dict(sampler=dict(num=32))))',
        'train_cfg = dict(max_iters=1, val_interval=2)',
        'default_hooks = dict(checkpoint=dict(interval=1))',
    ]) + '\n')
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        assert {t._scope_ for t in loader.dataset.pipeline} == {'mmctx'}
    assert cfg.train_cfg._scope_ == 'mmctx'
    assert {s._scope_ for s in cfg.param_scheduler} == {'mmctx'}
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_1.pth'))
    for loop in (runner.train_loop, runner.val_loop):
        packer = loop.dataloader.dataset.pipeline.transforms[-1]
        assert type(packer).__module__.startswith('mmdet.')
