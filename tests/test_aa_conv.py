"""Attention-Augmented convolution: equality with a naive reference,
position- and channel-exact routing of values, observation, precision,
errors; the AA-ResNet preset and its size."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.backbones import ResNet

from mmctx.converters import build_classifier
from mmctx.models import AAConv, AAResNet, capture_attention
from conftest import randomize_


def naive_aa_conv(block: AAConv, x: torch.Tensor) -> torch.Tensor:
    """Explicit conv, per-head logits with relative terms gathered by
    offset, softmax, weighted sum, head concat, W_O, channel concat."""
    attn_in = x
    if block.stride == 2:
        attn_in = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    b, _, height, width = attn_in.shape
    heads, dk, dv = block.heads, block.dk, block.dv
    dkh, dvh = dk // heads, dv // heads
    qkv = F.conv2d(attn_in, block.qkv.weight, block.qkv.bias)
    q, k, v = qkv.split([dk, dk, dv], dim=1)
    ys = torch.arange(height).repeat_interleave(width)
    xs = torch.arange(width).repeat(height)
    heads_out = []
    for n in range(heads):
        qn = q[:, n * dkh:(n + 1) * dkh].flatten(2) * dkh**-0.5  # (b, d, N)
        kn = k[:, n * dkh:(n + 1) * dkh].flatten(2)
        vn = v[:, n * dvh:(n + 1) * dvh].flatten(2)
        logits = torch.einsum('bdi,bdj->bij', qn, kn)
        if block.position == 'relative':
            max_h, max_w = block.max_size
            dy = ys[None, :] - ys[:, None] + max_h - 1  # (N query, N key)
            dx = xs[None, :] - xs[:, None] + max_w - 1
            r = block.rel_h[dy] + block.rel_w[dx]  # (N, N, d)
            logits = logits + torch.einsum('bdi,ijd->bij', qn, r)
        weights = logits.softmax(-1)
        heads_out.append(torch.einsum('bij,bdj->bdi', weights, vn))
    attn = torch.cat(heads_out, 1).reshape(b, dv, height, width)
    attn = F.conv2d(attn, block.proj.weight)
    if block.conv is None:
        return attn
    return torch.cat([block.conv(x), attn], 1)


@pytest.mark.parametrize('position', ['relative', 'none'])
@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('hw', [(5, 7), (6, 6), (7, 4), (1, 1)])
def test_aa_conv_equals_naive_reference(position, stride, hw,
                                        attention_path):
    block = AAConv(24, 40, stride=stride, heads=4, dk=16, dv=8,
                   position=position, max_size=8)
    x = torch.randn(2, 24, *hw)
    out = block(x)
    expected_hw = tuple((s + 1) // 2 for s in hw) if stride == 2 else hw
    assert out.shape == (2, 40, *expected_hw)
    torch.testing.assert_close(out, naive_aa_conv(block, x), rtol=1e-5,
                               atol=1e-5)


def test_gradients_match_the_naive_reference(attention_path):
    block = AAConv(16, 32, heads=2, dk=8, dv=8, max_size=6)
    x = torch.randn(2, 16, 5, 6, requires_grad=True)
    grads = []
    for fn in (block, lambda t: naive_aa_conv(block, t)):
        block.zero_grad()
        x.grad = None
        fn(x).square().sum().backward()
        grads.append([x.grad.clone()] +
                     [p.grad.clone() for p in block.parameters()])
    for ours, ref in zip(*grads):
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)


def test_kappa_upsilon_round_to_head_multiples_and_conv_gets_the_rest():
    block = AAConv(128, 128)  # kappa 0.2 -> 25.6 -> 24; upsilon -> 16
    assert (block.dk, block.dv) == (24, 16)
    assert block.conv.out_channels == 112 and block.conv.kernel_size == (3, 3)
    assert block.qkv.kernel_size == (1, 1)  # 1x1 projections, not k x k
    assert block.qkv.out_channels == 2 * 24 + 16
    assert block.proj.weight.shape == (16, 16, 1, 1)
    full = AAConv(16, 16, heads=2, dk=8, dv=16)  # fully attentional
    assert full.conv is None and full(torch.randn(1, 16, 3, 5)).shape == (
        1, 16, 3, 5)


@pytest.mark.parametrize('hw', [(6, 9), (7, 5)])
def test_values_land_at_their_position_and_channel(hw, attention_path):
    """Head 0 attends to offset (+1, -2), head 1 to (-1, +1), by their
    relative tables alone; values are position-coded input channels and
    W_O is the identity, so every output position and channel must hold
    exactly the coded input it points at."""
    height, width = hw
    heads, dk, dv, channels = 2, 4, 4, 6
    block = AAConv(channels, 10, heads=heads, dk=dk, dv=dv, max_size=10)
    offsets = [(1, -2), (-1, 1)]
    with torch.no_grad():
        block.qkv.weight.zero_()
        block.qkv.bias.zero_()
        # query head n = unit vector e_n (per-head width 2), keys zero
        block.qkv.bias[0] = 1.0
        block.qkv.bias[3] = 1.0
        # values: head n's 2 channels copy input channels 2n+2, 2n+3
        for j in range(dv):
            block.qkv.weight[2 * dk + j, 2 + j, 0, 0] = 1.0
        block.proj.weight.copy_(torch.eye(dv)[:, :, None, None])
        big = 200.0 * (dk // heads)**0.5
        block.rel_h.fill_(-big)
        block.rel_w.fill_(-big)
        centre_h, centre_w = block.max_size[0] - 1, block.max_size[1] - 1
        for n, (dy, dx) in enumerate(offsets):
            block.rel_h[centre_h + dy, n] = 0.0
            block.rel_w[centre_w + dx, n] = 0.0
    x = torch.randn(1, channels, height, width)
    out = block(x)
    attn = out[0, 10 - dv:]
    checked = 0
    for n, (dy, dx) in enumerate(offsets):
        for y in range(height):
            for x_ in range(width):
                ty, tx = y + dy, x_ + dx
                if 0 <= ty < height and 0 <= tx < width:
                    torch.testing.assert_close(
                        attn[2 * n:2 * n + 2, y, x_],
                        x[0, 2 + 2 * n:4 + 2 * n, ty, tx])
                    checked += 1
    assert checked > height * width  # both heads, most positions


def test_attention_maps_reach_the_observer(attention_path):
    block = AAConv(16, 32, stride=2, heads=4, dk=8, dv=8, max_size=8)
    x = torch.randn(2, 16, 7, 10)
    plain = block(x)
    with capture_attention(torch.nn.Sequential(block)) as maps:
        observed = block(x)
    torch.testing.assert_close(observed, plain, rtol=1e-5, atol=1e-5)
    (record, ) = maps['0']
    assert record.weights.shape == (2, 4, 20, 20)  # 4x5 grid after stride
    assert record.query_hw == record.key_hw == (4, 5)
    torch.testing.assert_close(record.weights.sum(-1), torch.ones(2, 4, 20))


def test_large_maps_take_the_chunked_narrow_head_path(monkeypatch):
    """AA's heads are narrow against H + W, so large maps go through the
    chunked function (not the augmented fused kernel) with the same
    values and gradients as the explicit form."""
    from mmctx.models.attention import grid_attention
    block = AAConv(16, 32, heads=4, dk=8, dv=8, max_size=8)
    x = torch.randn(2, 16, 9, 11, requires_grad=True)
    explicit = block(x)
    explicit_grads = torch.autograd.grad(explicit.square().sum(),
                                         [x, block.rel_h, block.qkv.weight])
    monkeypatch.setattr(grid_attention, 'EXPLICIT_LIMIT', 0)
    monkeypatch.setattr(grid_attention, 'CHUNK_ELEMENTS', 4 * 2 * 4 * 99)
    calls = []
    real = grid_attention.ChunkedRelativeAttention.apply
    monkeypatch.setattr(grid_attention.ChunkedRelativeAttention, 'apply',
                        lambda *a: calls.append(a[-1]) or real(*a))
    chunked = block(x)
    grads = torch.autograd.grad(chunked.square().sum(),
                                [x, block.rel_h, block.qkv.weight])
    assert calls == [4]  # 99 queries: 24 chunks of 4 and one of 3
    torch.testing.assert_close(chunked, explicit, rtol=1e-5, atol=1e-5)
    for ours, ref in zip(grads, explicit_grads):
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)


def test_bf16_autocast_is_finite_and_close(attention_path):
    block = AAConv(32, 64, heads=4, dk=16, dv=16, max_size=8)
    x = torch.randn(2, 32, 7, 9)
    reference = block(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = block(x)
    assert low.dtype == torch.bfloat16 and torch.isfinite(low).all()
    torch.testing.assert_close(low.float(), reference, rtol=0.05, atol=0.05)


def test_half_precision_is_finite(attention_path):
    block = AAConv(32, 64, heads=4, dk=16, dv=16, max_size=8).half()
    out = block(torch.randn(1, 32, 5, 6).half())
    assert out.dtype == torch.float16 and torch.isfinite(out).all()


def test_half_precision_large_values_do_not_overflow(attention_path):
    """Weighted sums of 256 values of 300 would reach 76800 > 65504 if the
    softmax were normalised after the product."""
    block = AAConv(8, 16, heads=1, dk=8, dv=8, max_size=16)
    with torch.no_grad():
        block.qkv.weight.zero_()
        block.qkv.bias.zero_()
        block.qkv.bias[16:] = 300.0  # every value 300: the output is 300
        block.proj.weight.copy_(torch.eye(8)[:, :, None, None])
    out = block.half()(torch.randn(1, 8, 16, 16).half())[:, 8:]
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), torch.full_like(out.float(), 300.))


def test_float64_stays_float64(attention_path):
    """Softmax statistics never drop below the inputs' precision: float64
    matches a float64 naive reference to rounding (float32 statistics
    would leave errors near 1e-7)."""
    block = AAConv(16, 32, heads=2, dk=8, dv=8, max_size=9).double()
    randomize_(block, 0.5)
    x = torch.randn(2, 16, 7, 9, dtype=torch.float64)
    out = block(x)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, naive_aa_conv(block, x), rtol=0,
                               atol=1e-12)


def test_chunked_function_float64_gradcheck_and_reference():
    """The chunked function's forward and hand-written backward keep
    float64: a gradcheck, and values and gradients equal to explicit
    float64 attention to rounding."""
    from mmctx.models.attention.grid_attention import \
        ChunkedRelativeAttention
    height, width = 3, 2
    shapes = [(1, 2, 6, 3), (1, 2, 6, 3), (1, 2, 6, 2), (1, 2, 6, height),
              (1, 2, 6, width)]
    inputs = [(torch.randn(s, dtype=torch.float64) * 3).requires_grad_()
              for s in shapes]

    def chunked(*tensors):  # chunks of 4 queries: a full one and one of 2
        return ChunkedRelativeAttention.apply(*tensors, 4)

    def explicit(q, k, v, along_h, along_w):
        relative = along_h[..., :, None] + along_w[..., None, :]
        logits = q @ k.transpose(-1, -2) + relative.flatten(-2)
        return logits.softmax(-1) @ v

    assert torch.autograd.gradcheck(chunked, inputs)
    grad_out = torch.randn(1, 2, 6, 2, dtype=torch.float64)
    results = []
    for fn in (chunked, explicit):
        out = fn(*inputs)
        results.append([out, *torch.autograd.grad(out, inputs, grad_out)])
    for ours, ref in zip(*results):
        assert ours.dtype == torch.float64
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)


def test_values_wider_than_augmented_keys(attention_path):
    block = AAConv(8, 64, heads=1, dk=4, dv=32, max_size=8)
    x = torch.randn(2, 8, 4, 5)
    torch.testing.assert_close(block(x), naive_aa_conv(block, x), rtol=1e-5,
                               atol=1e-5)


def test_observing_a_huge_map_raises_instead_of_exhausting_memory(
        monkeypatch):
    from mmctx.models.attention import grid_attention
    monkeypatch.setattr(grid_attention, 'OBSERVE_LIMIT', 1000)
    block = AAConv(16, 32, heads=4, dk=8, dv=8)
    with capture_attention(torch.nn.Sequential(block)):
        with pytest.raises(ValueError, match='9x11 map.*OBSERVE_LIMIT'):
            block(torch.randn(1, 16, 9, 11))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_fp16_autocast_on_gpu_is_finite_and_close(attention_path):
    block = AAConv(32, 64, heads=4, dk=16, dv=16, max_size=8).cuda()
    x = torch.randn(2, 32, 7, 9, device='cuda')
    reference = block(x)
    with torch.autocast('cuda', dtype=torch.float16):
        low = block(x)
    assert low.dtype == torch.float16 and torch.isfinite(low).all()
    torch.testing.assert_close(low.float(), reference, rtol=0.02, atol=0.02)


@pytest.mark.parametrize('kwargs,match', [
    (dict(heads=3, dk=8), 'heads'),
    (dict(dv=40), 'dv'),
    (dict(kappa=-0.1), 'kappa'),
    (dict(upsilon=0), 'upsilon'),
    (dict(kernel_size=2), 'kernel_size'),
    (dict(stride=3), 'stride'),
    (dict(position='absolute'), 'position'),
    (dict(max_size=(4, 4, 4)), 'max_size'),
    (dict(query_chunk=0), 'query_chunk'),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AAConv(16, 32, **kwargs)


def _aa_conv_parameters(width: int, heads: int = 8, tables: int = 0) -> int:
    """Parameters of one AAConv replacing a width x width 3x3 conv,
    counted from the paper's formula: conv with F_out - d_v filters, 1x1
    q/k/v with bias, d_v x d_v W_O, and two relative tables."""
    dk = max(1, round(0.2 * width / heads)) * heads
    dv = max(1, round(0.1 * width / heads)) * heads
    return (9 * width * (width - dv) + width * (2 * dk + dv) + 2 * dk + dv +
            dv * dv + tables * (dk // heads))


def imagenet_classifier(backbone: dict) -> torch.nn.Module:
    """``backbone`` with global average pooling and a 1000-class linear
    head: mmpretrain's ImageClassifier, as the classification configs."""
    return build_classifier(dict(
        type='ImageClassifier', backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000,
                  in_channels=2048)))


def test_aa_resnet50_augments_c3_to_c5_with_the_paper_formula_size():
    model = imagenet_classifier(
        dict(type='AAResNet', depth=50, max_input_size=224))
    reference = imagenet_classifier(dict(type='mmdet.ResNet', depth=50))
    assert type(reference.backbone) is ResNet
    blocks = dict(layer1=3, layer2=4, layer3=6, layer4=3)
    widths = dict(layer1=64, layer2=128, layer3=256, layer4=512)
    expected = sum(p.numel() for p in reference.parameters())
    for name, count in blocks.items():
        layer = getattr(model.backbone, name)
        for block in layer:
            assert isinstance(block.conv2, AAConv) == (name != 'layer1')
        if name == 'layer1':
            continue
        width = widths[name]
        side = 224 // (2 * width // 32)  # grid at this stage for 224
        tables = 2 * (2 * side - 1)
        expected += count * (_aa_conv_parameters(width, tables=tables) -
                             9 * width * width)
    params = sum(p.numel() for p in model.parameters())
    assert params == expected
    # 25.12M: 0.44M fewer than ResNet-50, as the paper's RetinaNet table
    # (AA-R50 33.1M vs R50 33.4M); see the AAResNet docstring for why its
    # ImageNet table's 25.8M cannot come from the formula it states
    assert abs(params / 1e6 - 25.12) < 0.01


def test_aa_resnet_keeps_mmdet_keys_outside_the_augmented_convs():
    ours = AAResNet(depth=50).state_dict()
    theirs = ResNet(depth=50).state_dict()
    differing = {k for k in theirs if k not in ours}
    assert differing and all('.conv2.' in k and not k.startswith('layer1')
                             for k in differing)
    assert all(theirs[k].shape == ours[k].shape for k in theirs
               if k in ours)


def test_aa_resnet_runs_at_any_size_and_trains():
    model = AAResNet(depth=50, stages=(False, False, True, True))
    outs = model(torch.randn(1, 3, 96, 72))
    assert [o.shape[-2:] for o in outs] == [(24, 18), (12, 9), (6, 5),
                                           (3, 3)]
    model(torch.randn(1, 3, 64, 80))[-1].mean().backward()
    aa = model.layer4[0].conv2
    assert aa.rel_h.grad is not None and aa.qkv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth=152), 'depth'),
    (dict(stages=(True, True)), 'stages'),
    (dict(stages='TTTT'), 'stages'),
    (dict(stages=(0, 1, 1, 1)), 'stages'),
    (dict(mixers=(None, ) * 4), 'mixers'),
    (dict(max_input_size=0), 'max_input_size'),
])
def test_aa_resnet_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AAResNet(**kwargs)


def test_flops_count_the_chunked_path_as_the_explicit_form(monkeypatch):
    from mmctx.analysis.complexity import count
    from mmctx.models.attention import grid_attention
    block = AAConv(16, 32, heads=4, dk=8, dv=8, max_size=8)
    x = torch.randn(1, 16, 9, 11)
    _, explicit = count(block, (x, ))
    monkeypatch.setattr(grid_attention, 'EXPLICIT_LIMIT', 0)
    _, chunked = count(block, (x, ))
    n = 99
    attention = 4 * n * n * (2 + 2)  # heads * N * N * (dk + dv per head)
    assert chunked == explicit and chunked > attention
