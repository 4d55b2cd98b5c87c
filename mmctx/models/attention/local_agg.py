"""k x k local aggregation with per-position weights (CoTNet's dynamic
context), without the k*k copy of the value tensor an unfold makes.

``out[b, c, y, x] = sum_{i, j} w[b, c mod G, i*k + j, y, x] *
v[b, c, y + i - k//2, x + j - k//2]`` (zero outside the map), where one
weight map of ``G`` serves every ``G``-th channel: channel ``c`` uses group
``c mod G``, the interleaved pattern of the official CoTNet kernel.

:func:`local_aggregate` accumulates the k*k shifted products in place,
each reading views of one padded copy of ``v``; its backward does the same
in reverse (one padded gradient buffer, the weight gradient filled tap by
tap). Nothing of size ``k*k*C*H*W`` is ever allocated, only the inputs are
kept for the backward pass, and gradients are exact (the same sums as the
definition; float64 gradcheck in the tests). :func:`local_aggregate_unfold` is
the direct unfold form, kept as the reference for tests and benchmarks.
"""
import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable


def _check(value: torch.Tensor, weight: torch.Tensor, kernel: int) -> int:
    if value.dim() != 4 or weight.dim() != 5:
        raise ValueError(f'value must be (B, C, H, W) and weight (B, G, k*k, '
                         f'H, W), got {tuple(value.shape)} and '
                         f'{tuple(weight.shape)}')
    b, c, h, w = value.shape
    groups = weight.shape[1]
    if kernel % 2 == 0 or kernel < 1:
        raise ValueError(f'kernel must be an odd positive int, got {kernel}')
    if weight.shape != (b, groups, kernel * kernel, h, w) or c % groups:
        raise ValueError(
            f'weight must be (B={b}, G, k*k={kernel * kernel}, H={h}, W={w}) '
            f'with G dividing C={c}, got {tuple(weight.shape)}')
    return groups


def _shifted_products(padded: torch.Tensor, weight: torch.Tensor,
                      kernel: int, out: torch.Tensor) -> torch.Tensor:
    """``out += sum_ij w[ij] * padded[shift ij]`` in place.

    ``padded`` is (B, C/G, G, H+2p, W+2p), ``weight`` (B, 1, G, k*k, H, W)
    and ``out`` (B, C/G, G, H, W).
    """
    height, width = out.shape[-2:]
    for i in range(kernel):
        for j in range(kernel):
            out.addcmul_(weight[:, :, :, i * kernel + j],
                         padded[..., i:i + height, j:j + width])
    return out


class _LocalAggregate(torch.autograd.Function):
    """Aggregation with a hand-written backward.

    Autograd through the in-place loop would allocate a full-size zero
    gradient for every slice of the padded values and weights (2*k*k of
    them); this backward accumulates into one padded gradient buffer and
    fills the weight gradient tap by tap, keeping only the inputs.
    """

    @staticmethod
    def forward(ctx, value: torch.Tensor, weight: torch.Tensor,
                kernel: int) -> torch.Tensor:
        ctx.save_for_backward(value, weight)
        ctx.kernel = kernel
        b, c, h, w = value.shape
        groups, pad = weight.shape[1], kernel // 2
        padded = F.pad(value, (pad, pad, pad, pad)).reshape(
            b, c // groups, groups, h + 2 * pad, w + 2 * pad)
        out = value.new_zeros(b, c // groups, groups, h, w)
        _shifted_products(padded, weight.unsqueeze(1), kernel, out)
        return out.view(b, c, h, w)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        value, weight = ctx.saved_tensors
        kernel = ctx.kernel
        b, c, h, w = value.shape
        groups, pad = weight.shape[1], kernel // 2
        grad = grad_out.contiguous().view(b, c // groups, groups, h, w)
        grad_value = grad_weight = None
        if ctx.needs_input_grad[0]:
            # value[y', x'] fed out[y' - i + p, x' - j + p] with w[ij]
            grad_padded = grad.new_zeros(b, c // groups, groups, h + 2 * pad,
                                         w + 2 * pad)
            taps = weight.unsqueeze(1)
            for i in range(kernel):
                for j in range(kernel):
                    grad_padded[..., i:i + h, j:j + w].addcmul_(
                        grad, taps[:, :, :, i * kernel + j])
            grad_value = grad_padded[..., pad:pad + h,
                                     pad:pad + w].reshape(b, c, h, w)
        if ctx.needs_input_grad[1]:
            padded = F.pad(value, (pad, pad, pad, pad)).reshape(
                b, c // groups, groups, h + 2 * pad, w + 2 * pad)
            grad_weight = torch.empty_like(weight)
            for i in range(kernel):
                for j in range(kernel):
                    torch.sum(
                        grad * padded[..., i:i + h, j:j + w],
                        dim=1,
                        out=grad_weight[:, :, i * kernel + j])
        return grad_value, grad_weight, None


def local_aggregate(value: torch.Tensor, weight: torch.Tensor,
                    kernel: int) -> torch.Tensor:
    """Aggregate each k x k window of ``value`` with per-position weights.

    Args:
        value: (B, C, H, W) values.
        weight: (B, G, k*k, H, W) weights; channel ``c`` of ``value`` uses
            group ``c mod G``; index ``i*k + j`` is the window offset
            ``(i - k//2, j - k//2)``. Cast to ``value``'s dtype.
        kernel: Odd window size ``k``.

    Returns:
        (B, C, H, W) aggregated values, in ``value``'s dtype.
    """
    _check(value, weight, kernel)
    return _LocalAggregate.apply(value, weight.to(value.dtype), kernel)


def local_aggregate_unfold(value: torch.Tensor, weight: torch.Tensor,
                           kernel: int) -> torch.Tensor:
    """Reference form of :func:`local_aggregate` through ``F.unfold``.

    It copies ``value`` k*k times; use it to check, not to train.
    """
    groups = _check(value, weight, kernel)
    b, c, h, w = value.shape
    windows = F.unfold(value, kernel, padding=kernel // 2)  # (B, C*k*k, HW)
    windows = windows.view(b, c // groups, groups, kernel * kernel, h, w)
    return (windows * weight.unsqueeze(1)).sum(3).view(b, c, h, w)
