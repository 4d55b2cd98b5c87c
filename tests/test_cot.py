"""CoTNet: local aggregation (values, gradients, interleaved sharing), CoT
and CoXt layers against a step-by-step reference of the official
computation, strides, sizes, precision, observation; CoTNet backbones."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.backbones import ResNet

from mmctx.models import (CoTLayer, CoTNet, CoTNeXt, CoXtLayer, CtxResNet,
                          capture_attention)
from mmctx.models.attention.local_agg import (local_aggregate,
                                              local_aggregate_unfold)
from conftest import randomize_


@pytest.mark.parametrize('shape,groups,kernel', [((2, 16, 5, 7), 2, 3),
                                                 ((1, 24, 6, 4), 3, 5),
                                                 ((2, 8, 1, 1), 8, 3)])
def test_aggregation_equals_unfold_in_values_and_gradients(
        shape, groups, kernel):
    b, c, h, w = shape
    value = torch.randn(shape, requires_grad=True)
    weight = torch.randn(b, groups, kernel * kernel, h, w, requires_grad=True)
    ours = local_aggregate(value, weight, kernel)
    reference = local_aggregate_unfold(value, weight, kernel)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(ours)
    ours_grads = torch.autograd.grad(ours, (value, weight), grad)
    ref_grads = torch.autograd.grad(reference, (value, weight), grad)
    for a, r in zip(ours_grads, ref_grads):
        torch.testing.assert_close(a, r, rtol=1e-5, atol=1e-5)


def test_aggregation_gradcheck_float64():
    value = torch.randn(1, 4, 3, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(1, 2, 9, 3, 4, dtype=torch.float64,
                         requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda v, w: local_aggregate(v, w, 3), (value, weight))


def test_interleaved_weight_sharing_pattern():
    """Channel c uses weight group c mod G: constructed weights."""
    b, c, h, w, groups = 1, 8, 4, 5, 4
    value = torch.randn(b, c, h, w)
    weight = torch.zeros(b, groups, 9, h, w)
    for g in range(groups):
        weight[:, g, 4] = g + 1  # centre tap, scaled by the group index
    out = local_aggregate(value, weight, 3)
    for channel in range(c):
        torch.testing.assert_close(out[:, channel],
                                   (channel % groups + 1) * value[:, channel])
    # tap (0, 0) of the window reads the value one up and one left
    weight = torch.zeros(b, groups, 9, h, w)
    weight[:, :, 0] = 1
    out = local_aggregate(value, weight, 3)
    shifted = F.pad(value, (1, 0, 1, 0))[:, :, :h, :w]
    torch.testing.assert_close(out, shifted)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_aggregation_half_precision(dtype):
    value = torch.randn(2, 16, 6, 7)
    weight = torch.randn(2, 2, 9, 6, 7)
    reference = local_aggregate(value, weight, 3)
    low = local_aggregate(value.to(dtype), weight.to(dtype), 3)
    assert low.dtype == dtype and torch.isfinite(low).all()
    torch.testing.assert_close(low.float(), reference, rtol=0.05, atol=0.1)


def reference_cot(layer: CoTLayer, x: torch.Tensor) -> torch.Tensor:
    """The official layer's computation, step by step, with the unfold form
    of the aggregation and the official tensor layouts."""
    if layer.stride == 2:
        x = F.avg_pool2d(x, 3, 2, padding=1)
    b, c, h, w = x.shape
    k1 = layer.key_embed(x)
    vg, kk = layer.value_groups, layer.kernel_size**2
    if vg == 1:
        qk = torch.cat([x, k1], 1)
    else:
        qk = torch.cat([x.unsqueeze(2), k1.unsqueeze(2)], 2).view(b, -1, h, w)
    weights = layer.embed(qk).view(b * vg, -1, kk, h, w)
    value = layer.value_embed(x).view(b * vg, -1, h, w)
    windows = F.unfold(value, layer.kernel_size, padding=layer.kernel_size //
                       2).view(b * vg, -1, kk, h, w)
    groups = weights.shape[1]
    k2 = torch.stack([(windows[:, ch] * weights[:, ch % groups]).sum(1)
                      for ch in range(value.shape[1])], 1)
    k2 = layer.norm(k2.view(b, c, h, w))
    k2 = k2 * torch.sigmoid(k2)  # swish
    both = torch.stack([k2, k1], 2)
    logits = layer.fuse(both.sum(2).mean((2, 3), keepdim=True))
    split = logits.view(b, c, 2).softmax(-1)
    return (both * split[..., None, None]).sum(2)


@pytest.mark.parametrize('cls', [CoTLayer, CoXtLayer])
@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('hw', [(7, 9), (5, 5), (6, 11)])
def test_layer_equals_official_computation(cls, stride, hw):
    layer = randomize_(cls(64, 64, stride=stride)).eval()
    for module in layer.modules():  # BN stats that are not identity
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    x = torch.randn(2, 64, *hw)
    out = layer(x)
    expected = (2, 64, -(-hw[0] // stride), -(-hw[1] // stride))
    assert out.shape == expected
    torch.testing.assert_close(out, reference_cot(layer, x), rtol=1e-4,
                               atol=1e-4)


def test_layer_trains_and_observes_local_weights():
    layer = CoXtLayer(32, 32)
    x = torch.randn(2, 32, 5, 6, requires_grad=True)
    with capture_attention(torch.nn.Sequential(layer)) as maps:
        layer(x).square().sum().backward()
    for name, param in layer.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    local = maps['0'][0]
    assert local.kind == 'local' and local.weights.shape == (2, 4, 9, 5, 6)


def test_coxt_accepts_channels_last_input():
    layer = CoXtLayer(32, 32).eval()
    x = torch.randn(2, 32, 6, 5)
    torch.testing.assert_close(
        layer(x.to(memory_format=torch.channels_last)), layer(x))


def test_aggregation_backward_is_first_order_only():
    value = torch.randn(1, 8, 3, 3, requires_grad=True)
    weight = torch.randn(1, 1, 9, 3, 3, requires_grad=True)
    (grad, ) = torch.autograd.grad(
        local_aggregate(value, weight, 3).sum(), value, create_graph=True)
    with pytest.raises(RuntimeError):  # refused, never silently wrong
        grad.sum().backward()


def test_layer_bf16_autocast_finite():
    layer = CoTLayer(32, 32).eval()
    x = torch.randn(2, 32, 7, 5)
    reference = layer(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = layer(x)
    assert low.dtype == torch.bfloat16 and torch.isfinite(low).all()
    torch.testing.assert_close(low.float(), reference, rtol=0.1, atol=0.1)


@pytest.mark.parametrize('kwargs,match', [
    (dict(in_channels=32, out_channels=64), 'out_channels'),
    (dict(in_channels=36, out_channels=36), 'divisible'),
    (dict(in_channels=32, out_channels=32, kernel_size=4), 'kernel_size'),
    (dict(in_channels=32, out_channels=32, stride=3), 'stride'),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CoTLayer(**kwargs)


@pytest.mark.parametrize('cls,depth,paper', [(CoTNet, 50, 22.2e6),
                                             (CoTNeXt, 50, 30.1e6),
                                             (CoTNet, 101, 38.3e6)])
def test_backbone_parameters_match_the_paper(cls, depth, paper):
    model = cls(depth=depth)
    params = sum(p.numel() for p in model.parameters()) + 2048 * 1000 + 1000
    assert abs(params / paper - 1) <= 0.02


def test_cotnet_blocks_drop_the_bn_after_conv2_and_load_resnet_keys():
    model = CoTNet(depth=50)
    block = model.layer2[0]
    assert isinstance(block.conv2, CoTLayer) and block.conv2.stride == 2
    assert not hasattr(block, 'bn2')
    result = model.load_state_dict(ResNet(depth=50).state_dict(),
                                   strict=False)
    assert all('.conv2.' in k or '.bn2.' in k for k in result.unexpected_keys)
    assert all('.conv2.' in k for k in result.missing_keys)
    model.eval()
    outs = model(torch.randn(1, 3, 80, 112))
    assert [tuple(o.shape[1:]) for o in outs] == [(256, 20, 28), (512, 10, 14),
                                                 (1024, 5, 7), (2048, 3, 4)]


def test_mixers_need_bottlenecks():
    with pytest.raises(ValueError, match='depth'):
        CtxResNet(depth=18, mixers=(None, None, None, dict(type='MHSA')))
