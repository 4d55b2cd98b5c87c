"""Parameters and FLOPs of the backbone presets and the full-scale configs.

One markdown document with two tables:

- presets: each backbone at 224x224 with a 1000-class classifier (global
  average or attention pooling and a linear layer), as the papers report
  them, beside the papers' figures;
- configs: every full-scale config in configs/ (demo configs excluded) at
  800x1333 (mmdet, COCO) or 512x512 (mmseg, ADE20k), the 'tensor' mode
  forward of backbone, neck and heads as mmdet's and mmseg's get_flops
  tools count it (see mmctx.analysis.config_complexity).

FLOPs count one multiply-add as one (mmengine/fvcore; see
mmctx.analysis.complexity for the attention and aggregation ops).

Example:
    python tools/analysis/complexity.py
    python tools/analysis/complexity.py --presets CoTNet-50 --configs cot
    python tools/analysis/complexity.py --configs      # configs only
"""
import argparse
import glob
import os.path as osp
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import torch

import mmctx  # noqa: F401  (registers modules)
from mmctx.analysis.complexity import ImageNetClassifier, count
from mmctx.analysis.config_complexity import config_complexity
from mmctx.analysis.inference import load_config
from mmctx.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GC_PLUGIN = dict(
    cfg=dict(type='GCBlock', ratio=1. / 16),
    stages=(False, True, True, True),
    position='after_conv3')

#: (label, backbone config, channels of its last map, pooling,
#:  paper parameters (M) or None, paper GFLOPs or None)
PRESETS = [
    ('ResNet-50', dict(type='mmdet.ResNet', depth=50), 2048, 'avg', 25.56,
     4.1),
    ('GC-ResNet-50', dict(type='CtxResNet', depth=50, plugins=[GC_PLUGIN]),
     2048, 'avg', None, None),
    ('BoTNet-50', dict(type='BoTNet', depth=50, max_size=14), 2048, 'avg',
     20.8, None),
    ('CoTNet-50', dict(type='CoTNet', depth=50), 2048, 'avg', 22.2, 3.3),
    ('CoTNeXt-50', dict(type='CoTNeXt', depth=50), 2048, 'avg', 30.1, 4.3),
    ('CoTNet-101', dict(type='CoTNet', depth=101), 2048, 'avg', 38.3, 6.1),
    ('AAResNet-50', dict(type='AAResNet', depth=50, max_input_size=224),
     2048, 'avg', 25.8, 4.15),
    ('AAResNet-101', dict(type='AAResNet', depth=101, max_input_size=224),
     2048, 'avg', 45.4, 8.05),
    ('PatchConvNet-S60', dict(type='PatchConvNet', arch='S60',
                              out_indices=(2, )), 384, 'attention', 25.2,
     4.0),
    ('PatchConvNet-S120', dict(type='PatchConvNet', arch='S120',
                               out_indices=(2, )), 384, 'attention', 47.7,
     7.5),
    ('PatchConvNet-B60', dict(type='PatchConvNet', arch='B60',
                              out_indices=(2, )), 768, 'attention', 99.4,
     15.8),
    ('ResNet-50 + attention pooling', dict(type='mmdet.ResNet', depth=50),
     2048, 'attention', None, 4.6),
]

PRESET_NOTES = """\
Paper GFLOPs count one multiply-add as one, like ours. AA-ResNet-50's paper
and AA-ResNet-101's figures are 8.3 and 16.1 GFLOPs counting a
multiply-add as two: listed as 4.15 and 8.05. BoTNet and AA-ResNet are
measured with position tables for 224-pixel inputs.
ResNet-50 with attention pooling: PatchConvNet's ablation, 4.6 GFLOPs
(unverified). '-': no paper figure."""

CONFIG_NOTES = """\
Tensor-mode forward of one random image, as mmdet's/mmseg's get_flops
(mmdet inputs padded to a multiple of 32, e.g. 800x1344). Two-stage RoI
heads run on the untrained RPN's proposals (up to 1000): Mask R-CNN's mask
head on the first 100, Cascade Mask R-CNN's three mask heads on all of
them, which dominates its count. mmseg: no auxiliary head. Backbone columns
count the backbone alone on the same input."""

DEFAULT_SHAPES = {'mmdet': (800, 1333), 'mmseg': (512, 512)}


def _paper(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:g}'


def select(names: Sequence[str], wanted: Optional[Sequence[str]],
           option: str) -> List[str]:
    """The names matching any of ``wanted``: a name equal to a filter
    (ignoring case), else every name containing it.

    Args:
        names: Candidates.
        wanted: Filters; ``None`` selects all.
        option: Flag name for the error message.

    Raises:
        ValueError: If a filter matches nothing.
    """
    if wanted is None:
        return list(names)
    selected = []
    for pattern in wanted:
        exact = [n for n in names if pattern.lower() == n.lower()]
        matches = exact or [
            n for n in names if pattern.lower() in n.lower()
        ]
        if not matches:
            raise ValueError(f'{option} {pattern!r} matches none of: '
                             f'{", ".join(names)}')
        selected += [n for n in matches if n not in selected]
    return [n for n in names if n in selected]


def preset_rows(labels: Iterable[str], size: int) -> Iterator[str]:
    """One markdown row per preset, as it is measured.

    Args:
        labels: Preset labels to measure.
        size: Input side.
    """
    x = torch.randn(1, 3, size, size)
    presets = {preset[0]: preset for preset in PRESETS}
    for label in labels:
        _, cfg, channels, pool, paper_params, paper_flops = presets[label]
        model = ImageNetClassifier(MODELS.build(cfg), channels, pool=pool)
        params, flops = count(model, (x, ))
        yield (f'| {label} | {params / 1e6:.2f} | {_paper(paper_params)} '
               f'| {flops / 1e9:.2f} | {_paper(paper_flops)} |')


def full_scale_configs() -> List[str]:
    """Every detection and segmentation config in the per-method folders of
    configs/ (not demo/ or classification/), sorted."""
    return sorted(
        path for path in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
        if osp.basename(osp.dirname(path)) not in ('demo', 'classification'))


def config_name(path: str) -> str:
    """``folder/name`` of a config under configs/, else its file name,
    without ``.py``."""
    rel = osp.relpath(path, osp.join(ROOT, 'configs'))
    return osp.splitext(osp.basename(path) if rel.startswith('..') else
                        rel)[0]


def config_rows(paths: Iterable[str],
                shapes: Dict[str, Tuple[int, int]]) -> Iterator[str]:
    """One markdown row per config, as it is measured.

    Args:
        paths: Config files.
        shapes: Input (height, width) per scope.
    """
    for path in paths:
        cfg = load_config(path)
        hw = shapes[cfg.default_scope]
        counts = config_complexity(cfg, hw)
        yield (f'| {config_name(path)} | '
               f'{cfg.default_scope} | {hw[0]}x{hw[1]} | '
               f'{counts.params / 1e6:.2f} | {counts.flops / 1e9:.1f} | '
               f'{counts.backbone_params / 1e6:.2f} | '
               f'{counts.backbone_flops / 1e9:.1f} |')


def parse_args(argv: Optional[Sequence[str]] = None
               ) -> Tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--presets', nargs='*', metavar='LABEL',
        help='measure presets: all, or those whose label equals or contains '
        'a LABEL (ignoring case). Without --presets and --configs: both '
        'tables in full')
    parser.add_argument(
        '--configs', nargs='*', metavar='CONFIG',
        help='measure configs: all full-scale ones in configs/, or the '
        'CONFIG files given, or those whose name contains a CONFIG')
    parser.add_argument(
        '--size', type=int, default=224, help='preset input side')
    parser.add_argument(
        '--det-shape', type=int, nargs=2, default=DEFAULT_SHAPES['mmdet'],
        metavar=('H', 'W'), help='mmdet config input (default: 800 1333)')
    parser.add_argument(
        '--seg-shape', type=int, nargs=2, default=DEFAULT_SHAPES['mmseg'],
        metavar=('H', 'W'), help='mmseg config input (default: 512 512)')
    return parser, parser.parse_args(argv)


def resolve_configs(wanted: Optional[Sequence[str]]) -> List[str]:
    """Config paths for ``--configs``: existing files kept, other values
    matched against the names of the full-scale configs."""
    if wanted is None:
        return full_scale_configs()
    files = [path for path in wanted if osp.isfile(path)]
    patterns = [value for value in wanted if not osp.isfile(value)]
    by_name = {config_name(p): p for p in full_scale_configs()}
    names = select(list(by_name), patterns, '--configs') if patterns else []
    return files + [by_name[name] for name in names]


def emit(lines: Iterable[str]) -> List[str]:
    """Print ``lines`` as they come (measuring takes a while) and return
    them."""
    printed = []
    for line in lines:
        print(line, flush=True)
        printed.append(line)
    return printed


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Print the tables; return them as one markdown string."""
    parser, args = parse_args(argv)
    everything = args.presets is None and args.configs is None
    labels, paths = [], []
    try:
        if everything or args.presets is not None:
            labels = select([p[0] for p in PRESETS], args.presets or None,
                            '--presets')
        if everything or args.configs is not None:
            paths = resolve_configs(args.configs or None)
    except ValueError as exc:
        parser.error(str(exc))
    lines = []
    if labels:
        lines += emit([
            f'### Backbones ({args.size}x{args.size}, 1000 classes)', '',
            '| backbone | params (M) | paper params (M) | GFLOPs | '
            'paper GFLOPs |', '|---|---|---|---|---|'
        ])
        lines += emit(preset_rows(labels, args.size))
        lines += emit(['', PRESET_NOTES])
    if paths:
        shapes = dict(mmdet=tuple(args.det_shape),
                      mmseg=tuple(args.seg_shape))
        lines += emit([
            *([''] if lines else []), '### Configs', '',
            '| config | scope | input (HxW) | params (M) | GFLOPs | '
            'backbone params (M) | backbone GFLOPs |',
            '|---|---|---|---|---|---|---|'
        ])
        lines += emit(config_rows(paths, shapes))
        lines += emit(['', CONFIG_NOTES])
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
