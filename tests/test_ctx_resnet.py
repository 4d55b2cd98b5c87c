"""CtxResNet: mmdet keys and semantics, chained plug-ins, BasicBlock plug-ins,
per-block selection, initialisation and argument errors."""
import pytest
import torch
from mmcv.cnn import ContextBlock
from mmdet.models.backbones import ResNet, ResNeXt
from mmengine.registry import DefaultScope

from mmctx.models import CtxResNet, GCBlock
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
