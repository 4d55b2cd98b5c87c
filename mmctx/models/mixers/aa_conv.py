"""Attention-Augmented convolution (Bello et al., 2019).

``AAConv(X) = concat[Conv(X), MHA(X)]``: a k x k convolution with
``F_out - d_v`` filters beside multi-head self-attention with ``d_v``
output channels. The attention branch projects the input with one 1x1
convolution to queries and keys (``d_k`` channels each) and values
(``d_v``), splits them into ``heads`` heads, attends with logits
``(q k^T + q r_h[y' - y] + q r_w[x' - x]) / sqrt(d_k / heads)`` (2-D
relative logits with height and width tables shared by the heads, through
:func:`..attention.grid_attention.grid_attention`, the same code as BoTNet's
MHSA), concatenates the heads and mixes them with a 1x1 output projection
``W_O``. ``d_k = kappa * F_out`` and ``d_v = upsilon * F_out`` (the
paper's ResNets use ``kappa = 2 upsilon = 0.2`` and 8 heads), each rounded
to the nearest positive multiple of ``heads`` (ties to even).

Choices where the paper leaves room, and why:

- Batch normalisation: the paper follows the augmented convolution with
  batch norm. As a mixer the layer replaces a bottleneck's ``conv2``, whose
  ``norm2`` and ReLU already follow it, so the layer ends at the concat and
  that BN normalises both branches (the paper's point: it learns how much
  each contributes). Used elsewhere, put a norm layer after it.
- Stride: the strided convolution branch keeps its stride; the attention
  branch attends on the input downsampled by a 3x3 average pool with stride
  2 (padding 1, borders averaged over valid pixels only). The paper
  downsamples attention inputs with 3x3 stride-2 average pooling where
  memory is short; here it also gives exactly the strided convolution's
  output grid for any H x W, odd or even, so nothing has to be resampled
  before the concat and attention runs at the output resolution (a quarter
  of the positions, a sixteenth of the logits).
- Stages: AA-ResNet augments every bottleneck of the last three stages
  (c3-c5) and leaves c2 plain, see :class:`..backbones.AAResNet`.
- Sizes: unlike implementations that fix H and W at construction, the
  relative tables serve any H x W (exact up to ``max_size``, interpolated
  beyond), so training and testing sizes may differ.

The layer avoids the defects of a popular open implementation: queries,
keys and values are 1x1 projections (not k x k), heads are merged with the
transpose the (heads, positions, channels) layout needs, so every position
keeps its own output, any H x W works, and tables are parameters created
once.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from ...registry import MODELS
from ..attention.grid_attention import GridAttentionSource
from ..checks import check_choice, check_pair, check_positive_int

POSITION_ENCODINGS = ('relative', 'none')


def head_multiple(name: str, ratio: float, channels: int,
                  heads: int) -> int:
    """``ratio * channels`` rounded to the nearest positive multiple of
    ``heads`` (ties to even, as Python's ``round``).

    Args:
        name: Argument name of ``ratio``, for messages.
        ratio: Fraction of ``channels`` (``kappa`` or ``upsilon``).
        channels: The layer's output channels.
        heads: Number of heads.

    Returns:
        Channel count divisible by ``heads``.
    """
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or \
            ratio <= 0:
        raise ValueError(f'{name} must be a positive number, got {ratio!r}')
    return max(1, round(ratio * channels / heads)) * heads


@MODELS.register_module()
class AAConv(GridAttentionSource, BaseModule):
    """Attention-augmented k x k convolution.

    Args:
        in_channels: Input channels ``F_in``.
        out_channels: Output channels ``F_out`` (convolution and attention
            together).
        stride: 1 or 2. Default: 1.
        kernel_size: Odd size of the convolution branch. Default: 3.
        heads: Attention heads. Default: 8.
        kappa: ``d_k / F_out`` when ``dk`` is not given. Default: 0.2.
        upsilon: ``d_v / F_out`` when ``dv`` is not given. Default: 0.1.
        dk: Explicit query/key channels (a multiple of ``heads``).
            Default: None.
        dv: Explicit attention output channels (a multiple of ``heads``,
            at most ``out_channels``; equal means no convolution branch).
            Default: None.
        position: ``'relative'`` (2-D relative logits) or ``'none'``.
            Default: ``'relative'``.
        max_size: Largest attention-grid height/width (int or pair) with
            exact relative embeddings; larger grids interpolate the tables.
            Default: 84.
        query_chunk: If set, attend for about this many queries at a time
            (see :func:`..attention.grid_attention.grid_attention`).
            Default: None.
        init_cfg: mmengine init config. Default: None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 kernel_size: int = 3,
                 heads: int = 8,
                 kappa: float = 0.2,
                 upsilon: float = 0.1,
                 dk: Optional[int] = None,
                 dv: Optional[int] = None,
                 position: str = 'relative',
                 max_size: Union[int, Sequence[int]] = 84,
                 query_chunk: Optional[int] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_positive_int('in_channels', in_channels)
        check_positive_int('out_channels', out_channels)
        check_positive_int('heads', heads)
        check_positive_int('kernel_size', kernel_size)
        check_choice('stride', stride, (1, 2))
        check_choice('position', position, POSITION_ENCODINGS)
        if kernel_size % 2 == 0:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        if query_chunk is not None:
            check_positive_int('query_chunk', query_chunk)
        dk = self._channels('dk', dk, 'kappa', kappa, out_channels, heads)
        dv = self._channels('dv', dv, 'upsilon', upsilon, out_channels,
                            heads)
        if dv > out_channels:
            raise ValueError(f'dv ({dv}) must not exceed out_channels '
                             f'({out_channels}); lower upsilon or dv')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.heads = heads
        self.dk = dk
        self.dv = dv
        self.position = position
        self.max_size = check_pair('max_size', max_size)
        self.query_chunk = query_chunk
        conv_channels = out_channels - dv
        self.conv = nn.Conv2d(
            in_channels, conv_channels, kernel_size, stride,
            kernel_size // 2, bias=False) if conv_channels else None
        self.qkv = nn.Conv2d(in_channels, 2 * dk + dv, 1)
        self.proj = nn.Conv2d(dv, dv, 1, bias=False)
        if position == 'relative':
            self.init_relative_tables(dk // heads)

    @staticmethod
    def _channels(name: str, value: Optional[int], ratio_name: str,
                  ratio: float, out_channels: int, heads: int) -> int:
        if value is None:
            return head_multiple(ratio_name, ratio, out_channels, heads)
        check_positive_int(name, value)
        if value % heads:
            raise ValueError(f'heads ({heads}) must divide {name} ({value})')
        return value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, out_channels, H', W')."""
        attn = self._attention(x)
        if self.conv is None:
            return attn
        return torch.cat([self.conv(x), attn], dim=1)

    def _attention(self, x: torch.Tensor) -> torch.Tensor:
        """The ``d_v`` attention channels at the output resolution."""
        if self.stride == 2:
            x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
        b, _, height, width = x.shape
        heads = self.heads
        # (B, C, N) -> (B, N, C): channels contiguous, so each head's
        # (N, d) slice has a unit stride on d, as CPU flash attention needs
        qkv = self.qkv(x).flatten(2).transpose(1, 2).contiguous()
        q, k, v = (
            t.unflatten(-1, (heads, -1)).transpose(1, 2)
            for t in qkv.split([self.dk, self.dk, self.dv], dim=-1))
        q = q * (self.dk // heads)**-0.5
        out = self.attend_grid(q, k, v, (height, width))
        # (B, heads, N, dv/heads) -> (B, dv, H, W), head-major channels
        out = out.transpose(1, 2).flatten(2).transpose(1, 2)
        return self.proj(out.reshape(b, self.dv, height, width))
