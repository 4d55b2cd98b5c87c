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

A model trained at one size only ever used (and trained) the centre rows
for the offsets its feature maps had; :func:`resample_relative_table` and
:func:`resize_relative_tables` fill the other rows from them before the
model is used at a larger size
(``tools/model_converters/resize_rel_tables.py``).
"""
from typing import Dict, List, Mapping, Optional, Tuple

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


#: Parameter names of relative tables (:class:`.GridAttentionSource`),
#: in axis order: height, width.
RELATIVE_TABLE_NAMES = ('rel_h', 'rel_w')


def resample_relative_table(table: torch.Tensor,
                            trained_size: int,
                            target_size: Optional[int] = None,
                            key: str = 'table') -> torch.Tensor:
    """Fill a relative table's untrained rows from its trained centre rows.

    A model whose feature maps were at most ``trained_size`` long on this
    axis used only the rows for offsets ``-(trained_size-1) ..
    trained_size-1``; the others kept their random initialisation. The
    result is sampled from the trained rows only (linear interpolation
    along the offset axis): the row for offset ``o`` holds the trained
    embedding at offset ``clip(o, +-(target-1)) * (trained-1) / (target-1)``.

    - ``target_size`` unset (= ``trained_size``): the trained rows stay
      where they are and farther offsets reuse the outermost trained rows,
      as clipped relative positions do. The model is unchanged on every map
      up to the trained size.
    - ``target_size`` larger: the trained rows are stretched over offsets
      up to ``target_size - 1`` (the ends onto the ends, as ViT position
      embeddings are resized), clipped beyond. A map of ``target_size``
      then sees the trained pattern scaled; maps of the trained size no
      longer see the trained rows.

    Args:
        table: (2 * max_size - 1, D) table, row ``r`` for offset
            ``r - (max_size - 1)`` (:func:`relative_table` layout).
        trained_size: Largest extent along this axis the table was trained
            at. At or beyond ``max_size`` every row was used (maps beyond
            it interpolate the whole table) and, without ``target_size``,
            the table is returned unchanged.
        target_size: Extent to stretch the trained rows over, from
            ``trained_size`` to ``max_size``. Default: ``trained_size``.
        key: Name of the table, for messages.

    Returns:
        A new (2 * max_size - 1, D) table of ``table``'s dtype.

    Raises:
        ValueError: If ``table`` is not a (2 * max_size - 1, D) table, or
            the sizes are not integers with ``1 <= trained_size <=
            target_size <= max_size``.
    """
    if table.dim() != 2 or table.shape[0] % 2 == 0:
        raise ValueError(
            f'{key}: a relative table has 2 * max_size - 1 rows (one per '
            f'offset) and one column per channel, got shape '
            f'{tuple(table.shape)}')
    max_size = (table.shape[0] + 1) // 2
    for name, size in (('trained_size', trained_size),
                       ('target_size', target_size)):
        if size is not None and (isinstance(size, bool)
                                 or not isinstance(size, int) or size < 1):
            raise ValueError(
                f'{key}: {name} must be a positive int, got {size!r}')
    if target_size is None:
        if trained_size >= max_size:
            return table.clone()
        target_size = trained_size
    if not trained_size <= target_size <= max_size:
        raise ValueError(
            f'{key}: target_size ({target_size}) must lie between '
            f'trained_size ({trained_size}) and the table\'s max_size '
            f'({max_size}, shape {tuple(table.shape)})')
    offsets = torch.arange(-(max_size - 1), max_size, dtype=torch.float64)
    scale = (trained_size - 1) / max(target_size - 1, 1)
    rows = offsets.clamp(-(target_size - 1), target_size - 1) * scale
    rows += max_size - 1  # fractional row of each source position
    low, high = rows.floor().long(), rows.ceil().long()
    frac = (rows - low).to(table.dtype)[:, None]
    return table[low] + frac * (table[high] - table[low])


def _match_extent(module: str, sizes: Mapping[str, Tuple[int, int]]
                  ) -> Optional[Tuple[int, int]]:
    """Entry of ``sizes`` whose module prefix matches ``module`` longest
    (``''`` matches every module), or ``None``."""
    best = None
    for prefix in sizes:
        if (prefix == '' or module == prefix
                or module.startswith(prefix + '.')) and (
                    best is None or len(prefix) > len(best)):
            best = prefix
    return None if best is None else sizes[best]


def resize_relative_tables(
        state_dict: Mapping[str, torch.Tensor],
        trained_sizes: Mapping[str, Tuple[int, int]],
        target_sizes: Optional[Mapping[str, Tuple[int, int]]] = None,
        prefix: str = 'backbone.'
) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """:func:`resample_relative_table` for every table of a state dict.

    Tables are the entries named ``rel_h`` and ``rel_w`` (under any module
    path); ``rel_h`` takes the height and ``rel_w`` the width of the size
    given for its module.

    Args:
        state_dict: A model's state dict; entries other than tables are
            passed through.
        trained_sizes: ``{module prefix: (height, width)}``: the largest
            attention-grid extent each table was trained at. The longest
            prefix matching a table's module path (whole dot-separated
            parts, ``prefix`` removed) applies; ``''`` matches every table.
        target_sizes: Optional extents to stretch the trained rows over,
            in the same form; tables it does not match keep their trained
            rows in place.
        prefix: Leading part of the keys ignored when matching (the
            backbone of a detector or classifier). Default: ``'backbone.'``.

    Returns:
        ``(state_dict, report)``: a new dict with resampled tables, and one
        line per table saying what was done.

    Raises:
        ValueError: If a table matches no entry of ``trained_sizes`` or
            :func:`resample_relative_table` refuses it (naming the key and
            its shape).
    """
    out, report = dict(state_dict), []
    for key, table in state_dict.items():
        *path, name = key.split('.')
        if name not in RELATIVE_TABLE_NAMES:
            continue
        module = '.'.join(path)
        if prefix and module.startswith(prefix):
            module = module[len(prefix):]
        axis = RELATIVE_TABLE_NAMES.index(name)
        trained = _match_extent(module, trained_sizes)
        if trained is None:
            raise ValueError(
                f'{key} (shape {tuple(table.shape)}): no trained size '
                f'given for module {module!r} (sizes given for '
                f'{sorted(trained_sizes)})')
        target = _match_extent(module, target_sizes or {})
        target_size = None if target is None else target[axis]
        out[key] = resample_relative_table(table, trained[axis],
                                           target_size, key)
        total = table.shape[0]
        used = min(2 * trained[axis] - 1, total)
        if target is not None:
            how = f'stretched over offsets up to {target_size - 1}'
        elif used == total:
            how = 'unchanged (every row trained)'
        else:
            how = f'{total - used} untrained rows filled'
        report.append(f'{key}: {used} of {total} rows trained (extent '
                      f'{trained[axis]}), {how}')
    return out, report
