"""Official-checkpoint converters: synthetic official checkpoints (keys and
shapes written out from the official code in ``official_checkpoints``)
convert into mmpretrain's ImageClassifier layout, load strictly into the
classifier of the classification configs (and, by prefix, into detection
backbones), and compute what the official layers compute."""
import importlib.util
import os.path as osp
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from torch import nn

from mmctx.converters import (ConversionError, build_classifier,
                              classifier_model_cfg, convert_checkpoint)
from mmctx.converters import cotnet, patchconvnet
from mmctx.converters.common import (Rule, apply_rules, check_against,
                                     target_shapes)
from mmctx.models import CoTNet, CoTNeXt, PatchConvNet
from conftest import ROOT, run_tool
from mmctx.models.backbones import SECoTNetD
from official_checkpoints import (PATCHCONVNET, cotnet_spec, materialize,
                                  parameter_count, patchconvnet_spec)
from official_cotnet_keys import (num_parameters, se_cotnetd_shapes,
                                  synthetic_state_dict)

#: Official SE-CoTNetD parameter counts with the 1000-class head.
SE_COTNETD_PARAMS = {50: 23_107_784, 101: 40_912_392, 152: 55_783_688}


def convert(tmp_path, checkpoint, module, name='out.pth', **kwargs):
    """Save ``checkpoint``, convert it; return (state_dict, meta, log)."""
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / name)
    torch.save(checkpoint, src)
    log = []
    convert_checkpoint(src, dst, module.plan, module.detect_arch,
                       module.__name__, log=log.append, **kwargs)
    saved = torch.load(dst, weights_only=True)
    return saved['state_dict'], saved['meta'], log


def on_meta(spec):
    return {key: torch.empty(shape, device='meta') for key, shape in spec}


def load_classifier(state, arch, with_head=False, num_classes=1000):
    """The ImageClassifier of ``arch``'s classification config with
    ``state`` loaded strictly, in eval mode."""
    model = build_classifier(
        classifier_model_cfg(arch, with_head, num_classes))
    model.load_state_dict(state, strict=True)
    return model.eval()


def cotnet50_name():
    """How messages name the backbone-only CoTNet-50 classifier."""
    return ('ImageClassifier(backbone=CoTNet(depth=50, out_indices=(3,), '
            'norm_eval=False))')


@pytest.fixture(scope='module')
def cotnet50():
    return materialize(cotnet_spec(50))


@pytest.fixture(scope='module')
def s60():
    return materialize(patchconvnet_spec('S60'))


# ----------------------------------------------------------------------------
# every architecture: keys, shapes and parameter counts (meta tensors)

COT_ARCHS = [('cotnet50', 50, False), ('cotnext50', 50, True),
             ('cotnet101', 101, False), ('cotnext101', 101, True)]


@pytest.mark.parametrize('arch,depth,next_', COT_ARCHS)
def test_cotnet_archs_detected_and_complete(arch, depth, next_):
    spec = cotnet_spec(depth, next_)
    state = on_meta(spec)
    assert cotnet.detect_arch(state)[0] == arch
    for with_head in (False, True):
        plan = cotnet.plan(arch, with_head, state)
        conversion = apply_rules(state, plan.rules)
        check_against(conversion, target_shapes(plan.build), plan.rules,
                      plan.model_name)
        assert len(conversion.dropped) == (0 if with_head else 2)
        prefixes = ('backbone.', 'head.fc.') if with_head else ('backbone.', )
        assert all(k.startswith(prefixes) for k in conversion.state_dict)
        assert plan.model_cfg == classifier_model_cfg(arch, with_head)
    with torch.device('meta'):
        ours = plan.build()
    assert type(ours.backbone) is (CoTNeXt if next_ else CoTNet)
    assert sum(p.numel() for p in ours.parameters()) == parameter_count(spec)


@pytest.mark.parametrize('depth', [50, 101, 152])
def test_se_cotnetd_archs_detected_and_complete(depth):
    shapes = se_cotnetd_shapes(depth)
    state = on_meta(shapes.items())
    arch = f'se_cotnetd{depth}'
    assert cotnet.detect_arch(state)[0] == arch
    for with_head in (False, True):
        plan = cotnet.plan(arch, with_head, state)
        conversion = apply_rules(state, plan.rules)
        check_against(conversion, target_shapes(plan.build), plan.rules,
                      plan.model_name)
    with torch.device('meta'):
        model = plan.build()
    assert sum(p.numel() for p in model.parameters()) == num_parameters(
        shapes) == SE_COTNETD_PARAMS[depth]


def test_se_cotnetd_converts_and_matches_official_cot_layer(tmp_path):
    official = synthetic_state_dict(se_cotnetd_shapes(50), seed=3)
    state, meta, log = convert(tmp_path, {'state_dict_ema': official},
                               cotnet)
    assert meta['arch'] == 'se_cotnetd50' and meta['ema'] is True
    model = load_classifier(state, 'se_cotnetd50').backbone
    assert type(model) is SECoTNetD
    torch.testing.assert_close(model.stem[7].running_var,
                               official['bn1.running_var'])
    torch.testing.assert_close(model.layer1[0].conv2.fc1.weight,
                               official['layer1.0.conv2.fc1.weight'])
    layer = model.layer4[1].conv2
    x = torch.randn(1, 512, 3, 5)
    with torch.no_grad():
        torch.testing.assert_close(
            layer(x), official_cot(official, 'layer4.1.conv2', x, 1),
            rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('arch,multi', [(a, False) for a in PATCHCONVNET] +
                         [('S60', True)])
def test_patchconvnet_archs_detected_and_complete(arch, multi):
    spec = patchconvnet_spec(arch, multi)
    state = on_meta(spec)
    name = arch + ('_multi' if multi else '')
    assert patchconvnet.detect_arch(state)[0] == name
    plan = patchconvnet.plan(name, False, state)
    conversion = apply_rules(state, plan.rules)
    check_against(conversion, target_shapes(plan.build), plan.rules,
                  plan.model_name)
    assert all(key.startswith(('backbone.stem.', 'backbone.blocks.'))
               for key in conversion.state_dict)
    plan = patchconvnet.plan(name, True, state)
    conversion = apply_rules(state, plan.rules)
    check_against(conversion, target_shapes(plan.build), plan.rules,
                  plan.model_name)
    assert not conversion.dropped
    assert plan.model_cfg == classifier_model_cfg(name)
    ours = target_shapes(plan.build)
    with torch.device('meta'):
        model = plan.build()
    assert sum(p.numel() for p in model.parameters()) == parameter_count(
        spec)
    assert len(ours) == len(conversion.state_dict)


# ----------------------------------------------------------------------------
# CoTNet: files, EMA, prefixes, strict loading, numerical equality


def bn(o, prefix, x):
    return F.batch_norm(x, o[prefix + '.running_mean'],
                        o[prefix + '.running_var'], o[prefix + '.weight'],
                        o[prefix + '.bias'], False, 0., 1e-5)


def official_aggregation(value, weight):
    """The official CUDA kernel's sum, written out: output channel ``c``
    uses weight channel ``c % G``; zero padding 1."""
    n, channels, h, w = value.shape
    groups = weight.shape[2]
    padded = F.pad(value, (1, 1, 1, 1))
    out = torch.zeros_like(value)
    for c in range(channels):
        for kh in range(3):
            for kw in range(3):
                out[:, c] += weight[:, 0, c % groups, kh * 3 + kw] * \
                    padded[:, c, kh:kh + h, kw:kw + w]
    return out


def official_cot(o, p, x, cardinality):
    """``CotLayer``/``CoXtLayer.forward`` from the official tensors."""
    b, c, h, w = x.shape
    key = F.relu(bn(o, p + '.key_embed.1',
                    F.conv2d(x, o[p + '.key_embed.0.weight'], padding=1,
                             groups=4 if cardinality == 1 else 8)))
    if cardinality == 1:
        qk = torch.cat([x, key], 1)
    else:  # x0, k0, x1, k1, ...
        qk = torch.cat([x.unsqueeze(2), key.unsqueeze(2)], 2).view(b, -1, h, w)
    weight = F.relu(bn(o, p + '.embed.1', F.conv2d(
        qk, o[p + '.embed.0.weight'], groups=cardinality)))
    weight = F.conv2d(weight, o[p + '.embed.3.weight'], o[p + '.embed.3.bias'],
                      groups=cardinality)
    weight = F.group_norm(weight, c // 8, o[p + '.embed.4.weight'],
                          o[p + '.embed.4.bias'])
    weight = weight.view(b * cardinality, 1, -1, 9, h, w)
    value = bn(o, p + '.conv1x1.1',
               F.conv2d(x, o[p + '.conv1x1.0.weight'], groups=cardinality))
    value = official_aggregation(value.view(b * cardinality, -1, h, w),
                                 weight).view(b, c, h, w)
    value = F.silu(bn(o, p + '.bn', value))
    gap = (value + key).mean((2, 3), keepdim=True)
    attn = F.relu(bn(o, p + '.se.1', F.conv2d(gap, o[p + '.se.0.weight'],
                                               o[p + '.se.0.bias'])))
    attn = F.conv2d(attn, o[p + '.se.3.weight'], o[p + '.se.3.bias'])
    attn = attn.view(b, c, 2).softmax(2)
    return value * attn[..., 0, None, None] + key * attn[..., 1, None, None]


@pytest.mark.parametrize('next_', [False, True])
def test_cotnet_converts_loads_strictly_and_matches_official_layer(
        tmp_path, next_):
    official = materialize(cotnet_spec(50, next_), seed=1)
    state, meta, log = convert(tmp_path, {'state_dict': official}, cotnet)
    arch = 'cotnext50' if next_ else 'cotnet50'
    model = load_classifier(state, arch).backbone
    assert type(model) is (CoTNeXt if next_ else CoTNet)
    assert meta['arch'] == arch and meta['ema'] is False
    assert f'architecture: {arch} (detected' in '\n'.join(log)
    assert any('conv2.conv1x1.{i}.{p} -> ' in line and 'value_embed' in line
               for line in log)
    for block in ('layer1.1.conv2', 'layer3.2.conv2'):
        layer = model.get_submodule(block)
        x = torch.randn(2, layer.channels, 5, 7)
        with torch.no_grad():
            torch.testing.assert_close(
                layer(x), official_cot(official, block, x, 2 if next_ else 1),
                rtol=1e-4, atol=1e-5)


def test_ema_selected_unless_no_ema_and_said(tmp_path, cotnet50):
    ema = {k: v + 1 if v.is_floating_point() else v
           for k, v in cotnet50.items()}
    checkpoint = {'state_dict': cotnet50, 'state_dict_ema': ema, 'epoch': 3}
    state, meta, log = convert(tmp_path, checkpoint, cotnet)
    assert "using 'state_dict_ema', the EMA weights" in log[0]
    assert meta['ema'] is True and meta['entry'] == 'state_dict_ema'
    torch.testing.assert_close(state['backbone.conv1.weight'],
                               ema['conv1.weight'])
    state, meta, log = convert(tmp_path, checkpoint, cotnet, use_ema=False)
    assert "using 'state_dict', the plain weights (--no-ema given" in log[0]
    assert meta['ema'] is False
    torch.testing.assert_close(state['backbone.conv1.weight'],
                               cotnet50['conv1.weight'])
    _, _, log = convert(tmp_path, {'state_dict': cotnet50}, cotnet)
    assert 'plain weights (the checkpoint has no EMA weights' in log[0]


def test_module_prefix_and_bare_state_dict(tmp_path, cotnet50):
    prefixed = {'module.' + k: v for k, v in cotnet50.items()}
    state, meta, log = convert(tmp_path, prefixed, cotnet)
    assert 'a bare state dict' in log[0] and meta['entry'] is None
    assert f"stripped 'module.' from {len(cotnet50)} key(s)" in log
    assert set(state) == {'backbone.' + k
                          for k in CoTNet(depth=50).state_dict()}
    assert log[-3] == (f'tensors in: {len(cotnet50)}, tensors out: '
                       f'{len(cotnet50) - 2}, dropped: 2')
    assert log[-1].startswith('detection/segmentation backbones load it')


@pytest.mark.parametrize('edit,message', [
    (lambda s: s.pop('layer2.1.conv2.bn.running_var'),
     "'backbone.layer2.1.conv2.norm.running_var' (128,) gets no tensor: "
     "official key 'layer2.1.conv2.bn.running_var' is missing"),
    (lambda s: s.__setitem__('layer3.0.conv2.se.3.bias', torch.zeros(7)),
     "official key 'layer3.0.conv2.se.3.bias' has shape (7,) but "
     f'{cotnet50_name()} expects (512,) for '
     "'backbone.layer3.0.conv2.fuse.3.bias'"),
    (lambda s: s.__setitem__('layer1.0.conv2.extra.weight', torch.zeros(1)),
     "official key 'layer1.0.conv2.extra.weight' (1,) matches no conversion "
     'rule'),
    (lambda s: s.__setitem__('layer1.3.conv1.weight', torch.zeros(1)),
     "official key 'layer1.3.conv1.weight' (1,) becomes "
     "'backbone.layer1.3.conv1.weight', which does not exist in "
     f'{cotnet50_name()}'),
])
def test_bad_keys_fail_naming_the_key(tmp_path, cotnet50, edit, message):
    state = dict(cotnet50)
    edit(state)
    with pytest.raises(ConversionError) as info:
        convert(tmp_path, {'state_dict': state}, cotnet)
    assert message in str(info.value)
    assert not osp.exists(tmp_path / 'out.pth')


def test_cotnet_with_head_loads_into_classifier(tmp_path, cotnet50):
    state, meta, log = convert(tmp_path, {'state_dict': cotnet50}, cotnet,
                               with_head=True)
    assert {k.split('.')[0] for k in state} == {'backbone', 'head'}
    model = load_classifier(state, 'cotnet50', with_head=True)
    assert meta['with_head'] and 'dropped' not in '\n'.join(log[:-2])
    assert meta['model'] == classifier_model_cfg('cotnet50')
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        features = model.backbone(x)[-1]
        logits = model(x, mode='tensor')
    # global average pooling, then the official fc
    torch.testing.assert_close(
        logits, F.linear(features.mean((2, 3)), cotnet50['fc.weight'],
                         cotnet50['fc.bias']), rtol=1e-4, atol=1e-5)


def test_cli_end_to_end_and_pretrained_init_cfg(tmp_path, cotnet50):
    src, dst = tmp_path / 'cotnet50.pth.tar', tmp_path / 'ckpt' / 'cot.pth'
    torch.save({'state_dict': {'module.' + k: v
                               for k, v in cotnet50.items()}}, src)
    tool = osp.join(ROOT, 'tools', 'model_converters', 'cotnet2mmctx.py')
    out = run_tool(ROOT, sys.executable, tool, str(src), str(dst))
    assert 'architecture: cotnet50 (detected: 6 blocks in layer3' in out
    assert f'wrote {dst}: loads strictly into {cotnet50_name()}' in out
    assert (f"init_cfg=dict(type='Pretrained', checkpoint={str(dst)!r}, "
            "prefix='backbone.')") in out
    saved = torch.load(dst, weights_only=True)['state_dict']
    # a detection backbone (all four stages, frozen stem, norm_eval) loads
    # the classifier file by prefix
    model = CoTNet(depth=50, frozen_stages=1, init_cfg=dict(
        type='Pretrained', checkpoint=str(dst), prefix='backbone.'))
    model.init_weights()
    ours = model.state_dict()
    assert len(ours) == len(saved)
    for key, value in ours.items():
        torch.testing.assert_close(value, saved['backbone.' + key])
    torch.testing.assert_close(model.layer4[2].conv2.fuse[3].weight,
                               cotnet50['layer4.2.conv2.se.3.weight'])


def test_cli_reports_errors_without_traceback(tmp_path, cotnet50, capsys):
    src = tmp_path / 'cotnet50.pth'
    torch.save(cotnet50, src)
    spec = importlib.util.spec_from_file_location(
        'cotnet2mmctx',
        osp.join(ROOT, 'tools', 'model_converters', 'cotnet2mmctx.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(SystemExit) as info:
        tool.main([str(src), str(tmp_path / 'out.pth'), '--arch',
                   'cotnext50'])
    assert info.value.code == 1
    error = capsys.readouterr().err
    assert "error: official key 'layer1.0.conv1.weight' has shape " \
        "(64, 64, 1, 1) but ImageClassifier(backbone=CoTNeXt(depth=50, " \
        "out_indices=(3,), norm_eval=False)) expects (96, 64, 1, 1) for " \
        "'backbone.layer1.0.conv1.weight'" in error


# ----------------------------------------------------------------------------
# PatchConvNet


def layer_norm(x, o, prefix):
    return F.layer_norm(x, x.shape[-1:], o[prefix + '.weight'],
                        o[prefix + '.bias'], 1e-6)


def official_trunk_block(o, i, tokens, side):
    """``Layer_scale_init_Block`` with ``Conv_blocks_se`` on (B, N, C)."""
    p = f'blocks.{i}'
    b, n, c = tokens.shape
    x = layer_norm(tokens, o, p + '.norm1').transpose(1, 2).reshape(
        b, c, side, side)
    q = p + '.attn.qkv_pos'
    x = F.gelu(F.conv2d(x, o[q + '.0.weight'], o[q + '.0.bias']))
    x = F.gelu(F.conv2d(x, o[q + '.2.weight'], o[q + '.2.bias'], padding=1,
                        groups=c))
    se = x.mean((2, 3), keepdim=True)
    se = F.relu(F.conv2d(se, o[q + '.4.conv_reduce.weight'],
                         o[q + '.4.conv_reduce.bias']))
    x = x * torch.sigmoid(F.conv2d(se, o[q + '.4.conv_expand.weight'],
                                   o[q + '.4.conv_expand.bias']))
    x = F.conv2d(x, o[q + '.5.weight'], o[q + '.5.bias'])
    return tokens + o[p + '.gamma_1'] * x.reshape(b, c, n).transpose(1, 2)


def official_head(o, tokens, multi):
    """Class-attention block, final norm and head on patch tokens."""
    t = 'blocks_token_only.0'
    b, n, c = tokens.shape
    cls = o['cls_token'].expand(b, -1, -1)
    num = cls.shape[1]
    u = layer_norm(torch.cat([cls, tokens], 1), o, t + '.norm1')

    def linear(x, name):
        return F.linear(x, o[f'{t}.attn.{name}.weight'],
                        o[f'{t}.attn.{name}.bias'])

    context = u[:, num:] if multi else u
    q = linear(u[:, :num], 'q') * c**-0.5
    attn = (q @ linear(context, 'k').transpose(1, 2)).softmax(-1)
    cls = cls + o[t + '.gamma_1'] * linear(attn @ linear(context, 'v'),
                                          'proj')
    hidden = F.gelu(F.linear(layer_norm(cls, o, t + '.norm2'),
                             o[t + '.mlp.fc1.weight'], o[t + '.mlp.fc1.bias']))
    cls = cls + o[t + '.gamma_2'] * F.linear(hidden, o[t + '.mlp.fc2.weight'],
                                            o[t + '.mlp.fc2.bias'])
    features = layer_norm(cls, o, 'norm')
    if not multi:
        return F.linear(features[:, 0], o['head.weight'], o['head.bias'])
    return torch.cat([
        F.linear(features[:, i], o[f'head.{i}.weight'], o[f'head.{i}.bias'])
        for i in range(num)
    ], 1)


class Features(nn.Module):
    """Stands in for a backbone: returns its input as the last map."""

    def forward(self, x):
        return (x, )


def test_patchconvnet_converts_loads_strictly_and_matches_official(
        tmp_path, s60):
    state, meta, log = convert(tmp_path, {'model': s60}, patchconvnet)
    assert meta['arch'] == 'S60'
    text = '\n'.join(log)
    assert "using 'model', the plain weights" in log[0]
    assert 'dropped 23 tensor(s): cls_token, blocks_token_only.0.gamma_1' \
        in text
    assert 'tensors in: 807, tensors out: 784, dropped: 23' in log
    model = load_classifier(state, 'S60').backbone
    assert model.out_indices == (2, )
    tokens = torch.randn(2, 16, 384)
    x = tokens.transpose(1, 2).reshape(2, 384, 4, 4)
    with torch.no_grad():
        ours = model.blocks[5](x).flatten(2).transpose(1, 2)
    torch.testing.assert_close(ours, official_trunk_block(s60, 5, tokens, 4),
                               rtol=1e-4, atol=1e-5)
    image = torch.randn(1, 3, 32, 48)
    stem = image
    for i in range(4):
        stem = F.conv2d(stem, s60[f'patch_embed.proj.{2 * i}.0.weight'],
                        stride=2, padding=1)
        stem = F.gelu(stem) if i < 3 else stem
    with torch.no_grad():
        torch.testing.assert_close(model.stem(image), stem, rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.parametrize('multi', [False, True])
def test_patchconvnet_with_head_matches_official_head(tmp_path, s60, multi):
    official = s60
    if multi:  # the same trunk, one class token and classifier per class
        official = {k: v for k, v in s60.items()
                    if k not in ('cls_token', 'head.weight', 'head.bias')}
        official.update(materialize(
            [spec for spec in patchconvnet_spec('S60', multi=True)
             if spec[0] == 'cls_token' or spec[0].startswith('head.')],
            seed=2))
    state, meta, log = convert(tmp_path, {'model': official}, patchconvnet,
                               with_head=True)
    arch = 'S60_multi' if multi else 'S60'
    model = load_classifier(state, arch, with_head=True)
    assert {k.split('.')[0] for k in state} == {'backbone', 'neck', 'head'}
    assert meta['model'] == classifier_model_cfg(arch)
    if multi:
        assert meta['arch'] == 'S60_multi'
        assert any('stacked over {c}' in line and '2000 tensor(s)' in line
                   for line in log)
    model.backbone = Features()
    x = torch.randn(2, 384, 3, 3)
    with torch.no_grad():
        torch.testing.assert_close(
            model(x, mode='tensor'),
            official_head(official, x.flatten(2).transpose(1, 2), multi),
            rtol=1e-4, atol=1e-4)


def test_patchconvnet_bad_stack_fails():
    official = on_meta(patchconvnet_spec('S60', multi=True))
    official.pop('head.17.bias')
    plan = patchconvnet.plan('S60_multi', True, official)
    with pytest.raises(ConversionError,
                       match=r"0\.\.999 for 'head.fc.bias', index 17 is "
                       'missing'):
        apply_rules(official, plan.rules)


def test_two_keys_for_one_target_fail():
    rules = [Rule('a.{i}', 'x', 'first'), Rule('b', 'x', 'second')]
    state = {'a.0': torch.zeros(1), 'b': torch.zeros(1)}
    with pytest.raises(ConversionError,
                       match="official keys 'a.0' and 'b' both become 'x'"):
        apply_rules(state, rules)


def test_patchconvnet_backbone_file_loads_into_a_pyramid_backbone(
        tmp_path, s60):
    """A detection PatchConvNet (all four levels) loads the converted
    trunk by prefix; its pyramid levels keep their initialisation."""
    state, _, _ = convert(tmp_path, {'model': s60}, patchconvnet)
    model = PatchConvNet(arch='S60', init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'out.pth'),
        prefix='backbone.'))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()
    for key, value in model.state_dict().items():
        if key.startswith('pyramid.'):
            torch.testing.assert_close(value, before[key])
        else:
            torch.testing.assert_close(value, state['backbone.' + key])
    assert any(k.startswith('pyramid.0.') for k in before)


#: converter architecture -> its classification config
CLASSIFICATION_CONFIGS = {
    'cotnet50': 'cotnet50_8xb80_in1k.py',
    'cotnet101': 'cotnet101_8xb56_in1k.py',
    'cotnext50': 'cotnext50_8xb64_in1k.py',
    'cotnext101': 'cotnext101_8xb64_in1k.py',
    'se_cotnetd50': 'se-cotnetd50_8xb80_in1k.py',
    'se_cotnetd101': 'se-cotnetd101_8xb64_in1k.py',
    'se_cotnetd152': 'se-cotnetd152_8xb64_in1k.py',
    'S60': 'patchconvnet-s60_32xb64_in1k.py',
    'S120': 'patchconvnet-s120_32xb64_in1k.py',
    'B60': 'patchconvnet-b60_32xb64_in1k.py',
    'B120': 'patchconvnet-b120_32xb64_in1k.py',
    'S60_multi': 'patchconvnet-s60-multi_32xb64_in1k.py',
}


@pytest.mark.parametrize('arch,config', CLASSIFICATION_CONFIGS.items(),
                         ids=list(CLASSIFICATION_CONFIGS))
def test_classification_config_model_is_the_converter_target(arch, config):
    """The converted --with-head file loads strictly into the config's
    model: same modules, same keys and shapes (training-only arguments,
    such as the loss or drop path, may differ)."""
    model = Config.fromfile(
        osp.join(ROOT, 'configs', 'classification', config)).model.to_dict()
    target = classifier_model_cfg(arch)
    assert target['backbone'].items() <= model['backbone'].items()
    assert model['neck'] == target['neck']
    for key in ('type', 'num_classes', 'in_channels'):
        assert model['head'][key] == target['head'][key], key
    assert target_shapes(lambda: build_classifier(model)) == target_shapes(
        lambda: build_classifier(target))


@pytest.mark.parametrize('arch', ['resnet50', 'S60_multi_multi'])
def test_unknown_classifier_arch_is_named(arch):
    with pytest.raises(ConversionError, match=repr(arch)):
        classifier_model_cfg(arch)
