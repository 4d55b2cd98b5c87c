"""Multi-head self-attention over a 2-D grid with 2-D relative logits.

The attention core shared by BoTNet's MHSA and Attention-Augmented
convolution: both attend from every position of an H x W map to every
position, with logits ``q k^T + q r_h[y' - y] + q r_w[x' - x]``
(:mod:`.rel_pos`). Three exact paths, chosen per call:

- small maps (logits of at most :data:`EXPLICIT_LIMIT` elements), and any
  map while an observer wants the weights: explicit logits and softmax;
- wide heads (``Dk + Dv >= H + W``, BoTNet; see :data:`NARROW_HEAD_RATIO`): one
  ``F.scaled_dot_product_attention`` call on query/key vectors augmented so
  that their dot products include the relative logits exactly
  (:func:`.rel_pos.relative_key_inputs`), at most doubling the widths;
- narrow heads (AA-Conv: 3 to 13 channels a head against ``H + W`` of 134
  at c4 of a COCO image), where that augmentation would multiply the work
  tens of times: :class:`ChunkedRelativeAttention`, explicit logits for a
  few queries at a time with a recomputing backward, so memory stays at
  ``O(chunk x N)`` and the work at the explicit form's.

Neither large-map path materialises the (heads x N x N) logits.
"""
from contextlib import contextmanager
from functools import partial
from typing import Callable, Iterator, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable
from torch.utils.checkpoint import checkpoint

from .observer import AttentionSource
from .rel_pos import (relative_key_inputs, relative_logits,
                      relative_logits_1d, relative_query_inputs)

Tables = Optional[Tuple[torch.Tensor, torch.Tensor]]

#: Largest logits tensor (elements, all batches and heads) computed
#: explicitly: 16 Mi elements, 64 MiB in float32 (c3 of a 224-pixel image
#: with 8 heads and batch 2 fits, c3 of a detection image does not).
EXPLICIT_LIMIT = 1 << 24
#: Heads are narrow (chunked path) when ``Dk + Dv`` is below this times
#: ``H + W``, the width the fused path's augmentation adds.
NARROW_HEAD_RATIO = 1.0
#: Logits elements (all batches and heads) per chunk of the narrow-head
#: path: on CPUs 2 Mi, 8 MiB in float32, small enough to stay in cache; on
#: GPUs 64 Mi, few enough chunks that kernel launches do not dominate.
CHUNK_ELEMENTS = 1 << 21
CHUNK_ELEMENTS_GPU = 1 << 26
#: Largest map an observer may ask for (elements, all batches and heads):
#: 256 Mi, 1 GiB in float32; larger requests raise instead of exhausting
#: memory (c3 of a COCO image in AA-ResNet would be 9 GiB a block).
OBSERVE_LIMIT = 1 << 28


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
            (whole rows on the fused path, where each chunk is checkpointed
            when gradients are needed, so training memory keeps the bound);
            the narrow-head path sizes its chunks itself when unset.
        observer: If given, the weights are computed explicitly, handed to
            it as a (B, heads, H*W, H*W) tensor, and used for the output
            (``ValueError`` beyond :data:`OBSERVE_LIMIT` elements).
            They are also explicit, unobserved, when the logits have at
            most :data:`EXPLICIT_LIMIT` elements.

    Returns:
        (B, heads, H*W, Dv) attention outputs.
    """
    b, heads, length, _ = q.shape
    size = b * heads * length * length
    if observer is not None and size > OBSERVE_LIMIT:
        raise ValueError(
            f'observing attention over a {hw[0]}x{hw[1]} map ({heads} heads, '
            f'batch {b}) needs {size} weights, over OBSERVE_LIMIT '
            f'({OBSERVE_LIMIT}): observe this block on a smaller input or '
            'leave it out')
    if observer is not None or size <= EXPLICIT_LIMIT:
        logits = q @ k.transpose(-1, -2)
        if tables is not None:
            logits = logits + relative_logits(q, *tables, hw)
        weights = logits.softmax(dim=-1)
        if observer is not None:
            observer(weights)
        return weights @ v
    height, width = hw
    narrow = q.shape[-1] + v.shape[-1] < NARROW_HEAD_RATIO * (height + width)
    if tables is not None and narrow:
        along_h, along_w = relative_logits_1d(q, *tables, hw)
        budget = CHUNK_ELEMENTS if q.device.type == 'cpu' else \
            CHUNK_ELEMENTS_GPU
        chunk = query_chunk or max(1, budget // (b * heads * length))
        return ChunkedRelativeAttention.apply(
            q, *(t.to(q.dtype) for t in (k, v, along_h, along_w)), chunk)
    value_dim = v.shape[-1]
    if tables is not None:
        k, v = relative_key_inputs(k, v, hw)
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


class GridAttentionSource(AttentionSource):
    """Mixin for blocks that attend over their grid with
    :func:`grid_attention` (BoTNet's MHSA, AA-Conv).

    The block sets ``position``, ``max_size`` (a pair) and ``query_chunk``;
    with ``position == 'relative'`` it calls :meth:`init_relative_tables`
    and the tables are used, and while an observer listens each call's
    (B, heads, N, N) weights reach it.
    """

    def init_relative_tables(self, head_dim: int) -> None:
        """Create ``rel_h``/``rel_w``: (2 * max - 1, head_dim) tables, one
        pair shared by the heads, drawn with std ``head_dim ** -0.5``."""
        max_h, max_w = self.max_size
        std = head_dim**-0.5
        self.rel_h = nn.Parameter(torch.randn(2 * max_h - 1, head_dim) * std)
        self.rel_w = nn.Parameter(torch.randn(2 * max_w - 1, head_dim) * std)

    def attend_grid(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                    hw: Tuple[int, int]) -> torch.Tensor:
        """:func:`grid_attention` with the block's tables, chunking and
        observer (shapes as there)."""
        tables = ((self.rel_h, self.rel_w)
                  if self.position == 'relative' else None)
        observer = (partial(self.report_attention, query_hw=hw, key_hw=hw)
                    if self.observed else None)
        return grid_attention(q, k, v, hw, tables, self.query_chunk,
                              observer)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
            hw: Tuple[int, int], tables: Tables,
            first_row: int) -> torch.Tensor:
    """One fused call for the queries of grid rows from ``first_row``
    (keys and values already augmented when ``tables`` is set)."""
    if tables is not None:
        q = relative_query_inputs(q, *tables, hw, k.shape[-1], first_row)
    return F.scaled_dot_product_attention(q, k, v, scale=1.0)


@contextmanager
def _untraced() -> Iterator[None]:
    """Keep the JIT tracer out of a custom function's loop.

    Traced, each chunk's intermediates would be recorded (and kept alive)
    in the function node's subgraph: gigabytes at c3 of a COCO image. The
    node itself stays in the graph, so FLOP counters see one op
    (``mmctx.analysis.complexity`` counts it).
    """
    state = torch._C._get_tracing_state()
    torch._C._set_tracing_state(None)
    try:
        yield
    finally:
        torch._C._set_tracing_state(state)


def _no_autocast(like: torch.Tensor) -> torch.autocast:
    """Autocast off on ``like``'s device: the function runs in its inputs'
    dtype in forward and backward alike (its softmax statistics in
    :func:`_statistics_dtype`), so the recomputed weights match the
    forward's."""
    return torch.autocast(like.device.type, enabled=False)


def _statistics_dtype(dtype: torch.dtype) -> torch.dtype:
    """Precision of softmax statistics for inputs of ``dtype``: at least
    float32 (half-precision inputs) and never below the inputs' own
    (float64 stays float64)."""
    return torch.promote_types(dtype, torch.float32)


def _chunk_logits(q: torch.Tensor, k_t: torch.Tensor, along_h: torch.Tensor,
                  along_w: torch.Tensor) -> torch.Tensor:
    """Logits of a chunk of queries: (B, n, c, H*W) from ``q`` (B, n, c, D),
    transposed keys (B, n, D, H*W) and per-axis relative logits
    (B, n, c, H) and (B, n, c, W)."""
    logits = q @ k_t
    b, n, c, _ = logits.shape
    grid = logits.view(b, n, c, along_h.shape[-1], along_w.shape[-1])
    grid.add_(along_h[..., None]).add_(along_w[..., None, :])
    return logits


class ChunkedRelativeAttention(torch.autograd.Function):
    """Softmax attention with per-axis relative logits, a chunk of queries
    at a time.

    ``out[q] = softmax_k(q . k + along_h[q, y_k] + along_w[q, x_k]) @ v``.
    The forward keeps only the outputs and each query's log-sum-exp (in
    float32, or float64 for float64 inputs); the backward recomputes each
    chunk's weights from them (as fused attention kernels do), so no tensor
    larger than ``B x heads x chunk x N`` exists. All inputs share one
    dtype.
    Gradients reach ``along_h``/``along_w`` as row and column sums of the
    logits' gradient, and through them the queries and tables.
    """

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                along_h: torch.Tensor, along_w: torch.Tensor,
                chunk: int) -> torch.Tensor:
        """Shapes: q, k (B, n, N, D); v (B, n, N, Dv); along_h (B, n, N, H);
        along_w (B, n, N, W); returns (B, n, N, Dv)."""
        length = q.shape[2]
        stats = _statistics_dtype(q.dtype)
        out = v.new_empty(*q.shape[:3], v.shape[-1])
        lse = q.new_empty(*q.shape[:3], 1, dtype=stats)
        k_t = k.transpose(-1, -2)
        with _untraced(), _no_autocast(q):
            for start in range(0, length, chunk):
                part = slice(start, start + chunk)
                logits = _chunk_logits(q[:, :, part], k_t,
                                       along_h[:, :, part],
                                       along_w[:, :, part])
                peak = logits.amax(-1, keepdim=True).to(stats)
                weights = (logits.to(stats) - peak).exp_()
                total = weights.sum(-1, keepdim=True)
                # normalised before the product: no half-precision overflow
                out[:, :, part] = weights.div_(total).to(v.dtype) @ v
                lse[:, :, part] = peak + total.log()
        ctx.save_for_backward(q, k, v, along_h, along_w, out, lse)
        ctx.chunk = chunk
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        """Recompute each chunk's weights ``p``; then ``dv += p^T dO``,
        ``ds = p * (dO v^T - rowsum(dO * out))``, ``dq = ds k``,
        ``dk += ds^T q`` and the per-axis sums of ``ds``."""
        q, k, v, along_h, along_w, out, lse = ctx.saved_tensors
        chunk = ctx.chunk
        grad_out = grad_out.contiguous()
        delta = (grad_out * out).sum(-1, keepdim=True)
        grad_q, grad_k = torch.empty_like(q), torch.zeros_like(k)
        grad_v = torch.zeros_like(v)
        grad_h, grad_w = torch.empty_like(along_h), torch.empty_like(along_w)
        k_t, v_t = k.transpose(-1, -2), v.transpose(-1, -2)
        b, n, length, _ = q.shape
        with _no_autocast(q):
            for start in range(0, length, chunk):
                part = slice(start, start + chunk)
                logits = _chunk_logits(q[:, :, part], k_t,
                                       along_h[:, :, part],
                                       along_w[:, :, part])
                weights = (logits.to(lse.dtype) -
                           lse[:, :, part]).exp_().to(q.dtype)
                grad_v += weights.transpose(-1, -2) @ grad_out[:, :, part]
                grad_s = grad_out[:, :, part] @ v_t
                grad_s.sub_(delta[:, :, part]).mul_(weights)
                grad_q[:, :, part] = grad_s @ k
                grad_k += grad_s.transpose(-1, -2) @ q[:, :, part]
                grid = grad_s.view(b, n, grad_s.shape[2], along_h.shape[-1],
                                   along_w.shape[-1])
                grad_h[:, :, part] = grid.sum(-1)
                grad_w[:, :, part] = grid.sum(-2)
        return grad_q, grad_k, grad_v, grad_h, grad_w, None
