"""Squeeze-and-excitation block (Hu et al., 2018), GCNet's SE baseline.

Global average pooling, ``FC C -> C/r``, ReLU, ``FC C/r -> C``, sigmoid, and
a channel-wise rescaling of the input. The sigmoid gates are reported to
observers as a ``'channel'`` attention map.
"""
from typing import Optional, Union

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from ...registry import MODELS
from ..attention.observer import AttentionSource
from ..checks import check_positive_int


@MODELS.register_module()
class SEBlock(AttentionSource, BaseModule):
    """Squeeze-and-excitation block.

    Args:
        in_channels: Channels of the input feature map.
        ratio: Reduction of the hidden width, ``in_channels // ratio``
            (SENet and GCNet use 16). Default: 16.
        init_cfg: mmengine init config. Default: None.
    """

    _abbr_ = 'se_block'

    def __init__(self,
                 in_channels: int,
                 ratio: int = 16,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_positive_int('in_channels', in_channels)
        check_positive_int('ratio', ratio)
        if ratio > in_channels:
            raise ValueError(f'ratio ({ratio}) must not exceed in_channels '
                             f'({in_channels})')
        hidden = in_channels // ratio
        self.in_channels = in_channels
        self.ratio = ratio
        self.squeeze = ConvModule(
            in_channels, hidden, 1, act_cfg=dict(type='ReLU'))
        self.excite = ConvModule(
            hidden, in_channels, 1, act_cfg=dict(type='Sigmoid'))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rescale the channels of ``x`` (N, C, H, W) by learned gates."""
        gates = self.excite(self.squeeze(x.mean(dim=(2, 3), keepdim=True)))
        if self.observed:
            self.report_attention(gates.flatten(1), None, None, 'channel')
        return x * gates
