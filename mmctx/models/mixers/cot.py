"""Contextual Transformer layers of CoTNet (Li et al., 2021).

A CoT layer replaces a bottleneck's 3x3 conv (and the BN and ReLU after it:
it ends in its own normalisation and fusion, as the official network):

1. static context ``k1 = ReLU(BN(grouped k x k conv(x)))``;
2. attention weights from ``[x; k1]`` through ``1x1 conv -> BN -> ReLU ->
   1x1 conv (with bias) -> GroupNorm``: ``k*k`` weights per position for each
   of ``C/8`` groups, no softmax; channel ``c`` uses group ``c mod C/8``;
3. value ``v = BN(1x1 conv(x))`` and dynamic context ``k2 = swish(BN(local
   aggregation of v with those weights))``;
4. radix-2 split attention over ``[k2, k1]``: global average of their sum,
   ``1x1 conv -> BN -> ReLU -> 1x1 conv`` to two logits per channel, softmax
   over the two, weighted sum.

Stride 2 is a 3x3 stride-2 average pool before the layer, as the official
bottleneck. ``CoXtLayer`` is the ResNeXt form: key conv groups 8, and the
attention embedding and value conv split into two channel groups (the input
of the embedding interleaves query and key channels), each aggregating its
half of the channels with its half of the weights.

The aggregation is :func:`..attention.local_agg.local_aggregate` (CPU and
GPU, any float dtype, exact gradients) in place of the official CuPy kernel.
Attention weights reach observers as ``kind='local'`` maps of shape
(N, groups, k*k, H, W). As in the official layer, the split attention's BN
sees one pooled value per image, so training needs batches of 2 or more.
"""
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from ...registry import MODELS
from ..attention.local_agg import local_aggregate
from ..attention.observer import AttentionSource
from ..checks import check_choice, check_positive_int

SHARE_PLANES = 8  # channels per attention-weight group
RADIX = 2


def _conv_bn(cin: int, cout: int, kernel: int = 1, groups: int = 1,
             relu: bool = False) -> nn.Sequential:
    layers = [
        nn.Conv2d(cin, cout, kernel, padding=kernel // 2, groups=groups,
                  bias=False),
        nn.BatchNorm2d(cout)
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


@MODELS.register_module()
class CoTLayer(AttentionSource, BaseModule):
    """Contextual Transformer layer (CoTNet).

    Args:
        in_channels: Input channels; must equal ``out_channels``.
        out_channels: Output channels (a multiple of 8 and of
            ``key_groups``).
        stride: 1, or 2 for a 3x3 stride-2 average pool first. Default: 1.
        kernel_size: Odd context window ``k``. Default: 3.
        key_groups: Groups of the k x k key conv. Default: 4.
        value_groups: Channel groups of the attention embedding and value
            conv (1 for CoT, 2 for CoXt). Default: 1.
        init_cfg: mmengine init config. Default: None.
    """

    #: The layer ends in its own normalisation: the host block drops the
    #: BN and ReLU that follow a plain 3x3 conv.
    own_norm_act = True

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 kernel_size: int = 3,
                 key_groups: int = 4,
                 value_groups: int = 1,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_positive_int('in_channels', in_channels)
        check_choice('stride', stride, (1, 2))
        check_positive_int('kernel_size', kernel_size)
        if kernel_size % 2 == 0:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        if in_channels != out_channels:
            raise ValueError(f'in_channels ({in_channels}) must equal '
                             f'out_channels ({out_channels}) for a CoT layer')
        dim = in_channels
        groups = dim // SHARE_PLANES
        for name, divisor in (('8 (one weight group per 8 channels)',
                               SHARE_PLANES), ('key_groups', key_groups),
                              ('2 * value_groups', 2 * value_groups)):
            if dim % divisor:
                raise ValueError(f'channels ({dim}) must be divisible by '
                                 f'{name}')
        if groups % value_groups:
            raise ValueError(f'channels/8 ({groups}) must be divisible by '
                             f'value_groups ({value_groups})')
        self.channels = dim
        self.stride = stride
        self.kernel_size = kernel_size
        self.value_groups = value_groups
        self.weight_groups = groups
        self.key_embed = _conv_bn(dim, dim, kernel_size, key_groups, True)
        embed_mid = dim // 2
        self.embed = nn.Sequential(
            nn.Conv2d(2 * dim, embed_mid, 1, groups=value_groups, bias=False),
            nn.BatchNorm2d(embed_mid), nn.ReLU(inplace=True),
            nn.Conv2d(embed_mid, kernel_size**2 * groups, 1,
                      groups=value_groups),
            nn.GroupNorm(groups, kernel_size**2 * groups))
        self.value_embed = _conv_bn(dim, dim, 1, value_groups)
        self.norm = nn.BatchNorm2d(dim)
        attn_channels = max(dim * RADIX // 4, 32)
        self.fuse = nn.Sequential(
            nn.Conv2d(dim, attn_channels, 1), nn.BatchNorm2d(attn_channels),
            nn.ReLU(inplace=True), nn.Conv2d(attn_channels, RADIX * dim, 1))

    def _embed_input(self, x: torch.Tensor,
                     key: torch.Tensor) -> torch.Tensor:
        if self.value_groups == 1:
            return torch.cat([x, key], dim=1)
        # CoXt interleaves query and key channels: x0, k0, x1, k1, ...
        return torch.stack([x, key], dim=2).flatten(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H', W')."""
        if self.stride == 2:
            x = F.avg_pool2d(x, 3, 2, padding=1)
        b, c, h, w = x.shape
        key = self.key_embed(x)
        kk = self.kernel_size**2
        weight = self.embed(self._embed_input(x, key))
        # (B, vg * groups/vg * k*k, H, W) -> per value group (B*vg, G', kk)
        weight = weight.reshape(b * self.value_groups,
                             self.weight_groups // self.value_groups, kk, h,
                             w)
        if self.observed:
            self.report_attention(
                weight.reshape(b, self.weight_groups, kk, h, w), (h, w), None,
                'local')
        value = self.value_embed(x).reshape(b * self.value_groups, -1, h,
                                            w)
        dynamic = local_aggregate(value, weight, self.kernel_size)
        dynamic = F.silu(self.norm(dynamic.reshape(b, c, h, w)))
        contexts = torch.stack([dynamic, key], dim=2)  # (B, C, 2, H, W)
        gap = contexts.sum(2).mean((2, 3), keepdim=True)
        split = self.fuse(gap).view(b, c, RADIX).softmax(dim=2)
        return (contexts * split.view(b, c, RADIX, 1, 1)).sum(2)


@MODELS.register_module()
class CoXtLayer(CoTLayer):
    """CoTNeXt layer: key conv groups 8, two channel groups for the
    attention embedding and the value (see :class:`CoTLayer`)."""

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 kernel_size: int = 3,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(
            in_channels,
            out_channels,
            stride=stride,
            kernel_size=kernel_size,
            key_groups=8,
            value_groups=2,
            init_cfg=init_cfg)
