"""Every public module resolves in mmengine's root MODELS and through the
mmdet and mmseg registries, and works as a plug-in of their own ResNets."""
import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS as MMSEG_MODELS

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
