"""2-D relative (and factorised absolute) position logits for any H x W.

Pure functions shared by BoTNet's MHSA and Attention-Augmented convolution.
Position tables are learned for offsets up to a maximum extent and used as
follows for a feature map of height ``H`` (width likewise):

- ``H <= max``: the centred ``2H - 1`` rows of the relative table (offsets
  ``-(H-1) .. H-1``), or the first ``H`` rows of an absolute table: exactly
  the embeddings a model trained at that size uses;
- ``H > max``: the table is linearly interpolated to the needed length
  (offsets are stretched, not clipped), so larger inputs run and degrade
  gracefully instead of failing or silently reusing wrong rows.
"""
from typing import Tuple

import torch
import torch.nn.functional as F


def _resample(table: torch.Tensor, length: int) -> torch.Tensor:
    """Linearly interpolate a (L, D) table to (length, D) rows."""
    if table.shape[0] == 1:
        return table.expand(length, -1)
    resized = F.interpolate(
        table.t().unsqueeze(0), size=length, mode='linear',
        align_corners=True)
    return resized.squeeze(0).t()


def relative_table(table: torch.Tensor, size: int) -> torch.Tensor:
    """Rows of a relative table for offsets ``-(size-1) .. size-1``.

    Args:
        table: (2 * max_size - 1, D) learned embeddings, row ``r`` for offset
            ``r - (max_size - 1)``.
        size: Extent of the feature map along this axis.

    Returns:
        (2 * size - 1, D) embeddings, row ``r`` for offset ``r - (size-1)``.
    """
    max_size = (table.shape[0] + 1) // 2
    if size <= max_size:
        centre = max_size - 1
        return table[centre - (size - 1):centre + size]
    return _resample(table, 2 * size - 1)


def absolute_table(table: torch.Tensor, size: int) -> torch.Tensor:
    """Rows of an absolute table for positions ``0 .. size-1``.

    Args:
        table: (max_size, D) learned embeddings.
        size: Extent of the feature map along this axis.

    Returns:
        (size, D) embeddings.
    """
    if size <= table.shape[0]:
        return table[:size]
    return _resample(table, size)


def _relative_1d(query: torch.Tensor, table: torch.Tensor, size: int,
                 start: int = 0) -> torch.Tensor:
    """Logits ``q . r[key - query]`` along the last spatial axis.

    Args:
        query: (..., Lq, D) queries at positions ``start .. start+Lq-1``.
        table: (2 * size - 1, D) relative embeddings for this size.
        size: Number of key positions ``0 .. size-1`` along the axis.
        start: Position of the first query.

    Returns:
        (..., Lq, size): entry ``[..., i, j]`` is ``q_i . r[j - (start+i)]``.
    """
    logits = query @ table.t()  # (..., Lq, 2*size-1), column = offset
    queries = torch.arange(start, start + query.shape[-2],
                           device=query.device)
    keys = torch.arange(size, device=query.device)
    index = keys[None, :] - queries[:, None] + size - 1
    index = index.expand(*logits.shape[:-1], size)
    return logits.gather(-1, index)


def relative_logits_1d(
        query: torch.Tensor,
        rel_h: torch.Tensor,
        rel_w: torch.Tensor,
        hw: Tuple[int, int],
        first_row: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-axis relative logits ``q . r_h[y' - y]`` and ``q . r_w[x' - x]``.

    Args:
        query: (B, heads, R*W, D) queries of grid rows ``first_row ..
            first_row+R-1`` in row-major order (already scaled as the caller
            wants); all rows when ``R == H``.
        rel_h: (2 * max_h - 1, D) relative height table.
        rel_w: (2 * max_w - 1, D) relative width table.
        hw: ``(H, W)`` of the key grid (the full query grid).
        first_row: Grid row of the first query, for query chunks.

    Returns:
        ``(along_h, along_w)`` of shapes (B, heads, R*W, H) and
        (B, heads, R*W, W): the logit of each query for each key row and
        each key column.
    """
    height, width = hw
    b, n, length, dim = query.shape
    rows = length // width
    q = query.reshape(b, n, rows, width, dim)
    # (B, n, W, R, H): height offsets, with the row axis last-but-one
    along_h = _relative_1d(
        q.transpose(2, 3), relative_table(rel_h, height), height, first_row)
    along_w = _relative_1d(q, relative_table(rel_w, width), width)
    return (along_h.transpose(2, 3).reshape(b, n, length, height),
            along_w.reshape(b, n, length, width))


def relative_logits(query: torch.Tensor,
                    rel_h: torch.Tensor,
                    rel_w: torch.Tensor,
                    hw: Tuple[int, int],
                    first_row: int = 0) -> torch.Tensor:
    """2-D relative position logits ``q . (r_h[dy] + r_w[dx])``, materialised.

    Args:
        query, rel_h, rel_w, hw, first_row: As :func:`relative_logits_1d`.

    Returns:
        (B, heads, R*W, H*W) logits; entry ``[b, n, (y, x), (y', x')]`` is
        ``q . r_h[y' - y] + q . r_w[x' - x]``.
    """
    along_h, along_w = relative_logits_1d(query, rel_h, rel_w, hw,
                                          first_row)
    b, n, length, _ = along_h.shape
    logits = along_h.unsqueeze(-1) + along_w.unsqueeze(-2)
    return logits.reshape(b, n, length, hw[0] * hw[1])


def relative_key_inputs(key: torch.Tensor,
                        value: torch.Tensor,
                        hw: Tuple[int, int],
                        multiple: int = 8
                        ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Key and value halves of :func:`relative_query_inputs`' folding.

    For query ``(y, x)`` the relative term over key ``(y', x')`` is
    ``a_h[y'] + a_w[x']`` with ``a = relative_logits_1d(q)``: the dot product
    of ``[a_h, a_w]`` with the one-hot code ``[e_{y'}, e_{x'}]`` of the key.
    So ``[q, a_h, a_w] . [k, e_{y'}, e_{x'}] = q . k + relative term``
    exactly, and attention over the augmented vectors needs no (queries x
    keys) bias: fused kernels keep their memory savings in training, and
    gradients reach ``q`` and the tables through ``a``. The value is
    zero-padded to the same width (fused kernels want equal widths); the
    caller keeps the first ``D`` output channels. Keys and values do not
    depend on which queries attend, so build them once per call.

    Args:
        key: (B, heads, H*W, D) keys.
        value: (B, heads, H*W, D) values.
        hw: ``(H, W)`` of the key grid.
        multiple: Pad the augmented width ``D + H + W`` to a multiple of
            this (GPU fused kernels prefer multiples of 8).

    Returns:
        Augmented ``(key, value)``, each (B, heads, H*W, D + H + W + pad),
        or wider when the value is (values wider than the augmented keys
        widen both).
    """
    height, width = hw
    rows = torch.arange(height, device=key.device).repeat_interleave(width)
    cols = torch.arange(width, device=key.device).repeat(height)
    codes = torch.cat([
        F.one_hot(rows, height), F.one_hot(cols, width)
    ], dim=-1).to(key.dtype)  # (H*W, H+W)
    dim = max(key.shape[-1] + height + width, value.shape[-1])
    dim += -dim % multiple
    key = torch.cat([key, codes.expand(*key.shape[:-1], -1)], -1)
    key = F.pad(key, (0, dim - key.shape[-1]))
    value = F.pad(value, (0, dim - value.shape[-1]))
    return key, value


def relative_query_inputs(query: torch.Tensor,
                          rel_h: torch.Tensor,
                          rel_w: torch.Tensor,
                          hw: Tuple[int, int],
                          augmented_width: int,
                          first_row: int = 0) -> torch.Tensor:
    """Query half of the folding: ``[q, a_h, a_w]`` (see
    :func:`relative_key_inputs`).

    Args:
        query: (B, heads, R*W, D) scaled queries of grid rows from
            ``first_row``.
        rel_h, rel_w: Relative tables as :func:`relative_logits_1d`.
        hw: ``(H, W)`` of the key grid.
        augmented_width: Width of the augmented keys (zero-padded to it).
        first_row: Grid row of the first query.

    Returns:
        (B, heads, R*W, augmented_width) queries.
    """
    along_h, along_w = relative_logits_1d(query, rel_h, rel_w, hw,
                                          first_row)
    query = torch.cat(
        [query, along_h.to(query.dtype),
         along_w.to(query.dtype)], -1)
    return F.pad(query, (0, augmented_width - query.shape[-1]))


def absolute_embeddings(abs_h: torch.Tensor, abs_w: torch.Tensor,
                        hw: Tuple[int, int]) -> torch.Tensor:
    """Factorised absolute key embeddings ``e_h[y] + e_w[x]``.

    Adding them to the keys gives the content-position logits
    ``q . (k + e)`` without a separate (queries x keys) bias.

    Args:
        abs_h: (max_h, D) height embeddings.
        abs_w: (max_w, D) width embeddings.
        hw: ``(H, W)`` of the key grid.

    Returns:
        (H*W, D) embeddings in row-major order.
    """
    height, width = hw
    return (absolute_table(abs_h, height)[:, None, :] +
            absolute_table(abs_w, width)[None, :, :]).flatten(0, 1)
