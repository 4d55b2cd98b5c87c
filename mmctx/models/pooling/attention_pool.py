"""Attention-based pooling of PatchConvNet (Touvron et al., 2021).

One transformer-style block in which only a learned class token is updated:

1. ``u = LN([cls; x])`` over the token and the H*W positions of the map;
2. ``cls += gamma1 * proj(softmax(q(u_cls) k(u)^T / sqrt(d)) v(u))``: the
   token is the only query, the keys and values include the token itself;
3. ``cls += gamma2 * MLP(LN(cls))`` with a GELU MLP of ratio 3;
4. the pooled feature is ``LN(cls)``.

``gamma1`` and ``gamma2`` are per-channel layer scales. The block replaces
global average pooling on any backbone's last map, as PatchConvNet's
classifier or, in the paper's ablation, on ResNet-50.

With ``num_tokens=T > 1`` (the official ``S60_multi``: one class token per
class) the T tokens are T queries of the same block, and the keys and values
are the H*W positions only: no token attends to itself or to another token.
The MLP and the norms act on each token; the output is (N, T, C), token
``t`` being the feature its class is scored from.

Observers receive one ``'spatial'`` map per call. With one token it has
shape (N, heads, 1, H*W): the token's attention over the *positions only*.
The softmax of step 2 also gives the token a weight for itself; the reported
map leaves that weight out and renormalises the rest (a softmax over the
position logits alone, which equals the full softmax's position weights
divided by their sum), so each row sums to one over the H*W positions, like
the GC block's map. With T tokens it has shape (N, heads, T, H*W), row ``t``
being token ``t``'s attention (exactly the weights used), and ``query_hw``
is ``None``: the queries are tokens, not grid positions.
"""
from typing import Optional, Union

import torch
from mmcv.cnn.bricks.scale import LayerScale
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model.weight_init import trunc_normal_, trunc_normal_init
from torch import nn

from ...registry import MODELS
from ..attention.observer import AttentionSource
from ..checks import check_positive_int
from ..init import SelfInitModule


@MODELS.register_module()
class AttentionPool(AttentionSource, SelfInitModule):
    """Pool a feature map with a learned class token's attention.

    Args:
        in_channels: Channels ``C`` of the input map (and of the output).
        mlp_ratio: Hidden width of the MLP as a multiple of ``C``.
            Default: 3.
        num_heads: Attention heads; the paper uses one. Default: 1.
        layer_scale_init: Initial value of both layer scales (PatchConvNet
            uses 1e-4 for S60 and 1e-6 for deeper or wider models).
            Default: 1e-4.
        qkv_bias: Whether the query, key and value projections have biases.
            Default: True.
        num_tokens: Learned class tokens. One (the default) attends to the
            positions and itself; several (one per class in PatchConvNet's
            multi-class-token model) attend to the positions only, and the
            output keeps one feature per token. Default: 1.
        eps: Epsilon of the three LayerNorms. Default: 1e-6.
        init_cfg: mmengine init config. When ``None`` the block keeps its
            own initialisation (truncated normal, std 0.02, for the token and
            the linear weights, zero biases) even after an enclosing model's
            ``init_weights()``.
    """

    def __init__(self,
                 in_channels: int,
                 mlp_ratio: float = 3.,
                 num_heads: int = 1,
                 layer_scale_init: float = 1e-4,
                 qkv_bias: bool = True,
                 num_tokens: int = 1,
                 eps: float = 1e-6,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_positive_int('in_channels', in_channels)
        check_positive_int('num_heads', num_heads)
        check_positive_int('num_tokens', num_tokens)
        if in_channels % num_heads:
            raise ValueError(f'in_channels ({in_channels}) must be divisible '
                             f'by num_heads ({num_heads})')
        if isinstance(mlp_ratio, bool) or not isinstance(
                mlp_ratio, (int, float)) or int(in_channels * mlp_ratio) < 1:
            raise ValueError(f'mlp_ratio must be a positive number giving at '
                             f'least one hidden unit for {in_channels} '
                             f'channels, got {mlp_ratio!r}')
        if isinstance(layer_scale_init, bool) or not isinstance(
                layer_scale_init, (int, float)) or layer_scale_init <= 0:
            raise ValueError('layer_scale_init must be a positive number, '
                             f'got {layer_scale_init!r}')
        self.in_channels = in_channels
        self.num_heads = num_heads
        self.head_dim = in_channels // num_heads
        self.num_tokens = num_tokens
        self.cls_token = nn.Parameter(torch.zeros(1, num_tokens, in_channels))
        self.norm1 = nn.LayerNorm(in_channels, eps=eps)
        self.q = nn.Linear(in_channels, in_channels, bias=qkv_bias)
        self.k = nn.Linear(in_channels, in_channels, bias=qkv_bias)
        self.v = nn.Linear(in_channels, in_channels, bias=qkv_bias)
        self.proj = nn.Linear(in_channels, in_channels)
        self.gamma1 = LayerScale(in_channels, scale=layer_scale_init)
        self.norm2 = nn.LayerNorm(in_channels, eps=eps)
        # FFN adds its identity argument to gamma2 * MLP(input)
        self.mlp = FFN(
            in_channels,
            int(in_channels * mlp_ratio),
            act_cfg=dict(type='GELU'),
            layer_scale_init_value=layer_scale_init)
        self.norm = nn.LayerNorm(in_channels, eps=eps)
        self.layer_scale_init = layer_scale_init
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Apply PatchConvNet's initialisation."""
        trunc_normal_(self.cls_token, std=.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_init(module, std=.02, bias=0)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for scale in (self.gamma1.weight, self.mlp.gamma2.weight):
            nn.init.constant_(scale, self.layer_scale_init)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        # (N, T, C) -> (N, heads, T, head_dim)
        n, t, _ = x.shape
        return x.view(n, t, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool ``x`` (N, C, H, W) into (N, C) features, or (N, T, C) with
        ``num_tokens=T > 1``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'expected an input of shape (N, '
                             f'{self.in_channels}, H, W), got '
                             f'{tuple(x.shape)}')
        n, c, h, w = x.shape
        t = self.num_tokens
        cls = self.cls_token.expand(n, -1, -1)  # (N, T, C)
        tokens = torch.cat([cls, x.flatten(2).transpose(1, 2)], dim=1)
        tokens = self.norm1(tokens)  # (N, T + HW, C)
        q = self._heads(self.q(tokens[:, :t])) * self.head_dim**-0.5
        # one token attends to itself too, several only to the positions
        context = tokens if t == 1 else tokens[:, t:]
        k = self._heads(self.k(context))
        v = self._heads(self.v(context))
        logits = q @ k.transpose(-2, -1)  # (N, heads, T, [1 +] HW)
        if self.observed:
            self.report_attention(logits[..., -h * w:].softmax(dim=-1),
                                  (1, 1) if t == 1 else None, (h, w))
        attended = logits.softmax(dim=-1) @ v  # (N, heads, T, head_dim)
        attended = self.proj(attended.transpose(1, 2).reshape(n, t, c))
        cls = cls + self.gamma1(attended)
        cls = self.mlp(self.norm2(cls), identity=cls)
        out = self.norm(cls)
        return out.squeeze(1) if t == 1 else out
