"""CtxResNet: mmdet keys, semantics and signature, chained plug-ins,
BasicBlock plug-ins, per-block selection, initialisation, frozen mixers and
argument errors."""
import inspect

import pytest
import torch
from mmcv.cnn import ContextBlock
from mmdet.models.backbones import ResNet, ResNeXt
from mmengine.registry import DefaultScope
from torch.nn.modules.batchnorm import _BatchNorm

from mmctx.models import (AAResNet, BoTNet, CoTNet, CoTNeXt, CtxResNet,
                          GCBlock)
from mmctx.registry import MODELS
from conftest import randomize_

GC_C3_C5 = [
    dict(
        cfg=dict(type='GCBlock', ratio=1. / 16),
        stages=(False, True, True, True),
        position='after_conv3')
]


def test_resnet50_state_dict_loads_with_only_gc_keys_missing():
    # torchvision's resnet50 layout: mmdet's backbone keys plus a classifier
    reference = dict(ResNet(depth=50).state_dict())
    reference.update({'fc.weight': torch.zeros(1000, 2048),
                      'fc.bias': torch.zeros(1000)})
    model = CtxResNet(depth=50, plugins=GC_C3_C5)
    result = model.load_state_dict(reference, strict=False)
    assert sorted(result.unexpected_keys) == ['fc.bias', 'fc.weight']
    assert result.missing_keys
    assert all('.context_block.' in key for key in result.missing_keys)
    gc_keys = {key for key in model.state_dict() if 'context_block' in key}
    assert set(result.missing_keys) == gc_keys
    # 13 blocks in c3-c5, 8 tensors each
    assert len(gc_keys) == 13 * 8


def test_without_plugins_equals_mmdet_resnet():
    reference = ResNet(depth=50)
    reference.eval()
    model = CtxResNet(depth=50).eval()
    assert model.state_dict().keys() == reference.state_dict().keys()
    model.load_state_dict(reference.state_dict())
    x = torch.randn(1, 3, 64, 96)
    for ours, theirs in zip(model(x), reference(x)):
        torch.testing.assert_close(ours, theirs)


def test_same_seed_gives_mmdet_resnet_initial_weights():
    torch.manual_seed(1)
    reference = ResNet(depth=50).state_dict()
    torch.manual_seed(1)
    model = CtxResNet(depth=50).state_dict()
    for key, value in reference.items():
        assert torch.equal(model[key], value), key


def test_resnext_keys_and_shapes_match_mmdet():
    reference = ResNeXt(depth=50, groups=32, base_width=4).state_dict()
    model = CtxResNet(depth=50, groups=32, base_width=4).state_dict()
    assert {k: v.shape for k, v in model.items()} == \
        {k: v.shape for k, v in reference.items()}


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_plugins_at_one_position_are_chained(scope):
    plugins = [
        dict(
            cfg=dict(type='GCBlock', ratio=0.25, postfix=f'_{i}'),
            stages=(False, False, False, True),
            position='after_conv3') for i in range(2)
    ]
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(
            dict(type='CtxResNet', depth=50, plugins=plugins,
                 out_indices=(3, )))
    block = model.layer4[0]
    randomize_(block.context_block_0)
    randomize_(block.context_block_1)
    seen = {}
    block.context_block_0.register_forward_hook(
        lambda m, i, o: seen.update(first_out=o))
    block.context_block_1.register_forward_hook(
        lambda m, i, o: seen.update(second_in=i[0]))
    model.eval()(torch.randn(1, 3, 64, 64))
    assert torch.equal(seen['second_in'], seen['first_out'])


def test_basic_block_depths_take_plugins():
    plugins = [
        dict(cfg=dict(type='GCBlock', ratio=0.25), position='after_conv1'),
        dict(cfg=dict(type='SEBlock', ratio=4), position='after_conv2'),
    ]
    model = CtxResNet(depth=18, plugins=plugins).eval()
    block = model.layer2[1]
    assert isinstance(block.context_block, GCBlock)
    assert block.context_block.in_channels == 128
    assert block.se_block.in_channels == 128
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [64, 128, 256, 512]
    reference = ResNet(depth=18).state_dict()
    result = model.load_state_dict(reference, strict=False)
    assert not result.unexpected_keys
    assert all('context_block' in k or 'se_block' in k
               for k in result.missing_keys)


def test_blocks_selects_one_block_per_stage():
    model = CtxResNet(
        depth=50,
        plugins=[
            dict(
                cfg=dict(type='NonLocalBlock'),
                stages=(False, False, True, False),
                blocks=(-2, ),
                position='after_conv3')
        ])
    holders = [
        name for name, module in model.named_modules()
        if name.endswith('nonlocal_block')
    ]
    assert holders == ['layer3.4.nonlocal_block']


def test_gc_stays_identity_after_backbone_init_weights():
    model = CtxResNet(depth=50, plugins=GC_C3_C5)
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, GCBlock)]
    assert len(blocks) == 13
    for block in blocks:
        assert torch.count_nonzero(block.channel_add_conv[-1].weight) == 0
        assert torch.count_nonzero(block.channel_add_conv[-1].bias) == 0
        x = torch.randn(2, block.in_channels, 4, 3)
        assert torch.equal(block(x), x)
    # zero_init_residual still reaches the context-aware blocks
    assert torch.count_nonzero(model.layer3[0].norm3.weight) == 0


def test_mmcv_context_block_loses_zero_init_in_mmdet_resnet():
    """The defect our GCBlock avoids: mmdet's Kaiming init overwrites it."""
    model = ResNet(
        depth=50,
        plugins=[
            dict(
                cfg=dict(type='ContextBlock', ratio=1. / 16),
                stages=(False, False, False, True),
                position='after_conv3')
        ])
    model.init_weights()
    block = model.layer4[0].context_block
    assert isinstance(block, ContextBlock)
    assert torch.count_nonzero(block.channel_add_conv[-1].weight) > 0


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth=42), 'depth'),
    (dict(depth=50, groups=0), 'groups'),
    (dict(depth=18, groups=32), 'groups'),
    (dict(depth=50, plugins=dict(cfg=dict(type='GCBlock'))), 'plugins'),
    (dict(depth=50, plugins=[dict(cfg=dict(type='GCBlock'),
                                  position='after_conv4')]),
     r'plugins\[0\]\.position'),
    (dict(depth=18, plugins=[dict(cfg=dict(type='GCBlock'),
                                  position='after_conv3')]),
     r'plugins\[0\]\.position'),
    (dict(depth=50, plugins=[dict(cfg=dict(type='GCBlock'),
                                  stages=(True, ),
                                  position='after_conv3')]),
     r'plugins\[0\]\.stages'),
    (dict(depth=50, plugins=[dict(cfg=dict(type='GCBlock'),
                                  blocks=(3, ),
                                  position='after_conv3')]),
     r'plugins\[0\]\.blocks'),
    (dict(depth=50, plugins=[dict(position='after_conv3')]),
     r'plugins\[0\]'),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        CtxResNet(**kwargs)


# ----------------------------------------------------------------------------
# mmdet ResNet's signature

ALL_POSITIONAL = (
    50, 3, 32, 64, 4, (1, 2, 2, 1), (1, 1, 1, 2), (1, 3), 'caffe', True,
    True, 1, None, dict(type='BN', requires_grad=True), False, None,
    (False, ) * 4, [dict(cfg=dict(type='SEBlock'), position='after_conv3')],
    False, False)


@pytest.mark.parametrize('args,kwargs', [
    ((50, 1), {}),
    ((18, 4, 32, 16), dict(frozen_stages=2)),
    ((34, ), dict(in_channels=1, deep_stem=True, out_indices=(3, ))),
    ((50, 3, None, 64, 3, (1, 2, 2), (1, 1, 1), (0, 2)), {}),
    ((101, 3, 64, 32), dict(style='caffe', avg_down=True, norm_eval=False)),
    (ALL_POSITIONAL, {}),
])
def test_positional_and_keyword_arguments_mean_what_they_mean_in_mmdet(
        args, kwargs):
    ours, theirs = CtxResNet(*args, **kwargs), ResNet(*args, **kwargs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in theirs.state_dict().items()}
    for name in ('depth', 'stem_channels', 'base_channels', 'num_stages',
                 'strides', 'dilations', 'out_indices', 'style', 'deep_stem',
                 'avg_down', 'frozen_stages', 'norm_cfg', 'norm_eval',
                 'stage_with_dcn', 'with_cp', 'zero_init_residual'):
        assert getattr(ours, name) == getattr(theirs, name), name


@pytest.mark.parametrize('cls', [CtxResNet, BoTNet, CoTNet, CoTNeXt,
                                 AAResNet])
def test_mmctx_arguments_are_keyword_only(cls):
    params = inspect.signature(cls).parameters.values()
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert positional == ['depth']
    assert [p.kind for p in params][1] == inspect.Parameter.VAR_POSITIONAL
    # the second positional argument is mmdet's in_channels everywhere
    assert cls(50, 1).conv1.in_channels == 1


def test_presets_pass_positional_arguments_to_mmdet_slots():
    model = BoTNet(50, 3, 32, max_size=4)
    assert model.stem_channels == 32 and model.conv1.out_channels == 32
    # CoTNeXt's own groups=2, base_width=48: width 2 * 48 in c2
    assert CoTNeXt(50, 3).layer1[0].conv1.out_channels == 96


@pytest.mark.parametrize('cls,args,kwargs,match', [
    (CtxResNet, (50, ), dict(groupz=2),
     "unexpected keyword argument 'groupz'"),
    (CtxResNet, ALL_POSITIONAL + (None, None, 'extra'), {},
     'too many positional arguments'),
    (CtxResNet, (50, 3), dict(in_channels=3),
     "multiple values for argument 'in_channels'"),
    (BoTNet, ALL_POSITIONAL + (None, None, 'extra'), {},
     'too many positional arguments'),
    (CoTNet, (50, 3), dict(kernel=5), "unexpected keyword argument 'kernel'"),
])
def test_arguments_mmdet_does_not_take_raise_type_error(cls, args, kwargs,
                                                        match):
    with pytest.raises(TypeError, match=match) as info:
        cls(*args, **kwargs)
    assert str(info.value).startswith(f'{cls.__name__}: ')
    assert 'in_channels, stem_channels' in str(info.value)
    assert 'groups, base_width, mixers' in str(info.value)


# ----------------------------------------------------------------------------
# frozen mixers and BasicBlock chaining


def _mixer_bns(mixer: torch.nn.Module) -> list:
    return [m for m in mixer.modules() if isinstance(m, _BatchNorm)]


@pytest.mark.parametrize('make,frozen,free', [
    # norm_eval=False: eval mode must come from freezing alone
    (lambda: BoTNet(depth=50, frozen_stages=4, norm_eval=False, max_size=4),
     4, None),
    (lambda: CoTNet(depth=50, frozen_stages=1, norm_eval=False), 1, 2),
    (lambda: AAResNet(depth=50, frozen_stages=3, norm_eval=False,
                      max_input_size=64), 3, 4),
], ids=['botnet-c5', 'cotnet-c2', 'aaresnet-c4'])
def test_frozen_stages_freeze_the_mixers(make, frozen, free):
    model = make().train()
    for stage in range(1, 5):
        layer = getattr(model, f'layer{stage}')
        mixers = [block.conv2 for block in layer
                  if not isinstance(block.conv2, torch.nn.Conv2d)]
        if stage == frozen:
            assert mixers
        for mixer in mixers:
            modules = list(mixer.modules())
            params = list(mixer.parameters())
            assert params
            if stage <= frozen:
                assert not any(m.training for m in modules)
                assert not any(p.requires_grad for p in params)
            else:
                assert all(m.training for m in modules)
                assert all(p.requires_grad for p in params)
        if stage == free:
            assert mixers
    frozen_bns = [
        bn for block in getattr(model, f'layer{frozen}')
        for bn in _mixer_bns(block.conv2)
    ]
    stats = [bn.running_mean.clone() for bn in frozen_bns]
    if frozen_bns:  # a training-mode forward leaves their statistics alone
        model(torch.randn(2, 3, 32, 32))
    for bn, before in zip(frozen_bns, stats):
        assert torch.equal(bn.running_mean, before)


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
@pytest.mark.parametrize('depth,position', [(18, 'after_conv1'),
                                            (34, 'after_conv2')])
def test_basic_block_plugins_at_one_position_are_chained(scope, depth,
                                                         position):
    plugins = [
        dict(cfg=dict(type='GCBlock', ratio=0.25, postfix=f'_{i}'),
             stages=(False, False, True, False), position=position)
        for i in range(2)
    ]
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(
            dict(type='CtxResNet', depth=depth, plugins=plugins,
                 out_indices=(2, )))
    block = model.layer3[1]
    randomize_(block.context_block_0)
    randomize_(block.context_block_1)
    seen = {}
    block.context_block_0.register_forward_hook(
        lambda m, i, o: seen.update(first_in=i[0], first_out=o))
    block.context_block_1.register_forward_hook(
        lambda m, i, o: seen.update(second_in=i[0]))
    model.eval()(torch.randn(1, 3, 64, 64))
    assert not torch.allclose(seen['first_out'], seen['first_in'])
    assert torch.equal(seen['second_in'], seen['first_out'])
