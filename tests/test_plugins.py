"""GC, NL, SNL and SE plug-ins: identity at init, equality with mmcv/mmdet,
gradients, errors and attention observation."""
import itertools

import pytest
import torch
from mmcv.cnn import ContextBlock, NonLocal2d
from mmdet.models.layers import SELayer

from mmctx.models import (GCBlock, NonLocalBlock, SEBlock,
                          SimplifiedNonLocalBlock, capture_attention)
from conftest import randomize_

X_SHAPES = [(2, 32, 7, 9), (1, 32, 1, 1), (2, 32, 12, 5)]


@pytest.mark.parametrize('shape', X_SHAPES)
@pytest.mark.parametrize('pooling', ['att', 'avg'])
def test_gc_identity_at_init(shape, pooling):
    x = torch.randn(shape)
    assert torch.equal(GCBlock(32, ratio=1. / 4, pooling=pooling)(x), x)


def test_gc_mul_fusion_starts_at_half_gate():
    # zero last conv -> sigmoid(0) = 0.5, as in mmcv's ContextBlock
    x = torch.randn(2, 32, 4, 4)
    block = GCBlock(32, ratio=1. / 4, fusions=('mul', ))
    torch.testing.assert_close(block(x), 0.5 * x)


@pytest.mark.parametrize('pooling,fusions', list(itertools.product(
    ['att', 'avg'], [('add', ), ('mul', ), ('add', 'mul')])))
def test_gc_equals_mmcv_context_block(pooling, fusions):
    mmcv_names = tuple(f'channel_{f}' for f in fusions)
    ref = randomize_(ContextBlock(64, 1. / 4, pooling, mmcv_names))
    ours = GCBlock(64, ratio=1. / 4, pooling=pooling, fusions=fusions)
    ours.load_state_dict(ref.state_dict())  # same keys, strict
    x = torch.randn(2, 64, 11, 6)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


NL_MODES = ('gaussian', 'embedded_gaussian', 'dot_product', 'concatenation')
NL_CASES = list(itertools.product(NL_MODES, [False, True]))
NL_IDS = [f'{mode}{"-sub" if sub else ""}' for mode, sub in NL_CASES]


@pytest.mark.parametrize('mode,sub_sample', NL_CASES, ids=NL_IDS)
@pytest.mark.parametrize('use_scale,norm', [(True, False), (False, False),
                                            (True, True)],
                         ids=['scale', 'no-scale', 'scale-bn'])
def test_nl_loads_mmcv_non_local_strictly_and_matches(mode, sub_sample,
                                                      use_scale, norm):
    norm_cfg = dict(type='BN') if norm else None
    ref = randomize_(
        NonLocal2d(
            32, reduction=2, use_scale=use_scale, mode=mode,
            sub_sample=sub_sample, norm_cfg=norm_cfg)).eval()
    ours = NonLocalBlock(
        32, reduction=2, mode=mode, use_scale=use_scale,
        sub_sample=sub_sample, norm_cfg=norm_cfg).eval()
    ours.load_state_dict(ref.state_dict())  # same keys, strict
    ref.load_state_dict(ours.state_dict())  # and back
    x = torch.randn(2, 32, 9, 7)
    expected = ref(x)
    torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-5)
    with capture_attention(ours) as maps:
        torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-5)
    keys = 12 if sub_sample else 63
    assert maps[''][0].weights.shape == (2, 1, 63, keys)


@pytest.mark.parametrize('mode,sub_sample', NL_CASES, ids=NL_IDS)
def test_nl_zeros_init_is_identity_in_every_mode(mode, sub_sample):
    block = NonLocalBlock(32, mode=mode, sub_sample=sub_sample)
    x = torch.randn(2, 32, 6, 8)
    assert torch.equal(block(x), x)
    # and again after an enclosing model's init_weights
    randomize_(block).init_weights()
    assert torch.equal(block(x), x)
    assert not torch.equal(
        NonLocalBlock(32, mode=mode, sub_sample=sub_sample,
                      zeros_init=False)(x), x)


@pytest.mark.parametrize('norm', [False, True])
def test_nl_zeros_init_false_initialises_output_layer_as_mmcv(norm):
    norm_cfg = dict(type='BN') if norm else None
    ours = NonLocalBlock(64, zeros_init=False, std=0.5, norm_cfg=norm_cfg)
    ref = NonLocal2d(64, zeros_init=False, std=0.5, norm_cfg=norm_cfg)
    for block in (ours, ref):
        out = block.conv_out.norm if norm else block.conv_out.conv
        assert 0.3 < out.weight.std() < 0.7
        assert torch.count_nonzero(out.bias) == 0


@pytest.mark.parametrize('mode', ['gaussian', 'embedded_gaussian'])
@pytest.mark.parametrize('observed', [False, True])
def test_nl_uses_fused_attention_unless_observed(monkeypatch, observed,
                                                 mode):
    calls = []
    fused = torch.nn.functional.scaled_dot_product_attention

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return fused(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, 'scaled_dot_product_attention',
                        spy)
    block = NonLocalBlock(16, mode=mode)
    x = torch.randn(2, 16, 5, 6)
    if observed:
        with capture_attention(block):
            block(x)
        assert calls == []
    else:
        block(x)
        # gaussian compares the raw 16-channel inputs
        assert calls == [(2, 1, 30, 16 if mode == 'gaussian' else 8)]


def test_nl_with_norm_zero_inits_norm():
    block = NonLocalBlock(16, norm_cfg=dict(type='BN'))
    assert torch.count_nonzero(block.conv_out.norm.weight) == 0
    x = torch.randn(2, 16, 5, 5)
    assert torch.equal(block.eval()(x), x)


@pytest.mark.parametrize('block', [
    lambda: NonLocalBlock(32),
    lambda: NonLocalBlock(32, mode='dot_product', sub_sample=True),
    lambda: SimplifiedNonLocalBlock(32),
    lambda: GCBlock(32),
])
def test_zero_init_blocks_are_identity(block):
    x = torch.randn(2, 32, 6, 8)
    assert torch.equal(block()(x), x)


def test_snl_equals_formula():
    block = randomize_(SimplifiedNonLocalBlock(16))
    x = torch.randn(2, 16, 5, 7)
    logits = torch.einsum('c,nchw->nhw', block.conv_mask.weight.flatten(),
                          x) + block.conv_mask.bias
    weights = logits.flatten(1).softmax(-1)  # (N, HW)
    context = torch.einsum('nk,nck->nc', weights, x.flatten(2))
    value = context @ block.conv_value.weight.flatten(1).T \
        + block.conv_value.bias
    expected = x + value[:, :, None, None]
    torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)


def test_se_equals_mmdet_se_layer():
    ref = randomize_(SELayer(64, ratio=16))
    ours = SEBlock(64, ratio=16)
    ours.load_state_dict({
        key.replace('conv1.', 'squeeze.').replace('conv2.', 'excite.'): value
        for key, value in ref.state_dict().items()
    })
    x = torch.randn(2, 64, 7, 5)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('make', [
    lambda: GCBlock(32, fusions=('add', 'mul')),
    lambda: GCBlock(32, pooling='avg'),
    lambda: NonLocalBlock(32),
    lambda: NonLocalBlock(32, mode='dot_product', sub_sample=True),
    lambda: NonLocalBlock(32, mode='gaussian', sub_sample=True),
    lambda: NonLocalBlock(32, mode='concatenation'),
    lambda: SimplifiedNonLocalBlock(32),
    lambda: SEBlock(32, ratio=4),
])
def test_gradients_reach_every_parameter(make):
    block = randomize_(make())
    x = torch.randn(2, 32, 6, 5, requires_grad=True)
    block(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, param in block.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


@pytest.mark.parametrize('make,argument', [
    (lambda: GCBlock(32, ratio=0), 'ratio'),
    (lambda: GCBlock(32, ratio=-0.5), 'ratio'),
    (lambda: GCBlock(32, ratio=1.5), 'ratio'),
    (lambda: GCBlock(32, pooling='max'), 'pooling'),
    (lambda: GCBlock(32, fusions=('concat', )), 'fusions'),
    (lambda: GCBlock(32, fusions=()), 'fusions'),
    (lambda: GCBlock(32, fusions='add'), 'fusions'),
    (lambda: GCBlock(8, ratio=1. / 16), 'in_channels * ratio'),
    (lambda: NonLocalBlock(32, mode='cosine'), 'mode must be one of '
     r"\('gaussian', 'embedded_gaussian', 'dot_product', 'concatenation'\)"),
    (lambda: NonLocalBlock(32, reduction=0), 'reduction'),
    (lambda: NonLocalBlock(4, reduction=8), 'reduction'),
    (lambda: SimplifiedNonLocalBlock(0), 'in_channels'),
    (lambda: SEBlock(32, ratio=0), 'ratio'),
    (lambda: SEBlock(8, ratio=16), 'ratio'),
])
def test_bad_arguments_name_the_argument(make, argument):
    with pytest.raises(ValueError, match=argument.replace('*', r'\*')):
        make()


def test_observation_reports_maps_and_changes_nothing():
    blocks = torch.nn.ModuleDict(
        dict(
            gc=randomize_(GCBlock(16, ratio=1. / 4)),
            nl=randomize_(NonLocalBlock(16)),
            nl_sub=randomize_(NonLocalBlock(16, sub_sample=True)),
            snl=randomize_(SimplifiedNonLocalBlock(16)),
            se=randomize_(SEBlock(16, ratio=4))))
    x = torch.randn(2, 16, 6, 7)
    plain = {name: block(x) for name, block in blocks.items()}
    with capture_attention(blocks) as maps:
        observed = {name: block(x) for name, block in blocks.items()}
    for name in blocks:
        torch.testing.assert_close(observed[name], plain[name])
        assert len(maps[name]) == 1
    for name in ('gc', 'snl'):
        attention = maps[name][0]
        assert attention.weights.shape == (2, 1, 1, 42)
        assert attention.query_hw == (1, 1) and attention.key_hw == (6, 7)
        torch.testing.assert_close(
            attention.weights.sum(-1), torch.ones(2, 1, 1))
    nl = maps['nl'][0]
    assert nl.weights.shape == (2, 1, 42, 42) and nl.key_hw == (6, 7)
    torch.testing.assert_close(nl.weights.sum(-1), torch.ones(2, 1, 42))
    q = blocks['nl'].theta(x).flatten(2).transpose(1, 2)
    k = blocks['nl'].phi(x).flatten(2)
    expected = (q @ k / 8**0.5).softmax(-1)
    torch.testing.assert_close(nl.weights[:, 0], expected)
    assert maps['nl_sub'][0].weights.shape == (2, 1, 42, 9)
    se = maps['se'][0]
    assert se.kind == 'channel' and se.weights.shape == (2, 16)
    # observers are removed on exit
    blocks['gc'](x)
    assert len(maps['gc']) == 1 and not blocks['gc'].observed


def test_capture_unknown_name_lists_available():
    model = torch.nn.Sequential(GCBlock(16, ratio=0.25))
    with pytest.raises(KeyError, match="available: \\['0'\\]"):
        capture_attention(model, names=['nope'])


def test_nested_captures_both_record():
    model = torch.nn.Sequential(GCBlock(16, ratio=0.25))
    x = torch.randn(1, 16, 4, 4)
    with capture_attention(model) as outer:
        model(x)
        with capture_attention(model) as inner:
            model(x)
        model(x)
    assert len(inner['0']) == 1 and len(outer['0']) == 3
    assert not model[0].observed
