"""Fill the untrained rows of BoTNet / AA-ResNet relative position tables.

Relative tables hold one row per offset up to ``max_size`` (84 for BoTNet,
168/84/42 for AA-ResNet's c3/c4/c5 by default), but a model trained at a
small input only used, and trained, the centre rows for the offsets its
maps had; fine-tuned at a detection size it would meet the others still
at their random initialisation. This tool rewrites every table of a
checkpoint (an mmengine checkpoint or a bare state dict, keys with or
without ``backbone.``) from its trained rows only
(:func:`mmctx.models.attention.rel_pos.resample_relative_table`) and
writes an mmengine checkpoint for ``init_cfg=dict(type='Pretrained', ...)``
or ``load_from``. By default the trained rows stay where they are and
farther offsets reuse the outermost ones: the model computes exactly what
it did at every size up to the trained one. ``--target-size`` /
``--target-input-size`` instead stretch the trained rows over a larger
extent, as ViT position embeddings are resized (not exact at the trained
size any more).

Classification checkpoints (mmpretrain ``ImageClassifier``, as
``tools/train.py configs/classification/...`` or ``configs/demo/
bot_r50_cls_demo.py`` writes them, with optimizer state and all) keep their
layout: the tables under ``backbone.`` are resized, ``neck.*`` and
``head.*`` pass through unchanged, and a detector or segmentor takes the
backbone with ``init_cfg=dict(type='Pretrained', checkpoint=DST,
prefix='backbone.')``.

A classifier built with a smaller ``max_size`` than the model that
will load it (configs/classification/bot50_8xb32_in1k.py: 14, exact at
224; the detection BoTNets: 84) has shorter tables: ``--max-size 84``
lengthens them first, the new offsets then filled as any untrained row.

Which extent a table was trained at (``--input-size S`` derives it for
mmctx's BoTNet and AA-ResNet, ``pytorch`` style, with ``--strides``):

- stage extents: c2 ``ceil(S / 4)`` (stem), then each strided stage
  halves, rounding up: 56/28/14/7 for c2-c5 at 224;
- AA-ResNet (``AAConv``, c3-c5): a strided block attends on its input
  pooled to the stage's output grid, so every block of a stage attends at
  the stage's extent: 28/14/7 at 224;
- BoTNet (``MHSA``, c5): attention runs before the stride-2 pool, so the
  first c5 block attends at the c4 extent (14 at 224) and the other blocks
  at c5's (7).

A single ``--trained-size 14`` applies to every table: right for the first
c5 block of a BoTNet trained at 224, but it would keep the untrained rows
of the other c5 blocks (trained at 7): give per-module sizes
(``layer4.0=14 layer4=7``, the longest prefix wins) or ``--input-size``.

Examples:
    python tools/model_converters/resize_rel_tables.py \\
        bot50_in1k.pth bot50_in1k_tables.pth --input-size 224 \\
        --max-size 84
    python tools/model_converters/resize_rel_tables.py \\
        work_dirs/bot_r50_cls_demo/iter_2000.pth \\
        work_dirs/bot_r50_cls_demo/backbone_rel_tables.pth --input-size 48 \\
        --max-size 84
    python tools/model_converters/resize_rel_tables.py \\
        SRC DST --trained-size layer4.0=14 layer4=7
"""
import argparse
import os.path as osp
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from mmctx.compat import trust_checkpoints
from mmctx.converters.common import (read_checkpoint, save_checkpoint,
                                     select_state_dict)
from mmctx.models.attention.rel_pos import (RELATIVE_TABLE_NAMES,
                                            _match_extent,
                                            resize_relative_tables)

Extent = Tuple[int, int]
PREFIX = 'backbone.'
_MIXER = re.compile(r'layer(\d+)\.(\d+)\.conv2')


def parse_extent(text: str) -> Extent:
    """``'14'`` -> (14, 14); ``'14x20'`` -> (14, 20) (height x width)."""
    parts = text.lower().split('x')
    if len(parts) not in (1, 2) or not all(p.isdigit() and int(p) > 0
                                           for p in parts):
        raise argparse.ArgumentTypeError(
            f'expected a size N or HxW of positive ints, got {text!r}')
    return int(parts[0]), int(parts[-1])


def parse_spec(text: str) -> Tuple[str, Extent]:
    """``'layer4.0=14'`` -> ``('layer4.0', (14, 14))``; a spec without
    ``=`` applies to every table (prefix ``''``)."""
    prefix, _, extent = text.rpartition('=')
    return prefix, parse_extent(extent)


def resnet_extents(state_dict: Mapping[str, torch.Tensor], input_hw: Extent,
                   strides: Sequence[int]) -> Dict[str, Extent]:
    """Attention-grid extent of every table's module for an input size.

    Args:
        state_dict: Checkpoint tensors; a table's module is an ``MHSA``
            unless it has ``proj.weight`` (``AAConv``).
        input_hw: Input height and width.
        strides: Stride of each stage (mmdet ``ResNet``'s ``strides``).

    Returns:
        ``{module path without 'backbone.': (height, width)}``.

    Raises:
        ValueError: For a table outside ``layer{i}.{j}.conv2``.
    """
    stages = [tuple(-(-s // 4) for s in input_hw)]
    for stride in strides:
        stages.append(tuple(-(-s // stride) for s in stages[-1]))
    extents = {}
    for key in state_dict:
        module, _, name = key.rpartition('.')
        if name not in RELATIVE_TABLE_NAMES:
            continue
        path = module[len(PREFIX):] if module.startswith(PREFIX) else module
        found = _MIXER.fullmatch(path)
        if found is None or not 1 <= int(found[1]) <= len(strides):
            raise ValueError(
                f'{key}: --input-size derives extents for tables of '
                f'layer1..layer{len(strides)}.<block>.conv2 only; give '
                f'--trained-size for this one')
        stage, block = int(found[1]), int(found[2])
        before_stride = (f'{module}.proj.weight' not in state_dict
                         and block == 0 and strides[stage - 1] > 1)
        extents[path] = stages[stage - 1 if before_stride else stage]
    return extents


def grow_table(table: torch.Tensor, max_size: int,
               key: str = 'table') -> torch.Tensor:
    """Lengthen a relative table to ``2 * max_size - 1`` rows.

    The rows of the table's own offsets stay where they are; each new,
    farther offset repeats the outermost row on its side (what
    :func:`~mmctx.models.attention.rel_pos.resample_relative_table` then
    reads are the trained centre rows only).

    Args:
        table: (2 * m - 1, D) table.
        max_size: New ``max_size``, at least ``m``.
        key: Name of the table, for messages.

    Returns:
        The (2 * max_size - 1, D) table.

    Raises:
        ValueError: If ``table`` is not a relative table or ``max_size`` is
            below its own.
    """
    if table.dim() != 2 or table.shape[0] % 2 == 0:
        raise ValueError(
            f'{key}: a relative table has 2 * max_size - 1 rows and one '
            f'column per channel, got shape {tuple(table.shape)}')
    own = (table.shape[0] + 1) // 2
    if max_size < own:
        raise ValueError(
            f'{key}: --max-size {max_size} is below the table\'s own '
            f'max_size ({own}, shape {tuple(table.shape)}); tables only '
            f'grow')
    offsets = torch.arange(-(max_size - 1), max_size)
    return table[offsets.clamp(-(own - 1), own - 1) + own - 1]


def grow_tables(state_dict: Mapping[str, torch.Tensor],
                max_sizes: Mapping[str, Extent]
                ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """:func:`grow_table` for every table a ``max_sizes`` prefix matches.

    Args:
        state_dict: Checkpoint tensors.
        max_sizes: ``{module prefix: (height, width)}`` as
            ``trained_sizes`` of ``resize_relative_tables`` (``rel_h``
            takes the height, ``rel_w`` the width).

    Returns:
        ``(state_dict, report)``: a new dict and one line per grown table.
    """
    out, report = dict(state_dict), []
    for key, table in state_dict.items():
        module, _, name = key.rpartition('.')
        if name not in RELATIVE_TABLE_NAMES:
            continue
        path = module[len(PREFIX):] if module.startswith(PREFIX) else module
        size = _match_extent(path, max_sizes)
        if size is None:
            continue
        out[key] = grow_table(table, size[RELATIVE_TABLE_NAMES.index(name)],
                              key)
        if out[key].shape != table.shape:
            report.append(f'{key}: {table.shape[0]} -> {out[key].shape[0]} '
                          f'rows (max_size {(table.shape[0] + 1) // 2} -> '
                          f'{(out[key].shape[0] + 1) // 2})')
    return out, report


def _sizes(specs: Optional[List[Tuple[str, Extent]]],
           input_hw: Optional[Extent],
           state_dict: Mapping[str, torch.Tensor],
           strides: Sequence[int]) -> Dict[str, Extent]:
    """Extents from per-prefix specs or derived from an input size."""
    if input_hw is not None:
        return resnet_extents(state_dict, input_hw, strides)
    return dict(specs or [])


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog='See the module docstring for which extent each table was '
        'trained at.')
    parser.add_argument('src', help='checkpoint of the trained model')
    parser.add_argument('dst', help='mmengine checkpoint to write')
    trained = parser.add_mutually_exclusive_group(required=True)
    trained.add_argument(
        '--trained-size', nargs='+', type=parse_spec,
        metavar='[PREFIX=]N|HxW',
        help='attention-grid extent the tables were trained at: one for '
        'all tables, or per module prefix (layer4.0=14 layer4=7)')
    trained.add_argument(
        '--input-size', type=parse_extent, metavar='N|HxW',
        help='training input size; each table\'s extent is derived')
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        '--target-size', nargs='+', type=parse_spec,
        metavar='[PREFIX=]N|HxW',
        help='stretch the trained rows over this extent instead of '
        'keeping them in place (forms as --trained-size)')
    target.add_argument(
        '--target-input-size', type=parse_extent, metavar='N|HxW',
        help='stretch over the extents of this input size')
    parser.add_argument(
        '--max-size', nargs='+', type=parse_spec, metavar='[PREFIX=]N|HxW',
        help='lengthen the tables to the max_size of the model that will '
        'load them (e.g. 84 for a detection BoTNet from a classifier '
        'built with max_size=14); forms as --trained-size')
    parser.add_argument(
        '--strides', type=int, nargs='+', default=[1, 2, 2, 2],
        help='stage strides for --input-size/--target-input-size '
        '(default: 1 2 2 2)')
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='load a checkpoint holding arbitrary pickled objects (only '
        'from a source you trust: unpickling can run code)')
    args = parser.parse_args(argv)
    if args.trust_checkpoint:
        trust_checkpoints()
    try:
        state_dict, entry, which = select_state_dict(
            read_checkpoint(args.src))
        print(f'{args.src}: using {which}')
        sizes = _sizes(args.trained_size, args.input_size, state_dict,
                       args.strides)
        targets = _sizes(args.target_size, args.target_input_size,
                         state_dict, args.strides)
        state_dict, grown = grow_tables(state_dict,
                                        dict(args.max_size or []))
        state_dict, report = resize_relative_tables(state_dict, sizes,
                                                    targets, PREFIX)
    except ValueError as exc:
        parser.error(f'{args.src}: {exc}')
    if not report:
        parser.error(f'{args.src} has no relative tables '
                     f'({"/".join(RELATIVE_TABLE_NAMES)})')
    print('\n'.join(grown + report))
    save_checkpoint(
        state_dict, args.dst,
        dict(source=osp.abspath(args.src), converter='resize_rel_tables',
             entry=entry, trained_sizes=sizes, target_sizes=targets,
             max_sizes=dict(args.max_size or [])))
    print(f'wrote {args.dst}: {len(report)} tables resampled')


if __name__ == '__main__':
    main()
