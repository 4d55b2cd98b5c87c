"""Forward+backward time and peak memory of each block against its
reference, at the c3/c4/c5 shapes of an 800x1333 image (padded to 800x1344),
batch 2. Every number is measured in this run, each in a fresh process.

Example:
    python tools/analysis/benchmark_blocks.py
    python tools/analysis/benchmark_blocks.py --blocks nl --stages c4
"""
import argparse
import json

import torch

from mmctx.analysis.benchmark import (TABLE_HEADER, Comparison,
                                      run_comparisons)

BATCH = 2
#: (channels, height, width) of ResNet-50 c3/c4/c5 at 800x1344.
STAGES = dict(c3=(512, 100, 168), c4=(1024, 50, 84), c5=(2048, 25, 42))
HERE = 'benchmark_blocks'


def gc_ours(channels):
    from mmctx.models import GCBlock
    return GCBlock(channels, ratio=1. / 16)


def gc_mmcv(channels):
    from mmcv.cnn import ContextBlock
    return ContextBlock(channels, ratio=1. / 16)


def nl_ours(channels):
    from mmctx.models import NonLocalBlock
    return NonLocalBlock(channels)


def nl_mmcv(channels):
    from mmcv.cnn import NonLocal2d
    return NonLocal2d(channels)


def snl_ours(channels):
    from mmctx.models import SimplifiedNonLocalBlock
    return SimplifiedNonLocalBlock(channels)


def se_ours(channels):
    from mmctx.models import SEBlock
    return SEBlock(channels, ratio=16)


def se_mmdet(channels):
    from mmdet.models.layers import SELayer
    return SELayer(channels, ratio=16)


#: name -> (ours, reference or None, reference label, targets by stage)
BLOCKS = dict(
    gc=('gc_ours', 'gc_mmcv', 'mmcv ContextBlock',
        dict(c3=(1.05, None), c4=(1.05, None), c5=(1.05, None))),
    nl=('nl_ours', 'nl_mmcv', 'mmcv NonLocal2d', dict(c4=(0.8, 0.6))),
    snl=('snl_ours', None, 'no mmcv counterpart', {}),
    se=('se_ours', 'se_mmdet', 'mmdet SELayer', {}),
)


def comparisons(blocks, stages):
    rows = []
    for block in blocks:
        ours, ref, label, targets = BLOCKS[block]
        for stage in stages:
            channels, height, width = STAGES[stage]
            time_target, memory_target = targets.get(stage, (None, None))
            rows.append(
                Comparison(
                    name=f'{block} {stage} vs {label}',
                    shape=(BATCH, channels, height, width),
                    ours=(f'{HERE}:{ours}', (channels, )),
                    reference=(f'{HERE}:{ref}', (channels, )) if ref else None,
                    time_target=time_target,
                    memory_target=memory_target))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--blocks', nargs='+', choices=list(BLOCKS), default=list(BLOCKS))
    parser.add_argument(
        '--stages', nargs='+', choices=list(STAGES), default=list(STAGES))
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    print(f'device: {args.device}, torch {torch.__version__}, '
          f'threads {torch.get_num_threads()}, batch {BATCH}, '
          f'median of {args.repeats} forward+backward passes')
    print(TABLE_HEADER)
    results = run_comparisons(
        comparisons(args.blocks, args.stages), args.repeats, args.device)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump([{k: (v.__dict__ if hasattr(v, '__dict__') else v)
                        for k, v in r.items()} for r in results], f,
                      indent=1)


if __name__ == '__main__':
    main()
