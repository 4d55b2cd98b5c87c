"""Forward+backward time and peak memory of each block against its
reference, at the c3/c4/c5 shapes of an 800x1333 image (padded to 800x1344),
batch 2, whole-model inference latency ratios, and backbone forward-time
ratios (PatchConvNet-S60 vs ResNet-50 at 512x512). Every number is measured
in this run, each in a fresh process.

Example:
    python tools/analysis/benchmark_blocks.py
    python tools/analysis/benchmark_blocks.py --blocks nl --stages c4
    python tools/analysis/benchmark_blocks.py --blocks patchconvnet \
        --no-latency
"""
import argparse
import json
import os.path as osp

import torch
from torch import nn

from mmctx.analysis.benchmark import (TABLE_HEADER, Comparison,
                                      measure_forward, measure_latency,
                                      run_comparisons)
from mmctx.models import MHSA, AAConv, CoTLayer
from mmctx.models.attention.local_agg import (local_aggregate,
                                              local_aggregate_unfold)
from mmctx.models.attention.rel_pos import relative_logits

BATCH = 2
#: (channels, height, width) of ResNet-50 c3/c4/c5 at 800x1344.
STAGES = dict(c3=(512, 100, 168), c4=(1024, 50, 84), c5=(2048, 25, 42))
#: The first c5 block's MHSA input: 512 channels at stride 16 (50x84).
MHSA_SHAPE = (BATCH, 512, 50, 84)
#: AA-ResNet-50's c4 conv2 input: 256 channels at stride 16 (50x84).
AA_SHAPE = (BATCH, 256, 50, 84)
#: CoTNet-50's c3 layer width at stride 8.
COT_SHAPE = (BATCH, 128, 100, 168)
HERE = 'benchmark_blocks'
CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'configs')


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


class MaterializedMHSA(nn.Module):
    """MHSA's math with explicit logits, bias and softmax (the reference)."""

    def __init__(self, channels: int, heads: int = 4) -> None:
        super().__init__()
        self.block = MHSA(channels, channels, heads=heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        block = self.block
        b, _, height, width = x.shape
        q, k, v = block.qkv(x).reshape(b, 3, block.heads, block.head_dim,
                                       height * width).transpose(
                                           -1, -2).unbind(1)
        q = q * block.head_dim**-0.5
        logits = q @ k.transpose(-1, -2) + relative_logits(
            q, block.rel_h, block.rel_w, (height, width))
        out = logits.softmax(-1) @ v
        return out.transpose(-1, -2).reshape(b, -1, height, width)


class NaiveAAConv(nn.Module):
    """AAConv's math with explicit logits, relative terms and softmax (the
    reference): what an implementation without fused attention runs."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = AAConv(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        block = self.block
        b, _, height, width = x.shape
        heads, dk, dv = block.heads, block.dk, block.dv
        q, k, v = (t.reshape(b, heads, -1, height * width).transpose(-1, -2)
                   for t in block.qkv(x).split([dk, dk, dv], 1))
        q = q * (dk // heads)**-0.5
        logits = q @ k.transpose(-1, -2) + relative_logits(
            q, block.rel_h, block.rel_w, (height, width))
        out = (logits.softmax(-1) @ v).transpose(-1, -2)
        attn = block.proj(out.reshape(b, dv, height, width))
        return torch.cat([block.conv(x), attn], 1)


class Aggregation(nn.Module):
    """k x k local aggregation of the input with learned per-position
    weights (one group per 8 channels), by the given implementation."""

    def __init__(self, shape, fn) -> None:
        super().__init__()
        b, c, h, w = shape
        self.fn = fn
        self.weight = nn.Parameter(torch.randn(b, c // 8, 9, h, w))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x, self.weight, 3)


def aggregation_ours(*shape):
    return Aggregation(shape, local_aggregate)


def aggregation_unfold(*shape):
    return Aggregation(shape, local_aggregate_unfold)


def cot_layer(channels):
    return CoTLayer(channels, channels)


def conv3x3(channels):
    return nn.Conv2d(channels, channels, 3, padding=1, bias=False)


def mhsa_ours(channels):
    return MHSA(channels, channels, heads=4)


def mhsa_materialized(channels):
    return MaterializedMHSA(channels)


def aa_ours(channels):
    return AAConv(channels, channels)


def aa_naive(channels):
    return NaiveAAConv(channels)


#: name -> (ours, reference or None, reference label, targets by stage)
BLOCKS = dict(
    gc=('gc_ours', 'gc_mmcv', 'mmcv ContextBlock',
        dict(c3=(1.05, None), c4=(1.05, None), c5=(1.05, None))),
    nl=('nl_ours', 'nl_mmcv', 'mmcv NonLocal2d', dict(c4=(0.8, 0.6))),
    snl=('snl_ours', None, 'no mmcv counterpart', {}),
    se=('se_ours', 'se_mmdet', 'mmdet SELayer', {}),
)
#: model comparisons: (label, ours, reference), configs under configs/
LATENCY = [('Mask R-CNN BoT50 vs R50',
            'botnet/mask-rcnn_bot50_fpn_1x_coco.py',
            'baselines/mask-rcnn_r50_fpn_1x_coco.py'),
           ('Mask R-CNN CoTNet-50 vs R50',
            'cotnet/mask-rcnn_cotnet50_fpn_1x_coco.py',
            'baselines/mask-rcnn_r50_fpn_1x_coco.py')]


# -- backbone forward latency: PatchConvNet-S60 vs ResNet-50 ----------------
#: One 512x512 image, eval mode, no grad (the ADE20k crop size).
BACKBONE_SHAPE = (1, 3, 512, 512)


def patchconvnet_s60(*out_indices):
    from mmctx.models import PatchConvNet
    return PatchConvNet(arch='S60', out_indices=out_indices)


def resnet50():
    from mmdet.models.backbones import ResNet
    return ResNet(depth=50, out_indices=(0, 1, 2, 3))


#: name -> rows of (label, ours (factory, args), reference (factory, args))
BACKBONES = dict(patchconvnet=[
    ('PatchConvNet-S60 (strides 4-32) vs ResNet-50',
     (f'{HERE}:patchconvnet_s60', (0, 1, 2, 3)), (f'{HERE}:resnet50', ())),
    ('PatchConvNet-S60 trunk (stride 16) vs ResNet-50',
     (f'{HERE}:patchconvnet_s60', (2, )), (f'{HERE}:resnet50', ())),
])


def run_backbone_comparisons(names, repeats, device):
    """Print and return the backbone forward-time ratios of ``names``."""
    results = []
    if not names:
        return results
    shape = 'x'.join(map(str, BACKBONE_SHAPE))
    print(f'\n| backbone forward, {shape}, eval, no grad | ours ms | ref ms '
          '| time ratio |\n|---|---|---|---|')
    for name in names:
        for label, ours, ref in BACKBONES[name]:
            ours_s, ref_s = measure_forward([ours, ref], BACKBONE_SHAPE,
                                            repeats, device)
            print(f'| {label} | {ours_s * 1e3:.1f} | {ref_s * 1e3:.1f} | '
                  f'{ours_s / ref_s:.2f} |')
            results.append(dict(name=label, ours_s=ours_s, ref_s=ref_s,
                                time_ratio=ours_s / ref_s))
    return results


def comparisons(blocks, stages):
    rows = []
    if 'mhsa' in blocks:
        rows.append(
            Comparison(
                name='mhsa first c5 block vs materialized',
                shape=MHSA_SHAPE,
                ours=(f'{HERE}:mhsa_ours', (MHSA_SHAPE[1], )),
                reference=(f'{HERE}:mhsa_materialized', (MHSA_SHAPE[1], )),
                time_target=0.7,
                memory_target=0.5))
    if 'aa' in blocks:
        rows.append(
            Comparison(
                name='AAConv c4 vs naive',
                shape=AA_SHAPE,
                ours=(f'{HERE}:aa_ours', (AA_SHAPE[1], )),
                reference=(f'{HERE}:aa_naive', (AA_SHAPE[1], )),
                time_target=0.8,
                memory_target=0.6))
    if 'cot' in blocks:
        rows += [
            Comparison(
                name='cot aggregation c3 vs unfold',
                shape=COT_SHAPE,
                ours=(f'{HERE}:aggregation_ours', COT_SHAPE),
                reference=(f'{HERE}:aggregation_unfold', COT_SHAPE),
                time_target=0.6,
                memory_target=0.4),
            Comparison(
                name='CoT layer c3 vs 3x3 conv',
                shape=COT_SHAPE,
                ours=(f'{HERE}:cot_layer', (COT_SHAPE[1], )),
                reference=(f'{HERE}:conv3x3', (COT_SHAPE[1], ))),
        ]
    blocks = [b for b in blocks if b not in ('mhsa', 'aa', 'cot')]
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
        '--blocks',
        nargs='+',
        choices=list(BLOCKS) + ['mhsa', 'aa', 'cot'] + list(BACKBONES),
        default=list(BLOCKS) + ['mhsa', 'aa', 'cot'] + list(BACKBONES))
    parser.add_argument(
        '--no-latency',
        action='store_true',
        help='skip the whole-model inference latency ratios')
    parser.add_argument(
        '--stages', nargs='+', choices=list(STAGES), default=list(STAGES))
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    print(f'device: {args.device}, torch {torch.__version__}, '
          f'threads {torch.get_num_threads()}, batch {BATCH}, '
          f'fastest of {args.repeats} forward+backward passes')
    blocks = [b for b in args.blocks if b not in BACKBONES]
    results = []
    if blocks:
        print(TABLE_HEADER)
        results = run_comparisons(
            comparisons(blocks, args.stages), args.repeats, args.device)
    results += run_backbone_comparisons(
        [b for b in args.blocks if b in BACKBONES], args.repeats,
        args.device)
    if not args.no_latency:
        print('\n| model inference, 1 image 800x1333 | ours s | ref s '
              '| ratio |\n|---|---|---|---|')
        for label, ours, ref in LATENCY:
            ours_s, ref_s = (measure_latency(
                osp.join(CONFIGS, name), repeats=args.repeats,
                device=args.device) for name in (ours, ref))
            print(f'| {label} | {ours_s:.2f} | {ref_s:.2f} | '
                  f'{ours_s / ref_s:.2f} |')
            results.append(dict(name=label, ours_s=ours_s, ref_s=ref_s))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump([{k: (v.__dict__ if hasattr(v, '__dict__') else v)
                        for k, v in r.items()} for r in results], f,
                      indent=1)


if __name__ == '__main__':
    main()
