"""Non-local blocks: the full non-local block and GCNet's simplified one.

``NonLocalBlock`` follows Wang et al. (2018) in the form mmcv's
``NonLocal2d`` implements it, with the same submodules under the same names
in every mode, so an mmcv state dict loads strictly and the outputs agree:
``g`` (value projection), ``theta``/``phi`` (query/key projections, absent
in the ``gaussian`` mode, which compares raw input vectors),
``concat_project`` (``concatenation`` only) and ``conv_out``; with
``sub_sample`` ``g`` and ``phi`` are ``Sequential(projection, 2x2 max-pool)``
as in mmcv. The output projection is zero-initialised (``zeros_init``), so
the block starts as the identity.

The four pairwise functions ``f(i, j)`` and how they run:

- ``gaussian``: ``softmax_j(x_i . x_j)`` and ``embedded_gaussian``:
  ``softmax_j(theta_i . phi_j / sqrt(d))``, each one fused
  ``F.scaled_dot_product_attention`` call;
- ``dot_product``: ``theta_i . phi_j / N_keys``, computed by associativity
  as ``theta (phi^T g) / N_keys``;
- ``concatenation``: ``relu(w . [theta_i; phi_j]) / N_keys``. The 1x1
  projection of a concatenation splits into ``w_theta . theta_i +
  w_phi . phi_j``, so the block forms one scalar per pair instead of mmcv's
  ``2d``-channel pair tensor.

Only ``concatenation`` (whose ReLU admits no shortcut) keeps an
(H*W x H*W) matrix, unless an observer asks for the attention weights.

``SimplifiedNonLocalBlock`` is GCNet's section-3 simplification: a single
query-independent softmax map pools one context vector, which a 1x1 conv
transforms and adds to every position.
"""
from typing import List, Optional, Tuple, Union

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

NL_MODES = ('gaussian', 'embedded_gaussian', 'dot_product', 'concatenation')


def _tokens(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, H*W, C), contiguous.

    CPU flash attention needs a unit stride on the channel axis; a
    transposed view silently falls back to the materialising kernel.
    """
    return x.flatten(2).transpose(1, 2).contiguous()


@MODELS.register_module()
class NonLocalBlock(AttentionSource, SelfInitModule):
    """Non-local block with any of the paper's four pairwise functions.

    Args:
        in_channels: Channels of the input feature map.
        reduction: Inner width is ``in_channels // reduction``. Default: 2.
        mode: Pairwise function: ``'gaussian'``, ``'embedded_gaussian'``,
            ``'dot_product'`` or ``'concatenation'`` (see the module
            docstring). Default: ``'embedded_gaussian'``.
        use_scale: Divide embedded-Gaussian logits by ``sqrt(inner width)``;
            the other modes ignore it, as mmcv. Default: True.
        sub_sample: Max-pool keys and values by 2x2 after their projections.
            Default: False.
        conv_cfg: Config of the 1x1 convolutions (not of
            ``concat_project``, as mmcv). Default: None (Conv2d).
        norm_cfg: Norm after the output projection; when set, the norm (not
            the conv) is the initialised output layer. Default: None.
        std: Standard deviation of the normal init of the projections.
            Default: 0.01.
        zeros_init: Zero-initialise the output layer, so the block starts
            as the identity; when False it gets the normal init too.
            Default: True.
        init_cfg: mmengine init config; ``None`` keeps this initialisation
            after an enclosing backbone's ``init_weights``.
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
                 zeros_init: bool = True,
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
        self.zeros_init = zeros_init

        def projection(cin: int, cout: int, pooled: bool = False,
                       norm: Optional[dict] = None) -> nn.Module:
            conv = ConvModule(
                cin, cout, 1, conv_cfg=conv_cfg, norm_cfg=norm, act_cfg=None)
            return nn.Sequential(conv, nn.MaxPool2d(2)) if pooled else conv

        self.g = projection(in_channels, self.inter_channels, sub_sample)
        if mode != 'gaussian':
            self.theta = projection(in_channels, self.inter_channels)
            self.phi = projection(in_channels, self.inter_channels,
                                  sub_sample)
        if mode == 'concatenation':
            self.concat_project = ConvModule(
                2 * self.inter_channels, 1, 1, bias=False,
                act_cfg=dict(type='ReLU'))
        self.conv_out = projection(
            self.inter_channels, in_channels, norm=norm_cfg)
        self.reset_parameters()

    def _projections(self) -> List[nn.Module]:
        """The value, query and key 1x1 convs that exist in this mode."""
        modules = [self.g] if self.mode == 'gaussian' else [
            self.g, self.theta, self.phi
        ]
        return [m[0].conv if isinstance(m, nn.Sequential) else m.conv
                for m in modules]

    def reset_parameters(self) -> None:
        """Normal init of the projections; zero (or normal) output layer."""
        for conv in self._projections():
            normal_init(conv, std=self.std)
        if self.mode == 'concatenation':
            kaiming_init(self.concat_project.conv, nonlinearity='relu')
        out = (self.conv_out.norm
               if self.conv_out.with_norm else self.conv_out.conv)
        if self.zeros_init:
            constant_init(out, 0)
        else:
            normal_init(out, std=self.std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Add the non-local response to ``x`` (N, C, H, W)."""
        n, _, h, w = x.shape
        value = self.g(x)
        if self.mode == 'gaussian':
            query = x
            key = F.max_pool2d(x, 2) if self.sub_sample else x
        else:
            query, key = self.theta(x), self.phi(x)
        key_hw = tuple(key.shape[-2:])
        query, key, value = _tokens(query), _tokens(key), _tokens(value)
        if self.mode == 'dot_product':
            y = self._dot_product(query, key, value, (h, w), key_hw)
        elif self.mode == 'concatenation':
            y = self._concatenation(query, key, value, (h, w), key_hw)
        else:
            scale = (self.inter_channels**-0.5 if self.use_scale
                     and self.mode == 'embedded_gaussian' else 1.0)
            y = self._softmax(query, key, value, scale, (h, w), key_hw)
        y = y.transpose(1, 2).reshape(n, self.inter_channels, h, w)
        return x + self.conv_out(y)

    def _softmax(self, query: torch.Tensor, key: torch.Tensor,
                 value: torch.Tensor, scale: float, query_hw: Tuple[int, int],
                 key_hw: Tuple[int, int]) -> torch.Tensor:
        """Softmax attention; tokens are (N, L, C), returns (N, Lq, C')."""
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

    def _concatenation(self, query: torch.Tensor, key: torch.Tensor,
                       value: torch.Tensor, query_hw: Tuple[int, int],
                       key_hw: Tuple[int, int]) -> torch.Tensor:
        """``relu(w_q . q_i + w_k . k_j) / N_keys`` weights; same shapes."""
        w_query, w_key = self.concat_project.conv.weight.flatten().split(
            self.inter_channels)
        # (N, Lq, 1) + (N, 1, Lk): the 1x1 conv of every concatenated pair
        logits = (query @ w_query).unsqueeze(2) + (key @ w_key).unsqueeze(1)
        weights = self.concat_project.activate(logits) / key.shape[1]
        if self.observed:
            self.report_attention(weights.unsqueeze(1), query_hw, key_hw)
        return weights @ value


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
