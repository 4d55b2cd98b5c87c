"""Non-local blocks: the full non-local block and GCNet's simplified one.

``NonLocalBlock`` follows Wang et al. (2018) in the form mmcv's
``NonLocal2d`` implements it (same submodule names, so its weights load
directly; with ``sub_sample`` mmcv nests ``g`` and ``phi`` in a
``Sequential`` with the pooling, so its ``g.0.``/``phi.0.`` keys map to our
``g.``/``phi.``): embedded-Gaussian or dot-product pairwise terms over all
positions, an optional 2x2 max-pool of keys and values, and a
zero-initialised output projection added to the input. The embedded-Gaussian
path runs through one fused ``F.scaled_dot_product_attention`` call and the
dot-product path uses associativity, ``q (k^T v) / N``, so neither keeps an
(H*W x H*W) matrix unless an observer asks for the attention weights.

``SimplifiedNonLocalBlock`` is GCNet's section-3 simplification: a single
query-independent softmax map pools one context vector, which a 1x1 conv
transforms and adds to every position.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model.weight_init import constant_init, kaiming_init, normal_init
from torch import nn

from ...registry import MODELS
from ..attention.observer import AttentionSource
from ..attention.softmax_pool import softmax_pool
from ..checks import check_choice, check_positive_int
from ..init import SelfInitModule

NL_MODES = ('embedded_gaussian', 'dot_product')


@MODELS.register_module()
class NonLocalBlock(AttentionSource, SelfInitModule):
    """Non-local block (embedded Gaussian or dot product).

    Args:
        in_channels: Channels of the input feature map.
        reduction: Inner width is ``in_channels // reduction``. Default: 2.
        mode: ``'embedded_gaussian'`` (softmax over key positions) or
            ``'dot_product'`` (pairwise products divided by the number of key
            positions). Default: ``'embedded_gaussian'``.
        use_scale: Divide embedded-Gaussian logits by ``sqrt(inner width)``.
            Default: True.
        sub_sample: Max-pool keys and values by 2x2 after their projections.
            Default: False.
        conv_cfg: Config of the 1x1 convolutions. Default: None (Conv2d).
        norm_cfg: Norm after the output projection; when set, the norm (not
            the conv) is zero-initialised. Default: None.
        std: Standard deviation of the normal init of the q/k/v
            projections. Default: 0.01.
        init_cfg: mmengine init config; ``None`` keeps the paper's
            initialisation after an enclosing backbone's ``init_weights``.
    """

    _abbr_ = 'nonlocal_block'
    adds_input = True

    def __init__(self,
                 in_channels: int,
                 reduction: int = 2,
                 mode: str = 'embedded_gaussian',
                 use_scale: bool = True,
                 sub_sample: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 std: float = 0.01,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_positive_int('in_channels', in_channels)
        check_positive_int('reduction', reduction)
        check_choice('mode', mode, NL_MODES)
        if in_channels < reduction:
            raise ValueError(f'reduction ({reduction}) must not exceed '
                             f'in_channels ({in_channels})')
        self.in_channels = in_channels
        self.inter_channels = in_channels // reduction
        self.mode = mode
        self.use_scale = use_scale
        self.sub_sample = sub_sample
        self.std = std

        def projection(cin: int, cout: int, norm: Optional[dict] = None):
            return ConvModule(
                cin, cout, 1, conv_cfg=conv_cfg, norm_cfg=norm, act_cfg=None)

        self.g = projection(in_channels, self.inter_channels)
        self.theta = projection(in_channels, self.inter_channels)
        self.phi = projection(in_channels, self.inter_channels)
        self.conv_out = projection(self.inter_channels, in_channels, norm_cfg)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Normal init of q/k/v, zero init of the output branch."""
        for module in (self.g, self.theta, self.phi):
            normal_init(module.conv, std=self.std)
        if self.conv_out.with_norm:
            constant_init(self.conv_out.norm, 0)
        else:
            constant_init(self.conv_out.conv, 0)

    def _tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, H*W, C), contiguous.

        CPU flash attention needs a unit stride on the channel axis; a
        transposed view silently falls back to the materialising kernel.
        """
        return x.flatten(2).transpose(1, 2).contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Add the non-local response to ``x`` (N, C, H, W)."""
        n, _, h, w = x.shape
        query = self._tokens(self.theta(x))
        key, value = self.phi(x), self.g(x)
        if self.sub_sample:
            key, value = F.max_pool2d(key, 2), F.max_pool2d(value, 2)
        key_hw = tuple(key.shape[-2:])
        key, value = self._tokens(key), self._tokens(value)
        if self.mode == 'dot_product':
            y = self._dot_product(query, key, value, (h, w), key_hw)
        else:
            y = self._embedded_gaussian(query, key, value, (h, w), key_hw)
        y = y.transpose(1, 2).reshape(n, self.inter_channels, h, w)
        return x + self.conv_out(y)

    def _embedded_gaussian(self, query: torch.Tensor, key: torch.Tensor,
                           value: torch.Tensor, query_hw: Tuple[int, int],
                           key_hw: Tuple[int, int]) -> torch.Tensor:
        """Softmax attention; tokens are (N, L, C'), returns (N, Lq, C')."""
        scale = self.inter_channels**-0.5 if self.use_scale else 1.0
        if self.observed:
            weights = (query @ key.transpose(1, 2) * scale).softmax(dim=-1)
            self.report_attention(weights.unsqueeze(1), query_hw, key_hw)
            return weights @ value
        return F.scaled_dot_product_attention(
            query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1),
            scale=scale).squeeze(1)

    def _dot_product(self, query: torch.Tensor, key: torch.Tensor,
                     value: torch.Tensor, query_hw: Tuple[int, int],
                     key_hw: Tuple[int, int]) -> torch.Tensor:
        """Pairwise products over the key count, as mmcv; same shapes."""
        num_keys = key.shape[1]
        if self.observed:
            weights = query @ key.transpose(1, 2) / num_keys
            self.report_attention(weights.unsqueeze(1), query_hw, key_hw)
        # (q k^T) v == q (k^T v): (N, C', C') instead of (N, HW, HW)
        return query @ (key.transpose(1, 2) @ value) / num_keys


@MODELS.register_module()
class SimplifiedNonLocalBlock(AttentionSource, SelfInitModule):
    """Simplified non-local block of GCNet (section 3).

    ``z_i = x_i + W_v sum_j softmax_j(W_k x_j) x_j``: one attention map
    shared by all query positions, a full 1x1 value transform, addition.

    Args:
        in_channels: Channels of the input feature map.
        init_cfg: mmengine init config; ``None`` keeps the paper's
            initialisation (zero ``W_v``, so the block starts as the
            identity) after an enclosing backbone's ``init_weights``.
    """

    _abbr_ = 'snl_block'
    adds_input = True

    def __init__(self,
                 in_channels: int,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_positive_int('in_channels', in_channels)
        self.in_channels = in_channels
        self.conv_mask = nn.Conv2d(in_channels, 1, kernel_size=1)
        self.conv_value = nn.Conv2d(in_channels, in_channels, kernel_size=1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming attention conv, zero value transform."""
        kaiming_init(self.conv_mask, mode='fan_in')
        constant_init(self.conv_value, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Add the transformed global context to every position."""
        context, weights = softmax_pool(x, self.conv_mask(x))
        if self.observed:
            n, _, h, w = x.shape
            self.report_attention(weights.view(n, 1, 1, h * w), (1, 1), (h, w))
        return x + self.conv_value(context)
