"""BoTNet MHSA: equality with a naive reference, relative logits that
depend only on offsets, any input size, chunking, observation, precision,
errors; CtxResNet mixers and the BoTNet preset."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.backbones import ResNet

from mmctx.models import MHSA, BoTNet, CtxResNet, capture_attention
from mmctx.models.attention.rel_pos import (relative_logits,
                                            relative_table)


def naive_mhsa(block: MHSA, x: torch.Tensor) -> torch.Tensor:
    """Explicit logits per query, softmax, weighted sum; then the pool."""
    b, _, height, width = x.shape
    heads, d = block.heads, block.head_dim
    q, k, v = F.conv2d(x, block.qkv.weight).chunk(3, dim=1)
    out = torch.zeros(b, heads * d, height, width)
    keys_y = torch.arange(height).repeat_interleave(width)
    keys_x = torch.arange(width).repeat(height)
    for n in range(heads):
        qn = q[:, n * d:(n + 1) * d].flatten(2) * d**-0.5  # (b, d, N)
        kn = k[:, n * d:(n + 1) * d].flatten(2)
        vn = v[:, n * d:(n + 1) * d].flatten(2)
        if block.position == 'absolute':
            emb = (block.abs_h[keys_y] + block.abs_w[keys_x]).t()  # (d, N)
            kn = kn + emb
        for i in range(height * width):
            y, x_ = divmod(i, width)
            logits = torch.einsum('bd,bdn->bn', qn[:, :, i], kn)
            if block.position == 'relative':
                max_h, max_w = block.max_size
                r_h = block.rel_h[keys_y - y + max_h - 1]  # (N, d)
                r_w = block.rel_w[keys_x - x_ + max_w - 1]
                logits = logits + qn[:, :, i] @ (r_h + r_w).t()
            weights = logits.softmax(-1)
            out[:, n * d:(n + 1) * d, y, x_] = torch.einsum(
                'bn,bdn->bd', weights, vn)
    if block.stride == 2:
        out = F.avg_pool2d(out, 2, ceil_mode=True)
    return out


@pytest.mark.parametrize('position', ['relative', 'absolute', 'none'])
@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('hw', [(5, 7), (4, 4), (1, 1)])
def test_mhsa_equals_naive_reference(position, stride, hw, attention_path):
    block = MHSA(16, 16, stride=stride, heads=4, position=position,
                 max_size=8)
    x = torch.randn(2, 16, *hw)
    torch.testing.assert_close(block(x), naive_mhsa(block, x), rtol=1e-5,
                               atol=1e-5)


def _expected_rows(table: torch.Tensor, size: int) -> torch.Tensor:
    """Rows for offsets -(size-1)..size-1, computed independently: a raw
    slice within the table, ``F.interpolate`` beyond it."""
    max_size = (table.shape[0] + 1) // 2
    if size <= max_size:
        return table[max_size - size:max_size + size - 1]
    return F.interpolate(table.t()[None], size=2 * size - 1, mode='linear',
                         align_corners=True)[0].t()


@pytest.mark.parametrize('hw', [(1, 1), (7, 7), (5, 9), (9, 5), (11, 13)])
def test_relative_logits_depend_only_on_offsets(hw):
    max_size = 8  # (11, 13) exceeds it: interpolated tables
    height, width = hw
    torch.manual_seed(1)
    rel_h = torch.randn(2 * max_size - 1, 6)
    rel_w = torch.randn(2 * max_size - 1, 6)
    shared = torch.randn(6)  # the same query vector at every position
    q = shared.expand(1, 1, height * width, 6).contiguous()
    logits = relative_logits(q, rel_h, rel_w, hw)[0, 0]
    # shifting query and key together by (dy, dx) keeps the logit
    for dy, dx in [(1, 1), (1, 0), (0, 2), (2, 3)]:
        if dy >= height or dx >= width:
            continue
        for qy, qx, ky, kx in [(0, 0, height - 1 - dy, width - 1 - dx),
                               (height - 1 - dy, 0, 0, width - 1 - dx)]:
            base = logits[qy * width + qx, ky * width + kx]
            moved = logits[(qy + dy) * width + qx + dx,
                           (ky + dy) * width + kx + dx]
            torch.testing.assert_close(base, moved)
    # and every logit is the table row of its offset
    ys = torch.arange(height).repeat_interleave(width)
    xs = torch.arange(width).repeat(height)
    dy = ys[None, :] - ys[:, None]
    dx = xs[None, :] - xs[:, None]
    expected = (_expected_rows(rel_h, height)[dy + height - 1] @ shared +
                _expected_rows(rel_w, width)[dx + width - 1] @ shared)
    torch.testing.assert_close(logits, expected)


def test_tables_within_max_are_exact_slices():
    table = torch.arange(15.).unsqueeze(1)  # offsets -7..7
    torch.testing.assert_close(relative_table(table, 3).flatten(),
                               torch.tensor([5., 6., 7., 8., 9.]))
    longer = relative_table(table, 12)  # beyond max: interpolated
    assert longer.shape == (23, 1)
    assert longer[0] == 0 and longer[-1] == 14 and longer[11] == 7


def test_train_at_one_size_evaluate_at_another_and_grads_reach_tables(
        attention_path):
    block = MHSA(16, 16, heads=2, max_size=10)
    optimizer = torch.optim.SGD(block.parameters(), lr=0.1)
    block(torch.randn(2, 16, 6, 8)).square().mean().backward()
    for param in (block.rel_h, block.rel_w, block.qkv.weight):
        assert param.grad is not None and param.grad.abs().sum() > 0
    optimizer.step()
    block.eval()
    with torch.no_grad():
        for hw in [(3, 5), (10, 10), (13, 7)]:
            out = block(torch.randn(1, 16, *hw))
            assert out.shape == (1, 16, *hw) and torch.isfinite(out).all()


@pytest.mark.parametrize('query_chunk', [20, 3])  # 3 < W: one row a chunk
def test_query_chunks_give_the_same_values_and_gradients(
        query_chunk, attention_path):
    block = MHSA(16, 16, heads=4, max_size=12)
    chunked = MHSA(16, 16, heads=4, max_size=12, query_chunk=query_chunk)
    chunked.load_state_dict(block.state_dict())
    x = torch.randn(2, 16, 9, 7)
    outputs = [m(x) for m in (block, chunked)]
    torch.testing.assert_close(outputs[1], outputs[0], rtol=1e-5, atol=1e-5)
    for out in outputs:
        out.square().sum().backward()
    for name, param in block.named_parameters():
        torch.testing.assert_close(
            dict(chunked.named_parameters())[name].grad, param.grad,
            rtol=1e-4, atol=1e-5)


def test_attention_maps_per_head_and_query(attention_path):
    block = MHSA(16, 16, heads=4, max_size=8)
    x = torch.randn(2, 16, 5, 6)
    plain = block(x)
    with capture_attention(torch.nn.Sequential(block)) as maps:
        observed = block(x)
    torch.testing.assert_close(observed, plain, rtol=1e-5, atol=1e-5)
    weights = maps['0'][0].weights
    assert weights.shape == (2, 4, 30, 30)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 30))


def test_bf16_autocast_is_finite_and_close(attention_path):
    block = MHSA(32, 32, heads=4, max_size=8)
    x = torch.randn(2, 32, 7, 9)
    reference = block(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = block(x)
    assert low.dtype == torch.bfloat16 and torch.isfinite(low).all()
    torch.testing.assert_close(low.float(), reference, rtol=0.05, atol=0.05)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_fp16_autocast_on_gpu_is_finite_and_close():
    block = MHSA(32, 32, heads=4, max_size=8).cuda()
    x = torch.randn(2, 32, 7, 9, device='cuda')
    reference = block(x)
    with torch.autocast('cuda', dtype=torch.float16):
        low = block(x)
    assert low.dtype == torch.float16 and torch.isfinite(low).all()
    torch.testing.assert_close(low.float(), reference, rtol=0.02, atol=0.02)


@pytest.mark.parametrize('kwargs,match', [
    (dict(heads=3), 'heads'),
    (dict(stride=3), 'stride'),
    (dict(position='learned'), 'position'),
    (dict(max_size=0), 'max_size'),
    (dict(max_size=(4, 4, 4)), 'max_size'),
    (dict(query_chunk=0), 'query_chunk'),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MHSA(16, 16, **kwargs)


def test_mixers_with_plugins_and_keys():
    model = CtxResNet(
        depth=50,
        plugins=[
            dict(cfg=dict(type='GCBlock', ratio=1. / 16),
                 stages=(False, True, True, False), position='after_conv3')
        ],
        mixers=(None, None, None, dict(type='MHSA', heads=4, max_size=8)))
    assert all(isinstance(b.conv2, MHSA) for b in model.layer4)
    assert model.layer4[0].conv2.stride == 2
    assert not isinstance(model.layer3[0].conv2, MHSA)
    assert hasattr(model.layer3[0], 'context_block')
    assert not hasattr(model.layer4[0], 'context_block')
    model.eval()
    outs = model(torch.randn(1, 3, 96, 160))
    assert [tuple(o.shape[-2:]) for o in outs] == [(24, 40), (12, 20),
                                                   (6, 10), (3, 5)]


def test_botnet50_parameters_and_imagenet_init():
    model = BoTNet(depth=50)
    classifier = 2048 * 1000 + 1000
    params = sum(p.numel() for p in model.parameters()) + classifier
    assert abs(params / 20.8e6 - 1) <= 0.01
    result = model.load_state_dict(ResNet(depth=50).state_dict(),
                                   strict=False)
    assert sorted(result.unexpected_keys) == [
        f'layer4.{i}.conv2.weight' for i in range(3)
    ]
    assert all(key.startswith('layer4.') and '.conv2.' in key
               for key in result.missing_keys)
    assert len(result.missing_keys) == 9  # qkv, rel_h, rel_w per block


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth=18), 'depth'),
    (dict(depth=50, mixers=(None, ) * 4), 'mixers'),
    (dict(depth=50, num_stages=3, out_indices=(0, 1, 2)), 'num_stages'),
])
def test_botnet_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BoTNet(**kwargs)


def test_mixers_with_checkpointing_frozen_stages_and_norm_eval():
    model = BoTNet(depth=50, max_size=8, with_cp=True, frozen_stages=1,
                   norm_eval=True)
    model.train()
    x = torch.randn(2, 3, 64, 96)
    sum(o.sum() for o in model(x)).backward()
    assert model.layer4[0].conv2.rel_h.grad.abs().sum() > 0
    assert model.layer1[0].conv1.weight.grad is None  # frozen


def test_mixers_refuse_dilation_and_allow_dcn_elsewhere():
    with pytest.raises(ValueError, match='dilation'):
        CtxResNet(depth=50, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2),
                  mixers=(None, None, None, dict(type='MHSA')))
    with pytest.raises(ValueError, match=r'mixers\[3\] and dcn'):
        CtxResNet(depth=50, dcn=dict(type='DCN', deform_groups=1),
                  stage_with_dcn=(False, False, True, True),
                  mixers=(None, None, None, dict(type='MHSA')))
    # dcn given but used in no stage (mmdet's default stage_with_dcn)
    CtxResNet(depth=50, dcn=dict(type='DCN', deform_groups=1),
              mixers=(None, None, None, dict(type='MHSA')))


@pytest.mark.parametrize('mixers,match', [
    ((None, None, dict(type='MHSA')), 'mixers'),
    (dict(type='MHSA'), 'mixers'),
    ((None, None, None, 'MHSA'), r'mixers\[3\]'),
])
def test_ctx_resnet_bad_mixers(mixers, match):
    with pytest.raises(ValueError, match=match):
        CtxResNet(depth=50, mixers=mixers)
