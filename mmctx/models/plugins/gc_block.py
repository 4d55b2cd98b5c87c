"""Global context (GC) block of GCNet (Cao et al., 2019).

The block pools one query-independent context vector per image with a
softmax attention map (or plain averaging), passes it through a bottleneck
transform ``1x1 conv -> LayerNorm -> ReLU -> 1x1 conv`` and fuses it into
every position by broadcast addition and/or sigmoid gating. The last conv of
every transform is zero-initialised, so the block starts as the identity.

Submodule names follow mmcv's ``ContextBlock`` (and the plug-in name is
``context_block``), so checkpoints of mmdet's GCNet models load unchanged.
"""
from typing import Optional, Sequence, Union

import torch
from mmengine.model.weight_init import constant_init, kaiming_init
from torch import nn

from ...registry import MODELS
from ..attention.observer import AttentionSource
from ..attention.softmax_pool import softmax_pool
from ..checks import check_choice, check_fraction
from ..init import SelfInitModule

POOLINGS = ('att', 'avg')
FUSIONS = ('add', 'mul')


@MODELS.register_module()
class GCBlock(AttentionSource, SelfInitModule):
    """Global context block.

    Args:
        in_channels: Channels of the input feature map.
        ratio: Bottleneck width of the transform as a fraction of
            ``in_channels`` (GCNet uses 1/16 and 1/4). Default: 1/16.
        pooling: ``'att'`` (softmax attention pooling) or ``'avg'`` (global
            average pooling). Default: ``'att'``.
        fusions: Non-empty subset of ``('add', 'mul')``: broadcast addition
            of the transformed context and/or channel gating with its
            sigmoid. Default: ``('add',)``.
        init_cfg: mmengine init config. When ``None`` the block keeps the
            paper's initialisation (Kaiming attention conv, zero last conv of
            each transform) even after an enclosing backbone's
            ``init_weights()``. With ``'add'`` fusion the block is then
            exactly the identity; a ``'mul'`` gate starts at sigmoid(0).
    """

    _abbr_ = 'context_block'
    adds_input = True

    def __init__(self,
                 in_channels: int,
                 ratio: float = 1. / 16,
                 pooling: str = 'att',
                 fusions: Sequence[str] = ('add', ),
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_fraction('ratio', ratio)
        check_choice('pooling', pooling, POOLINGS)
        if isinstance(fusions, str) or not fusions:
            raise ValueError('fusions must be a non-empty sequence drawn from '
                             f'{FUSIONS}, got {fusions!r}')
        for fusion in fusions:
            check_choice('fusions', fusion, FUSIONS)
        planes = int(in_channels * ratio)
        if planes < 1:
            raise ValueError(f'in_channels * ratio must be >= 1, got '
                             f'in_channels={in_channels}, ratio={ratio}')
        self.in_channels = in_channels
        self.ratio = ratio
        self.planes = planes
        self.pooling = pooling
        self.fusions = tuple(fusions)
        if pooling == 'att':
            self.conv_mask = nn.Conv2d(in_channels, 1, kernel_size=1)
        self.channel_add_conv = self._transform() if 'add' in fusions else None
        self.channel_mul_conv = self._transform() if 'mul' in fusions else None
        self.reset_parameters()

    def _transform(self) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(self.in_channels, self.planes, kernel_size=1),
            nn.LayerNorm([self.planes, 1, 1]), nn.ReLU(inplace=True),
            nn.Conv2d(self.planes, self.in_channels, kernel_size=1))

    def reset_parameters(self) -> None:
        """Apply the paper's initialisation: identity at start."""
        if self.pooling == 'att':
            kaiming_init(self.conv_mask, mode='fan_in')
        for transform in (self.channel_add_conv, self.channel_mul_conv):
            if transform is not None:
                constant_init(transform[-1], val=0)

    def spatial_pool(self, x: torch.Tensor) -> torch.Tensor:
        """Pool ``x`` (N, C, H, W) into a (N, C, 1, 1) context vector."""
        if self.pooling == 'avg':
            return x.mean(dim=(2, 3), keepdim=True)
        context, weights = softmax_pool(x, self.conv_mask(x))
        if self.observed:
            n, _, h, w = x.shape
            self.report_attention(weights.view(n, 1, 1, h * w), (1, 1), (h, w))
        return context

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Add (and/or gate with) the transformed global context."""
        context = self.spatial_pool(x)
        out = x
        if self.channel_mul_conv is not None:
            out = out * torch.sigmoid(self.channel_mul_conv(context))
        if self.channel_add_conv is not None:
            out = out + self.channel_add_conv(context)
        return out
