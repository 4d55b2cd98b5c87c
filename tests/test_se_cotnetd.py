"""SE-CoTNetD: exact official parameter counts, a one-to-one state dict
with the official layout, equality with a plain-torch re-computation of the
official network written from its code, strides at odd sizes, frozen
stages, norm_eval, with_cp and Pretrained loading."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from mmdet.registry import MODELS as MMDET_MODELS
from mmseg.registry import MODELS as MMSEG_MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from mmctx.models import CoTLayer, CtxResNet
from mmctx.converters import apply_rules, build_classifier, cotnet
from mmctx.models.backbones.se_cotnetd import (AntiAliasedCoTLayer,
                                               BlurPool2d, SECoTNetD, SEConv)
from official_cotnet_keys import (SE_COTNETD_LAYERS, num_parameters,
                                  se_cotnetd_shapes, se_cotnetd_uses_cot,
                                  synthetic_state_dict)

OFFICIAL_PARAMS = {50: 23_107_784, 101: 40_912_392, 152: 55_783_688}


def as_double(state: dict) -> dict:
    return {k: v.double() if v.is_floating_point() else v
            for k, v in state.items()}


def converted(official: dict, depth: int = 50) -> dict:
    """Official tensors under mmctx backbone keys, by the converter's rules
    (which write them under ``backbone.``, stripped here)."""
    rules = cotnet.plan(f'se_cotnetd{depth}').rules
    state = apply_rules(official, rules).state_dict
    assert all(key.startswith('backbone.') for key in state)
    return {key[len('backbone.'):]: value for key, value in state.items()}


@pytest.fixture(scope='module')
def official50():
    """A synthetic official SE-CoTNetD-50 backbone checkpoint (float64)."""
    return as_double(
        synthetic_state_dict(se_cotnetd_shapes(50, with_head=False)))


@pytest.fixture(scope='module')
def loaded50(official50):
    """SE-CoTNetD-50 in float64 eval mode with the official weights."""
    model = SECoTNetD(50).double()
    model.load_state_dict(converted(official50), strict=True)
    return model.eval()


@pytest.fixture(scope='module')
def model152():
    return SECoTNetD(152)


def build(request, depth: int) -> SECoTNetD:
    """SE-CoTNetD of ``depth`` (the module's shared one for 152)."""
    if depth == 152:
        return request.getfixturevalue('model152')
    return SECoTNetD(depth)


# ---- plain-torch re-computation of the official network, from its code --


def _bn(x, sd, p):
    return F.batch_norm(x, sd[f'{p}.running_mean'], sd[f'{p}.running_var'],
                        sd[f'{p}.weight'], sd[f'{p}.bias'], False, 0., 1e-5)


def _conv(x, sd, p, stride=1, padding=0, groups=1):
    return F.conv2d(x, sd[f'{p}.weight'], sd.get(f'{p}.bias'), stride,
                    padding, 1, groups)


def _official_blur(x):
    # ReflectionPad2d(1); binomial filter (0.5, 0.5)^2 = (.25, .5, .25)
    taps = x.new_tensor([0.25, 0.5, 0.25])
    kernel = (taps[:, None] * taps[None, :]).repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode='reflect'), kernel,
                    stride=2, groups=x.shape[1])


def _official_split_attn_radix1(x, sd, p, stride):
    x = F.silu(_bn(_conv(x, sd, f'{p}.conv', stride, 1), sd, f'{p}.bn0'))
    gap = F.adaptive_avg_pool2d(x, 1)
    gap = F.silu(_bn(_conv(gap, sd, f'{p}.fc1'), sd, f'{p}.bn1'))
    return x * torch.sigmoid(_conv(gap, sd, f'{p}.fc2'))


def _official_cot(x, sd, p):
    b, dim, h, w = x.shape
    key = F.relu(
        _bn(_conv(x, sd, f'{p}.key_embed.0', padding=1, groups=4), sd,
            f'{p}.key_embed.1'))
    weight = F.relu(
        _bn(_conv(torch.cat([x, key], 1), sd, f'{p}.embed.0'), sd,
            f'{p}.embed.1'))
    weight = F.group_norm(
        _conv(weight, sd, f'{p}.embed.3'), dim // 8, sd[f'{p}.embed.4.weight'],
        sd[f'{p}.embed.4.bias'])
    weight = weight.view(b, dim // 8, 9, h, w)
    value = _bn(_conv(x, sd, f'{p}.conv1x1.0'), sd, f'{p}.conv1x1.1')
    # aggregation_zeropad: out[n, c] = sum_k w[n, c % (dim/8), k] *
    # value[n, c] shifted by the k-th window offset, zero outside the map
    padded = F.pad(value, (1, 1, 1, 1))
    group_of = torch.arange(dim) % (dim // 8)
    dynamic = torch.zeros_like(value)
    for kh in range(3):
        for kw in range(3):
            dynamic += (weight[:, group_of, kh * 3 + kw] *
                        padded[:, :, kh:kh + h, kw:kw + w])
    dynamic = F.silu(_bn(dynamic, sd, f'{p}.bn'))
    splits = torch.stack([dynamic, key], 2)
    gap = splits.sum(2).mean((2, 3), keepdim=True)
    attn = _conv(
        F.relu(_bn(_conv(gap, sd, f'{p}.se.0'), sd, f'{p}.se.1')), sd,
        f'{p}.se.3').view(b, dim, 2).softmax(2)
    return (splits * attn.view(b, dim, 2, 1, 1)).sum(2)


def official_block(x, sd, p, stride, cot, anti_alias):
    """Official ``CoTBottleneck`` of SE-CoTNetD, in eval mode."""
    out = F.relu(_bn(_conv(x, sd, f'{p}.conv1'), sd, f'{p}.bn1'))
    if cot:
        if stride == 2 and not anti_alias:
            out = F.avg_pool2d(out, 3, 2, padding=1)  # avd first
        out = _official_cot(out, sd, f'{p}.conv2')
    else:
        out = _official_split_attn_radix1(out, sd, f'{p}.conv2',
                                          1 if anti_alias else stride)
    if stride == 2 and anti_alias:
        out = _official_blur(out)  # avd after conv2
    out = _bn(_conv(out, sd, f'{p}.conv3'), sd, f'{p}.bn3')
    shortcut = x
    if f'{p}.downsample.1.weight' in sd:
        if stride == 2:
            shortcut = F.avg_pool2d(
                x, 2, 2, ceil_mode=True, count_include_pad=False)
        shortcut = _bn(
            _conv(shortcut, sd, f'{p}.downsample.1'), sd,
            f'{p}.downsample.2')
    return F.relu(out + shortcut)


def official_forward(x, sd, depth):
    """Official ``forward_features`` with every stage's output."""
    x = F.relu(_bn(_conv(x, sd, 'conv1.0', 2, 1), sd, 'conv1.1'))
    x = F.relu(_bn(_conv(x, sd, 'conv1.3', 1, 1), sd, 'conv1.4'))
    x = F.relu(_bn(_conv(x, sd, 'conv1.6', 1, 1), sd, 'bn1'))  # no maxpool
    outs = []
    for stage, blocks in enumerate(SE_COTNETD_LAYERS[depth]):
        for block in range(blocks):
            x = official_block(x, sd, f'layer{stage + 1}.{block}',
                               2 if block == 0 else 1,
                               se_cotnetd_uses_cot(stage, block),
                               depth == 152)
        outs.append(x)
    return outs


# ---- tests ----------------------------------------------------------------


@pytest.mark.parametrize('depth', [50, 101, 152])
def test_parameter_count_equals_official(request, depth):
    assert num_parameters(se_cotnetd_shapes(depth)) == OFFICIAL_PARAMS[depth]
    with torch.device('meta'):  # the classification config's model
        model = build_classifier(cotnet.model_cfg(f'se_cotnetd{depth}'))
    assert isinstance(model.backbone, SECoTNetD)
    assert sum(p.numel() for p in model.parameters()) == \
        OFFICIAL_PARAMS[depth]


@pytest.mark.parametrize('depth', [50, 101, 152])
def test_state_dict_maps_one_to_one_onto_official(request, depth):
    official = se_cotnetd_shapes(depth, with_head=False)
    mapped = {
        key: tuple(value.shape)
        for key, value in converted({
            k: torch.empty(v, device='meta')
            for k, v in official.items()
        }, depth).items()
    }
    assert len(mapped) == len(official)
    ours = {
        k: tuple(v.shape)
        for k, v in build(request, depth).state_dict().items()
    }
    assert mapped == ours


def test_network_equals_official_recomputation(loaded50, official50):
    x = torch.randn(2, 3, 45, 67, dtype=torch.float64)
    with torch.no_grad():
        ours = loaded50(x)
    expected = official_forward(x, official50, 50)
    for a, b in zip(ours, expected):
        assert b.std() > 0.1
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize('name,channels', [
    ('layer2.0', 256),  # SE conv, stride 2, blur after
    ('layer2.1', 512),  # SE conv, stride 1
    ('layer3.0', 512),  # CoT, stride 2, blur after
    ('layer3.1', 1024),  # SE conv in c4
    ('layer4.1', 2048),  # CoT, stride 1
])
def test_anti_aliased_blocks_equal_official_recomputation(
        model152, name, channels):
    stage, block = (int(i) for i in name[len('layer'):].split('.'))
    shapes = {
        k: v
        for k, v in se_cotnetd_shapes(152).items()
        if k.startswith(f'{name}.')
    }
    official = as_double(synthetic_state_dict(shapes))
    ours = copy.deepcopy(model152.get_submodule(name)).double().eval()
    ours.load_state_dict({
        k[len(name) + 1:]: v
        for k, v in converted(official, 152).items()
    }, strict=True)
    x = torch.randn(2, channels, 11, 8, dtype=torch.float64)
    with torch.no_grad():
        out = ours(x)
    expected = official_block(x, official, name, 2 if block == 0 else 1,
                              se_cotnetd_uses_cot(stage - 1, block), True)
    torch.testing.assert_close(out, expected, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize('depth', [50, 101])
def test_mixer_layout(depth):
    model = SECoTNetD(depth)
    for stage, blocks in enumerate(SE_COTNETD_LAYERS[depth]):
        layer = getattr(model, f'layer{stage + 1}')
        assert len(layer) == blocks
        for index, block in enumerate(layer):
            expected = CoTLayer if se_cotnetd_uses_cot(stage, index) \
                else SEConv
            assert type(block.conv2) is expected
            assert not hasattr(block, 'bn2')
    assert model.stem[0].out_channels == SECoTNetD.stem_widths[depth] // 2


@pytest.mark.parametrize('depth,size', [(50, (65, 97)), (152, (19, 23)),
                                        (50, (33, 32))])
def test_strides_at_odd_non_square_sizes(request, depth, size):
    model = build(request, depth).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    height, width = size
    for i, out in enumerate(outs):
        stride = 4 * 2**i
        assert out.shape == (1, 256 * 2**i, -(-height // stride),
                             -(-width // stride))


def test_out_indices():
    model = SECoTNetD(50, out_indices=(1, 3)).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [512, 2048]


def test_frozen_stages_freeze_stem_mixers_and_norms():
    model = SECoTNetD(50, frozen_stages=2, norm_eval=False).train()
    frozen = [model.stem, model.layer1, model.layer2]
    for module in frozen:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    assert not model.layer2[0].conv2.fc1.weight.requires_grad
    for module in (model.layer3, model.layer4):
        assert all(p.requires_grad for p in module.parameters())
        assert all(m.training for m in module.modules()
                   if isinstance(m, _BatchNorm))


def test_norm_eval_keeps_every_bn_in_eval_mode():
    model = SECoTNetD(50, norm_eval=True).train()
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert norms and not any(m.training for m in norms)
    assert not model.layer4[0].conv2.fuse[1].training
    assert all(p.requires_grad for p in model.parameters())
    model = SECoTNetD(50, norm_eval=False).train()
    assert all(m.training for m in model.modules()
               if isinstance(m, _BatchNorm))


def test_with_cp_gives_same_outputs_and_gradients():
    plain = SECoTNetD(50, norm_eval=False).train()
    checkpointed = SECoTNetD(50, norm_eval=False, with_cp=True).train()
    assert all(block.with_cp for block in checkpointed.modules()
               if hasattr(block, 'conv3'))
    # c4 holds both mixer kinds, a stride-2 CoT block and its shortcut
    plain, checkpointed = plain.layer3, checkpointed.layer3
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 512, 9, 7)
    results = []
    for stage in (plain, checkpointed):
        inputs = x.clone().requires_grad_()
        out = stage(inputs)
        out.square().mean().backward()
        results.append((out, inputs.grad, stage[0].conv2.embed[3].weight.grad,
                        stage[1].conv2.fc1.weight.grad))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b)


def test_pretrained_init_cfg_loads_a_converted_checkpoint(
        tmp_path, official50):
    state = {
        k: v.float() if v.is_floating_point() else v
        for k, v in converted(official50).items()
    }
    path = tmp_path / 'se_cotnetd50_mmctx.pth'
    # the converter's layout: mmpretrain ImageClassifier keys
    torch.save({'state_dict': {'backbone.' + k: v
                               for k, v in state.items()}, 'meta': {}}, path)
    model = MODELS.build(
        dict(type='SECoTNetD', depth=50,
             init_cfg=dict(type='Pretrained', checkpoint=str(path),
                           prefix='backbone.')))
    model.init_weights()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key])


@pytest.mark.parametrize('name', ['SECoTNetD', 'SEConv',
                                  'AntiAliasedCoTLayer'])
def test_registered_without_shadowing_openmmlab(name):
    assert MODELS.get(name).__module__ == 'mmctx.models.backbones.se_cotnetd'
    for registry in (MMDET_MODELS, MMSEG_MODELS):
        assert name not in registry.module_dict


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='depth'):
        SECoTNetD(34)
    with pytest.raises(TypeError):
        SECoTNetD(50, deep_stem=False)
    with pytest.raises(ValueError, match='stride'):
        SEConv(8, 8, stride=3)
    with pytest.raises(ValueError, match='2x2'):
        BlurPool2d(4)(torch.randn(1, 4, 1, 5))


def test_anti_aliased_cot_layer_blurs_after_a_stride_1_layer():
    layer = AntiAliasedCoTLayer(16, 16, stride=2).eval()
    reference = CoTLayer(16, 16).eval()
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(1, 16, 9, 6)
    with torch.no_grad():
        out = layer(x)
        expected = _official_blur(reference(x))
    assert out.shape == (1, 16, 5, 3)
    torch.testing.assert_close(out, expected)


def test_ctx_resnet_per_block_mixers():
    se = dict(type='SEConv')
    model = CtxResNet(
        depth=50,
        mixers=(None, None, [se, None, se, None, None, dict(type='CoTLayer')],
                None))
    kinds = [type(block.conv2).__name__ for block in model.layer3]
    assert kinds == ['SEConv', 'Conv2d', 'SEConv', 'Conv2d', 'Conv2d',
                     'CoTLayer']
    with pytest.raises(ValueError, match='one entry per block'):
        CtxResNet(depth=50, mixers=(None, None, [se, None], None))
    with pytest.raises(ValueError, match=r'mixers\[2\]'):
        CtxResNet(depth=50, mixers=(None, None, [se, 'conv'], None))
