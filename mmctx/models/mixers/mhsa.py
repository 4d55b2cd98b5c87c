"""Multi-head self-attention of BoTNet (Srinivas et al., 2021).

A drop-in for a bottleneck's 3x3 conv: 1x1 q/k/v projections without bias,
``heads`` heads, no output projection (the bottleneck's conv3 follows),
logits ``q k^T + q r_h + q r_w`` with ``q`` scaled by ``d^-1/2`` before both
terms, softmax over all positions, and stride 2 as a 2x2 average pool after
the attention (so the first c5 block attends at stride 16).

Unlike reference implementations that fix the feature size at construction,
the position tables serve any H x W (:mod:`..attention.rel_pos`): exact up
to ``max_size``, interpolated beyond. Attention runs through
:func:`..attention.grid_attention.grid_attention`: explicit logits on small
maps and while an observer listens; on large maps BoTNet's wide heads take
one ``F.scaled_dot_product_attention`` call on query/key vectors augmented
so that their dot products include the relative logits exactly, so no
(heads x N x N) tensor exists in training or inference (optionally over
chunks of query rows). The augmented width is ``head_dim + H + W`` rounded
up to 8 (296 at c5 of a 1344-pixel input); CUDA's flash kernel stops at
256, so large maps run on the memory-efficient kernel there. Narrow heads
(``2 * head_dim < H + W``) take the chunked explicit path instead.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from ...registry import MODELS
from ..attention.grid_attention import GridAttentionSource
from ..attention.rel_pos import absolute_embeddings
from ..checks import check_choice, check_pair, check_positive_int

POSITION_ENCODINGS = ('relative', 'absolute', 'none')


@MODELS.register_module()
class MHSA(GridAttentionSource, BaseModule):
    """BoTNet multi-head self-attention with 2-D position encodings.

    Args:
        in_channels: Input channels.
        out_channels: Output channels (``heads * head width``).
        stride: 1, or 2 for a 2x2 average pool (ceil mode, matching the
            strided shortcut on odd sizes) after the attention. Default: 1.
        heads: Number of heads; must divide ``out_channels``. Default: 4.
        position: ``'relative'`` (2-D relative logits), ``'absolute'``
            (factorised height + width key embeddings) or ``'none'``.
            Default: ``'relative'``.
        max_size: Largest feature height/width (int or pair) with exact
            embeddings; larger maps interpolate the tables. The default, 84,
            covers c5 of a 1333x1333 (padded 1344) input at stride 16.
        query_chunk: If set, attend for about this many queries at a time
            (whole rows on the fused path), bounding what a fused kernel
            that materialises (e.g. on devices without a flash kernel for
            the augmented width) holds to ``heads x query_chunk x N`` per
            image; when gradients are needed each chunk is checkpointed, so
            training keeps that bound. On the chunked narrow-head path it
            is the number of queries per chunk. Default: None.
        init_cfg: mmengine init config. Default: None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 heads: int = 4,
                 position: str = 'relative',
                 max_size: Union[int, Sequence[int]] = 84,
                 query_chunk: Optional[int] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_positive_int('in_channels', in_channels)
        check_positive_int('out_channels', out_channels)
        check_positive_int('heads', heads)
        check_choice('stride', stride, (1, 2))
        check_choice('position', position, POSITION_ENCODINGS)
        if out_channels % heads:
            raise ValueError(f'heads ({heads}) must divide out_channels '
                             f'({out_channels})')
        if query_chunk is not None:
            check_positive_int('query_chunk', query_chunk)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.heads = heads
        self.head_dim = out_channels // heads
        self.position = position
        self.max_size = check_pair('max_size', max_size)
        self.query_chunk = query_chunk
        self.qkv = nn.Conv2d(in_channels, 3 * out_channels, 1, bias=False)
        std = self.head_dim**-0.5
        max_h, max_w = self.max_size
        if position == 'relative':
            self.init_relative_tables(self.head_dim)
        elif position == 'absolute':
            self.abs_h = nn.Parameter(torch.randn(max_h, self.head_dim) * std)
            self.abs_w = nn.Parameter(torch.randn(max_w, self.head_dim) * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, out_channels, H', W')."""
        b, _, height, width = x.shape
        # (B, 3, heads, d, N) -> three (B, heads, N, d) with a unit stride
        # on d, which CPU flash attention needs
        q, k, v = self.qkv(x).reshape(b, 3, self.heads, self.head_dim,
                                      height * width).transpose(
                                          -1, -2).contiguous().unbind(1)
        q = q * self.head_dim**-0.5
        if self.position == 'absolute':
            k = k + absolute_embeddings(self.abs_h, self.abs_w,
                                        (height, width))
        out = self.attend_grid(q, k, v, (height, width))
        out = out.transpose(-1, -2).reshape(b, self.out_channels, height,
                                            width)
        if self.stride == 2:
            out = F.avg_pool2d(out, 2, ceil_mode=True)
        return out
