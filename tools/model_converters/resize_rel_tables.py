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
        bot50_in1k.pth bot50_in1k_tables.pth --input-size 224
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
        state_dict, report = resize_relative_tables(state_dict, sizes,
                                                    targets, PREFIX)
    except ValueError as exc:
        parser.error(f'{args.src}: {exc}')
    if not report:
        parser.error(f'{args.src} has no relative tables '
                     f'({"/".join(RELATIVE_TABLE_NAMES)})')
    print('\n'.join(report))
    save_checkpoint(
        state_dict, args.dst,
        dict(source=osp.abspath(args.src), converter='resize_rel_tables',
             entry=entry, trained_sizes=sizes, target_sizes=targets))
    print(f'wrote {args.dst}: {len(report)} tables resampled')


if __name__ == '__main__':
    main()
