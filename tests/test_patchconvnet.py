"""PatchConvNet and AttentionPool: naive references, paper sizes, pyramid
shapes at non-square sizes, layer scale and drop path, freezing,
checkpointing, errors, attention maps, and a demo train/test run."""
import math
import os.path as osp
import sys

import pytest
import torch
from mmdet.models.backbones import ResNet
from torch.utils.checkpoint import checkpoint

from mmctx.converters import build_classifier, classifier_model_cfg
from mmctx.models import AttentionPool, PatchConvNet, capture_attention
from mmctx.models.backbones import patchconvnet
from mmctx.models.backbones.patchconvnet import PatchConvBlock
from mmctx.registry import MODELS
from conftest import ROOT, randomize_, run_tool, train

TINY = dict(embed_dims=16, depth=4)


# ----------------------------------------------------------------------------
# naive references: explicit sums, no torch.nn.functional


def naive_layer_norm(x, weight, bias, eps=1e-6):
    """LayerNorm of (N, C, H, W) over C at each position."""
    mean = x.sum(1, keepdim=True) / x.shape[1]
    var = ((x - mean)**2).sum(1, keepdim=True) / x.shape[1]
    return (x - mean) / torch.sqrt(var + eps) * weight.view(
        1, -1, 1, 1) + bias.view(1, -1, 1, 1)


def naive_gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def naive_conv1x1(x, weight, bias):
    return torch.einsum('nchw,oc->nohw', x, weight[:, :, 0, 0]) + bias.view(
        1, -1, 1, 1)


def naive_depthwise3x3(x, weight, bias):
    n, c, h, w = x.shape
    padded = torch.zeros(n, c, h + 2, w + 2)
    padded[:, :, 1:-1, 1:-1] = x
    out = bias.view(1, -1, 1, 1).expand(n, c, h, w).clone()
    for i in range(3):
        for j in range(3):
            out += weight[:, 0, i, j].view(1, -1, 1, 1) * padded[:, :, i:i + h,
                                                                 j:j + w]
    return out


def naive_block(block, x):
    """x + gamma * (1x1, GELU, dw 3x3, GELU, SE, 1x1)(LN(x))."""
    out = naive_layer_norm(x, block.norm.weight, block.norm.bias)
    out = naive_gelu(naive_conv1x1(out, block.conv1.weight, block.conv1.bias))
    out = naive_gelu(
        naive_depthwise3x3(out, block.dwconv.weight, block.dwconv.bias))
    squeeze, excite = block.se.squeeze.conv, block.se.excite.conv
    pooled = out.mean((2, 3), keepdim=True)
    hidden = naive_conv1x1(pooled, squeeze.weight, squeeze.bias).clamp(min=0)
    gates = 1 / (1 + torch.exp(-naive_conv1x1(hidden, excite.weight,
                                              excite.bias)))
    out = naive_conv1x1(out * gates, block.conv2.weight, block.conv2.bias)
    return x + block.gamma.weight.view(1, -1, 1, 1) * out


def naive_deconv2x2(x, layer):
    """2x2 stride-2 transposed conv: each input pixel paints a 2x2 patch."""
    n, _, h, w = x.shape
    out = torch.einsum('ncij,coab->noiajb', x, layer.weight)
    return out.reshape(n, -1, 2 * h, 2 * w) + layer.bias.view(1, -1, 1, 1)


def naive_attention_pool(pool, x):
    """Per sample: cls attends over LN([cls; x]), then MLP, then LN."""
    outputs, maps = [], []
    for sample in x:
        c = sample.shape[0]
        tokens = torch.cat([pool.cls_token[0], sample.reshape(c, -1).t()])

        def ln(t, norm):
            mean = t.mean(-1, keepdim=True)
            var = ((t - mean)**2).mean(-1, keepdim=True)
            return (t - mean) / torch.sqrt(var + 1e-6) * norm.weight + \
                norm.bias

        normed = ln(tokens, pool.norm1)
        q = normed[0] @ pool.q.weight.t() + pool.q.bias
        k = normed @ pool.k.weight.t() + pool.k.bias
        v = normed @ pool.v.weight.t() + pool.v.bias
        logits = k @ q / math.sqrt(c)
        weights = torch.exp(logits - logits.max())
        weights = weights / weights.sum()
        maps.append(weights[1:] / weights[1:].sum())
        attended = (weights[:, None] * v).sum(0)
        cls = tokens[0] + pool.gamma1.weight * (
            attended @ pool.proj.weight.t() + pool.proj.bias)
        fc1, fc2 = pool.mlp.layers[0][0], pool.mlp.layers[1]
        hidden = naive_gelu(ln(cls, pool.norm2) @ fc1.weight.t() + fc1.bias)
        cls = cls + pool.mlp.gamma2.weight * (
            hidden @ fc2.weight.t() + fc2.bias)
        outputs.append(ln(cls, pool.norm))
    return torch.stack(outputs), torch.stack(maps)


# ----------------------------------------------------------------------------
# the trunk block and the pyramid


@pytest.mark.parametrize('shape', [(2, 16, 5, 7), (1, 16, 3, 1)])
@pytest.mark.parametrize('scale', [1., 1e-3])  # 1e-3: LayerNorm eps shows
def test_block_matches_naive_reference(shape, scale):
    block = randomize_(PatchConvBlock(16, layer_scale_init=1e-4)).eval()
    x = torch.randn(shape) * scale
    torch.testing.assert_close(block(x), naive_block(block, x),
                               rtol=1e-4, atol=1e-5)


def test_backbone_matches_naive_stem_trunk_and_pyramid():
    model = randomize_(PatchConvNet(arch=TINY)).eval()
    x = torch.randn(2, 3, 48, 80)
    outs = model(x)
    feat = x
    for i, layer in enumerate(model.stem):
        feat = torch.nn.functional.conv2d(feat, layer.conv.weight, stride=2,
                                          padding=1)
        feat = naive_gelu(feat) if i < 3 else feat
    for block in model.blocks:
        feat = naive_block(block, feat)
    up = model.pyramid['0']
    level0 = naive_deconv2x2(
        naive_gelu(
            naive_layer_norm(naive_deconv2x2(feat, up[0]), up[1].weight,
                             up[1].bias)), up[3])
    level1 = naive_deconv2x2(feat, model.pyramid['1'])
    # stride 32 rounds up: the 3x5 trunk grid pools to 2x3, as ResNet's c5
    level3 = torch.nn.functional.pad(feat, (0, 1, 0, 1), value=-math.inf)
    level3 = level3.unfold(2, 2, 2).unfold(3, 2, 2).amax((-1, -2))
    for out, ref in zip(outs, (level0, level1, feat, level3)):
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_every_layer_norm_has_eps_1e_6_on_low_variance_input():
    """At a variance of 1e-6 an eps of 1e-5 rescales by 2.3; at unit
    variance it would be invisible."""
    norms = [
        m for m in (*PatchConvNet(arch=TINY).modules(),
                    *AttentionPool(16).modules())
        if isinstance(m, torch.nn.LayerNorm)
    ]
    assert len(norms) == 4 + 1 + 3  # trunk blocks, level 0, pool
    for norm in norms:
        randomize_(norm)
        x = torch.randn(2, 16, 3, 5) * 1e-3
        if isinstance(norm, patchconvnet.LayerNorm2d):
            out = norm(x)
        else:  # tokens, channels last
            out = norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        torch.testing.assert_close(
            out, naive_layer_norm(x, norm.weight, norm.bias), rtol=1e-4,
            atol=1e-5)


@pytest.mark.parametrize('hw', [(64, 96), (48, 80), (112, 32), (16, 16)])
def test_pyramid_shapes_at_non_square_sizes(hw):
    model = PatchConvNet(arch=TINY).eval()
    h, w = hw
    outs = model(torch.randn(2, 3, h, w))
    assert model.out_channels == [16] * 4
    for level, out in enumerate(outs):
        stride = 4 * 2**level
        assert out.shape == (2, 16, math.ceil(h / stride),
                             math.ceil(w / stride))


def test_out_indices_build_only_their_levels():
    trunk = PatchConvNet(arch=TINY, out_indices=(2, ))
    assert list(trunk.pyramid) == ['2'] and trunk.out_channels == [16]
    # the stride-16 map is the trunk output: no pyramid parameters at all
    assert not any('pyramid' in name for name, _ in trunk.named_parameters())
    full = PatchConvNet(arch=TINY, out_indices=[3, 1])
    assert full.out_indices == (1, 3) and full.out_channels == [16, 16]
    x = torch.randn(1, 3, 64, 32)
    assert [o.shape[-2:] for o in full.eval()(x)] == [(8, 4), (2, 1)]


# ----------------------------------------------------------------------------
# paper sizes


def _num_params(*modules):
    return sum(p.numel() for m in modules for p in m.parameters())


@pytest.mark.parametrize('arch,millions', [('S60', 25.2), ('S120', 47.7),
                                           ('B60', 99.4)])
def test_imagenet_model_matches_paper_parameter_count(arch, millions):
    # the model of the classification config (mmpretrain ImageClassifier)
    classifier = build_classifier(classifier_model_cfg(arch))
    assert isinstance(classifier.backbone, PatchConvNet)
    assert isinstance(classifier.neck, AttentionPool)
    count = _num_params(classifier)
    assert abs(count / 1e6 - millions) <= 0.01 * millions
    assert round(count / 1e6, 1) == millions
    if arch == 'S60':  # the official model's exact count
        assert count == 25_231_096


def test_presets_follow_official_widths_depths_and_layer_scales():
    model = PatchConvNet(arch='S60', out_indices=(2, ))
    assert (model.embed_dims, model.depth) == (384, 60)
    assert [m.out_channels for m in model.stem.modules()
            if isinstance(m, torch.nn.Conv2d)] == [48, 96, 192, 384]
    assert torch.all(model.blocks[0].gamma.weight == 1e-4)
    assert model.blocks[0].se.squeeze.conv.out_channels == 96
    for arch, dims, depth in (('S120', 384, 120), ('B60', 768, 60),
                              ('B120', 768, 120), ('L120', 1024, 120)):
        assert PatchConvNet.arch_settings[arch] == (dims, depth, 1e-6)
    custom = PatchConvNet(arch=dict(embed_dims=32, depth=3,
                                    layer_scale_init=0.5))
    assert torch.all(custom.blocks[2].gamma.weight == 0.5)
    assert torch.all(
        PatchConvNet(arch=TINY, layer_scale_init=1e-3).blocks[0].gamma.weight
        == 1e-3)


# ----------------------------------------------------------------------------
# layer scale, drop path, freezing, checkpointing


def test_layer_scale_scales_the_residual_branch():
    block = randomize_(PatchConvBlock(16, layer_scale_init=1e-4)).eval()
    x = torch.randn(2, 16, 6, 4)
    branch = block(x) - x
    with torch.no_grad():
        block.gamma.weight.mul_(3)
    torch.testing.assert_close(block(x) - x, 3 * branch, rtol=1e-4, atol=1e-6)
    fresh = PatchConvBlock(16, layer_scale_init=1e-6).eval()
    assert (fresh(x) - x).abs().max() < 1e-4  # near identity at init


def test_drop_path_drops_whole_samples_in_training_only():
    block = randomize_(PatchConvBlock(16, 1e-4, drop_path_rate=0.5))
    x = torch.randn(64, 16, 4, 4)
    branch = block.eval()(x) - x
    assert torch.equal(block(x), block(x))  # eval: deterministic
    out = block.train()(x)
    kept = torch.isclose(out, x + 2 * branch, rtol=1e-4, atol=1e-5).flatten(
        1).all(1)
    dropped = (out == x).flatten(1).all(1)
    assert torch.all(kept ^ dropped)
    assert 0 < kept.sum() < 64


def test_backbone_eval_mode_is_deterministic():
    model = PatchConvNet(arch=TINY, drop_path_rate=0.5)
    x = torch.randn(2, 3, 32, 48)
    model.train()
    a, b = model(x)[2], model(x)[2]
    assert not torch.equal(a, b)  # drop path is on in training
    model.eval()
    for first, second in zip(model(x), model(x)):
        assert torch.equal(first, second)


@pytest.mark.parametrize('frozen_stages,num_blocks', [(0, 0), (1, 2), (2, 4),
                                                      (4, 8)])
def test_frozen_stages_freeze_stem_and_leading_blocks(frozen_stages,
                                                      num_blocks):
    model = PatchConvNet(arch=dict(embed_dims=16, depth=8),
                         frozen_stages=frozen_stages, drop_path_rate=0.5)
    model.train()
    frozen = [model.stem, *model.blocks[:num_blocks]]
    for module in frozen:
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())
    for module in [*model.blocks[num_blocks:], model.pyramid]:
        assert module.training
        assert all(p.requires_grad for p in module.parameters())
    model(torch.randn(2, 3, 32, 32))[0].sum().backward()
    assert all(p.grad is None for m in frozen for p in m.parameters())


def test_fully_frozen_trunk_is_deterministic_in_training():
    model = PatchConvNet(arch=TINY, frozen_stages=4, drop_path_rate=0.5,
                         out_indices=(2, )).train()
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(model(x)[0], model(x)[0])


def test_with_cp_gives_the_same_outputs_and_gradients(monkeypatch):
    calls = []

    def counting_checkpoint(*args, **kwargs):
        calls.append(kwargs['use_reentrant'])
        return checkpoint(*args, **kwargs)

    monkeypatch.setattr(patchconvnet, 'checkpoint', counting_checkpoint)
    plain = randomize_(PatchConvNet(arch=TINY)).train()
    ckpt = PatchConvNet(arch=TINY, with_cp=True).train()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 48)
    grads = []
    for model in (plain, ckpt):
        outs = model(x)
        sum(o.square().sum() for o in outs).backward()
        grads.append([p.grad for p in model.parameters()])
        assert all(g is not None for g in grads[-1])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)
    assert calls == [False] * TINY['depth']  # each block, non-reentrant
    with torch.no_grad():
        ckpt.eval()(x)
    assert len(calls) == TINY['depth']


# ----------------------------------------------------------------------------
# errors


@pytest.mark.parametrize('hw', [(40, 32), (32, 24)])
def test_input_not_divisible_by_16_names_the_shape(hw):
    with pytest.raises(ValueError, match=r'divisible by 16.*\(1, 3, ' +
                       f'{hw[0]}, {hw[1]}' + r'\)'):
        PatchConvNet(arch=TINY)(torch.randn(1, 3, *hw))


@pytest.mark.parametrize('kwargs,name', [
    (dict(arch='S90'), 'arch'),
    (dict(arch=dict(embed_dims=20, depth=2)), 'arch.embed_dims'),
    (dict(arch=dict(embed_dims=16)), 'arch'),
    (dict(arch=dict(embed_dims=16, depth=0)), 'arch.depth'),
    (dict(arch=dict(embed_dims=16, depth=2, width=3)), 'arch'),
    (dict(out_indices=(4, )), 'out_indices'),
    (dict(out_indices=(1, 1)), 'out_indices'),
    (dict(out_indices=()), 'out_indices'),
    (dict(frozen_stages=5), 'frozen_stages'),
    (dict(frozen_stages=1.5), 'frozen_stages'),
    (dict(out_indices=(1.0, )), 'out_indices'),
    (dict(drop_path_rate=1.), 'drop_path_rate'),
    (dict(drop_path_rate=True), 'drop_path_rate'),
    (dict(layer_scale_init=0.), 'layer_scale_init'),
    (dict(layer_scale_init=True), 'layer_scale_init'),
])
def test_bad_backbone_arguments_raise_value_error(kwargs, name):
    kwargs.setdefault('arch', TINY)
    with pytest.raises(ValueError, match=name):
        PatchConvNet(**kwargs)


@pytest.mark.parametrize('kwargs,name', [
    (dict(in_channels=0), 'in_channels'),
    (dict(in_channels=16, num_heads=3), 'num_heads'),
    (dict(in_channels=16, mlp_ratio=0), 'mlp_ratio'),
    (dict(in_channels=16, mlp_ratio=0.01), 'mlp_ratio'),
    (dict(in_channels=16, layer_scale_init=-1.), 'layer_scale_init'),
])
def test_bad_pool_arguments_raise_value_error(kwargs, name):
    with pytest.raises(ValueError, match=name):
        AttentionPool(**kwargs)


def test_pool_rejects_wrong_channels_naming_the_shape():
    with pytest.raises(ValueError, match=r'\(2, 8, 3, 3\)'):
        AttentionPool(16)(torch.randn(2, 8, 3, 3))


# ----------------------------------------------------------------------------
# AttentionPool


@pytest.mark.parametrize('shape', [(2, 16, 3, 5), (1, 16, 1, 1),
                                   (3, 16, 7, 2)])
def test_pool_matches_naive_reference_and_reports_position_weights(shape):
    pool = randomize_(AttentionPool(16), std=0.3).eval()
    x = torch.randn(shape)
    expected, expected_map = naive_attention_pool(pool, x)
    with capture_attention(pool) as maps:
        out = pool(x)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    (record, ) = maps['']
    n, _, h, w = shape
    assert record.kind == 'spatial'
    assert record.query_hw == (1, 1) and record.key_hw == (h, w)
    assert record.weights.shape == (n, 1, 1, h * w)
    torch.testing.assert_close(record.weights.sum(-1), torch.ones(n, 1, 1))
    torch.testing.assert_close(record.weights.view(n, -1), expected_map,
                               rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(pool(x), out)  # unobserved: same result


def test_pool_attention_depends_on_content():
    pool = randomize_(AttentionPool(16), std=0.3).eval()
    x = torch.randn(1, 16, 4, 4)
    x[..., 1, 2] *= 8  # one salient position
    with capture_attention(pool) as maps:
        pool(x)
    weights = maps[''][0].weights.view(-1)
    assert not torch.allclose(weights, torch.full_like(weights, 1 / 16))


def test_pool_keeps_its_init_and_layer_scale():
    pool = AttentionPool(32, layer_scale_init=1e-6, mlp_ratio=3)
    assert pool.mlp.layers[0][0].out_features == 96
    assert torch.all(pool.gamma1.weight == 1e-6)
    assert torch.all(pool.mlp.gamma2.weight == 1e-6)
    randomize_(pool).init_weights()
    assert torch.all(pool.gamma1.weight == 1e-6)
    assert torch.all(pool.q.bias == 0) and pool.q.weight.std() < 0.03
    assert 0 < pool.cls_token.std() < 0.03


def resnet50_classifier(neck: dict) -> torch.nn.Module:
    return build_classifier(dict(
        type='ImageClassifier', backbone=dict(type='mmdet.ResNet', depth=50),
        neck=neck, head=dict(type='LinearClsHead', num_classes=1000,
                             in_channels=2048)))


def test_pool_on_resnet50_replaces_average_pooling():
    classifier = resnet50_classifier(
        dict(type='AttentionPoolNeck', in_channels=2048))
    baseline = resnet50_classifier(dict(type='GlobalAveragePooling'))
    assert type(classifier.backbone) is ResNet
    assert _num_params(baseline.neck) == 0
    extra = _num_params(classifier) - _num_params(baseline)
    # LN x3, q/k/v/proj (4 C^2 + 4 C), MLP ratio 3 (6 C^2 + 4 C), 2 scales
    c = 2048
    assert extra == c + 3 * 2 * c + 4 * c * c + 4 * c + 6 * c * c + 4 * c \
        + 2 * c
    classifier.eval()
    with capture_attention(classifier) as maps:
        logits = classifier(torch.randn(2, 3, 64, 96), mode='tensor')
    assert logits.shape == (2, 1000)
    assert maps['neck'][0].weights.shape == (2, 1, 1, 2 * 3)


def test_pool_is_registered():
    pool = MODELS.build(dict(type='AttentionPool', in_channels=8))
    assert isinstance(pool, AttentionPool)


# ----------------------------------------------------------------------------
# end to end: the demo Mask R-CNN and UperNet train a few steps and test

DEMOS = [('mask_rcnn_patchconvnet_s60_fpn_demo.py', 'coco/segm_mAP'),
         ('upernet_patchconvnet_s60_ade20k_demo.py', 'mIoU')]


@pytest.mark.parametrize('name,metric', DEMOS, ids=['mask_rcnn', 'upernet'])
def test_demo_train_test(workspace, name, metric):
    config = osp.join(ROOT, 'configs', 'demo', name)
    work = workspace / name[:-3]
    output = train(workspace, config, work, 2)
    assert 'Iter(train) [2/2]' in output
    output = run_tool(workspace, sys.executable,
                      osp.join(ROOT, 'tools', 'test.py'), config,
                      str(work / 'iter_2.pth'), '--work-dir',
                      str(work / 'test'))
    assert metric in output
