"""k x k local aggregation with per-position weights (CoTNet's dynamic
context), without the k*k copy of the value tensor an unfold makes.

``out[b, c, y, x] = sum_{i, j} w[b, c mod G, i*k + j, y, x] *
v[b, c, y + i - k//2, x + j - k//2]`` (zero outside the map), where one
weight map of ``G`` serves every ``G``-th channel: channel ``c`` uses group
``c mod G``, the interleaved pattern of the official CoTNet kernel.

:func:`local_aggregate` accumulates the k*k shifted products in place.
Each product only reads views of one padded copy of ``v`` and of ``w``, so
autograd keeps those views and nothing of size ``k*k*C*H*W``; gradients are
exact (the same sums as the definition). :func:`local_aggregate_unfold` is
the direct unfold form, kept as the reference for tests and benchmarks.
"""
import torch
import torch.nn.functional as F


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


def local_aggregate(value: torch.Tensor, weight: torch.Tensor,
                    kernel: int) -> torch.Tensor:
    """Aggregate each k x k window of ``value`` with per-position weights.

    Args:
        value: (B, C, H, W) values.
        weight: (B, G, k*k, H, W) weights; channel ``c`` of ``value`` uses
            group ``c mod G``; index ``i*k + j`` is the window offset
            ``(i - k//2, j - k//2)``.
        kernel: Odd window size ``k``.

    Returns:
        (B, C, H, W) aggregated values, in ``value``'s dtype.
    """
    groups = _check(value, weight, kernel)
    b, c, h, w = value.shape
    pad = kernel // 2
    padded = F.pad(value, (pad, pad, pad, pad))
    # channel c = r * G + g uses weight group g: broadcast over r
    padded = padded.view(b, c // groups, groups, h + 2 * pad, w + 2 * pad)
    weight = weight.unsqueeze(1)  # (B, 1, G, k*k, H, W)
    out = value.new_zeros(b, c // groups, groups, h, w)
    for i in range(kernel):
        for j in range(kernel):
            out.addcmul_(weight[:, :, :, i * kernel + j],
                         padded[..., i:i + h, j:j + w])
    return out.view(b, c, h, w)


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
