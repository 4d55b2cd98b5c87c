"""Multi-head self-attention over a 2-D grid with 2-D relative logits.

The attention core shared by BoTNet's MHSA and Attention-Augmented
convolution: both attend from every position of an H x W map to every
position, with logits ``q k^T + q r_h[y' - y] + q r_w[x' - x]``
(:mod:`.rel_pos`). Training and inference run one
``F.scaled_dot_product_attention`` call on query/key vectors augmented so
that their dot products include the relative logits exactly
(:func:`.rel_pos.relative_key_inputs`), so no (heads x N x N) tensor is
materialised; optionally over chunks of query rows, each checkpointed when
gradients are needed. The augmented width is ``Dk + H + W``: for small maps
(where the logits fit in a few MiB) the explicit form is both cheaper and
small, so it is used there, and always when an observer asks for the
weights.
"""
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from .rel_pos import (relative_key_inputs, relative_logits,
                      relative_query_inputs)

Tables = Optional[Tuple[torch.Tensor, torch.Tensor]]

#: Largest logits tensor (elements, all batches and heads) computed
#: explicitly: 16 Mi elements, 64 MiB in float32 (c3 of a 224-pixel image
#: with 8 heads and batch 2 fits, c3 of a detection image does not).
EXPLICIT_LIMIT = 1 << 24


def grid_attention(q: torch.Tensor,
                   k: torch.Tensor,
                   v: torch.Tensor,
                   hw: Tuple[int, int],
                   tables: Tables = None,
                   query_chunk: Optional[int] = None,
                   observer: Optional[Callable[[torch.Tensor], None]] = None
                   ) -> torch.Tensor:
    """Softmax attention of every grid position over all positions.

    Args:
        q: (B, heads, H*W, Dk) queries, already scaled (the scale applies to
            the content and the relative logits alike).
        k: (B, heads, H*W, Dk) keys.
        v: (B, heads, H*W, Dv) values.
        hw: ``(H, W)`` of the grid, positions in row-major order.
        tables: ``(rel_h, rel_w)`` relative tables of width ``Dk``
            (:func:`.rel_pos.relative_table` layout), or ``None`` for
            content-only logits.
        query_chunk: If set, attend for about this many queries at a time
            (whole rows); each chunk is checkpointed when gradients are
            needed, so training memory keeps the bound.
        observer: If given, the weights are computed explicitly, handed to
            it as a (B, heads, H*W, H*W) tensor, and used for the output.
            They are also explicit, unobserved, when the logits have at
            most :data:`EXPLICIT_LIMIT` elements.

    Returns:
        (B, heads, H*W, Dv) attention outputs.
    """
    b, heads, length, _ = q.shape
    if observer is not None or b * heads * length * length <= EXPLICIT_LIMIT:
        logits = q @ k.transpose(-1, -2)
        if tables is not None:
            logits = logits + relative_logits(q, *tables, hw)
        weights = logits.softmax(dim=-1)
        if observer is not None:
            observer(weights)
        return weights @ v
    value_dim = v.shape[-1]
    if tables is not None:
        k, v = relative_key_inputs(k, v, hw)
    height, width = hw
    rows = height if query_chunk is None else max(1, query_chunk // width)
    if rows >= height:
        return _attend(q, k, v, hw, tables, 0)[..., :value_dim]
    recompute = torch.is_grad_enabled() and q.requires_grad
    outputs = []
    for first in range(0, height, rows):
        chunk = q[:, :, first * width:(first + rows) * width]
        if recompute:
            outputs.append(
                checkpoint(_attend, chunk, k, v, hw, tables, first,
                           use_reentrant=False))
        else:
            outputs.append(_attend(chunk, k, v, hw, tables, first))
    return torch.cat(outputs, 2)[..., :value_dim]


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
            hw: Tuple[int, int], tables: Tables,
            first_row: int) -> torch.Tensor:
    """One fused call for the queries of grid rows from ``first_row``
    (keys and values already augmented when ``tables`` is set)."""
    if tables is not None:
        q = relative_query_inputs(q, *tables, hw, k.shape[-1], first_row)
    return F.scaled_dot_product_attention(q, k, v, scale=1.0)
