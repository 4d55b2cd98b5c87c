"""Parameters and FLOPs of the classification and full-scale configs.

One markdown document with two tables:

- classification: every config in configs/classification/, the
  ``ImageClassifier`` it builds at its test input size (e.g. 224x224),
  beside the papers' figures that configs/classification/metafile.yml
  records for it (``Paper Parameters``, ``Paper FLOPs``), with the ratios;
- configs: every full-scale config in configs/ (demo and classification
  configs excluded) at 800x1333 (mmdet, COCO) or 512x512 (mmseg, ADE20k),
  the 'tensor' mode forward of backbone, neck and heads as mmdet's and
  mmseg's get_flops tools count it (see mmctx.analysis.config_complexity).

FLOPs count one multiply-add as one (mmengine/fvcore; see
mmctx.analysis.complexity for the attention and aggregation ops).

Example:
    python tools/analysis/complexity.py
    python tools/analysis/complexity.py --classification cotnet50 \\
        --configs cotnet
    python tools/analysis/complexity.py --classification  # that table only
"""
import argparse
import glob
import os.path as osp
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import yaml

import mmctx  # noqa: F401  (registers modules)
from mmctx.analysis.config_complexity import (classifier_complexity,
                                              config_complexity)
from mmctx.analysis.inference import classifier_input_hw, load_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSIFICATION = osp.join(ROOT, 'configs', 'classification')
METAFILE = osp.join(CLASSIFICATION, 'metafile.yml')

CLASSIFICATION_NOTES = """\
Ours: the ImageClassifier of the config (backbone, neck, 1000-class head)
at its test input size. Paper: the figures configs/classification/
metafile.yml records (sources in configs/classification/README.md); ratio
= ours / paper. Both count one multiply-add as one FLOP. '-': no paper
figure."""

CONFIG_NOTES = """\
Tensor-mode forward of one random image, as mmdet's/mmseg's get_flops
(mmdet inputs padded to a multiple of 32, e.g. 800x1344). Two-stage RoI
heads run on the untrained RPN's proposals (up to 1000): Mask R-CNN's mask
head on the first 100, Cascade Mask R-CNN's three mask heads on all of
them, which dominates its count. mmseg: no auxiliary head. Backbone columns
count the backbone alone on the same input."""

DEFAULT_SHAPES = {'mmdet': (800, 1333), 'mmseg': (512, 512)}

#: Paper figures of a config: (parameters, FLOPs), each None if unknown.
Paper = Tuple[Optional[float], Optional[float]]


def _fmt(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:g}'


def _ratio(ours: float, paper: Optional[float]) -> str:
    return '-' if paper is None else f'{ours / paper:.3f}'


def select(names: Sequence[str], wanted: Optional[Sequence[str]],
           option: str) -> List[str]:
    """The names matching any of ``wanted``: a name equal to a filter
    (ignoring case), else every name containing it.

    Args:
        names: Candidates.
        wanted: Filters; ``None`` selects all.
        option: Flag name for the error message.

    Returns:
        The selected names, in the order of ``names``.

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


def classification_configs() -> List[str]:
    """Every config in configs/classification/, sorted."""
    return sorted(glob.glob(osp.join(CLASSIFICATION, '*.py')))


def paper_figures(metafile: str = METAFILE) -> Dict[str, Paper]:
    """The papers' parameter and FLOP counts of each classification config.

    Args:
        metafile: An OpenMMLab metafile whose models give ``Config`` and,
            in ``Metadata``, optional ``Paper Parameters`` and ``Paper
            FLOPs`` (plain numbers).

    Returns:
        Config file stem -> (parameters, FLOPs), ``None`` where the paper
        gives none.

    Raises:
        ValueError: If the file has no ``Models`` list, or a model has no
            ``Config``, naming the model.
    """
    with open(metafile) as f:
        models = (yaml.safe_load(f) or {}).get('Models')
    if not isinstance(models, list):
        raise ValueError(f'{metafile}: no Models list')
    figures = {}
    for model in models:
        if 'Config' not in model:
            raise ValueError(f'{metafile}: model {model.get("Name")!r} has '
                             'no Config')
        meta = model.get('Metadata') or {}
        stem = osp.splitext(osp.basename(model['Config']))[0]
        figures[stem] = (meta.get('Paper Parameters'),
                         meta.get('Paper FLOPs'))
    return figures


def classification_rows(paths: Iterable[str],
                        papers: Dict[str, Paper]) -> Iterator[str]:
    """One markdown row per classification config, as it is measured.

    Args:
        paths: Config files (default_scope mmpretrain).
        papers: :func:`paper_figures`.

    Raises:
        ValueError: If a config is not an mmpretrain config, naming it.
    """
    for path in paths:
        cfg = load_config(path)
        if cfg.get('default_scope') != 'mmpretrain':
            raise ValueError(f'{path}: not a classification config '
                             f'(default_scope={cfg.get("default_scope")!r}, '
                             "expected 'mmpretrain')")
        h, w = classifier_input_hw(cfg)
        counts = classifier_complexity(cfg, (h, w))
        params, flops = counts.params / 1e6, counts.flops / 1e9
        name = osp.splitext(osp.basename(path))[0]
        paper_params, paper_flops = (
            None if v is None else v / scale
            for v, scale in zip(papers.get(name, (None, None)), (1e6, 1e9)))
        yield (f'| {name} | {h}x{w} | {params:.2f} | '
               f'{_fmt(paper_params)} | {_ratio(params, paper_params)} | '
               f'{flops:.2f} | {_fmt(paper_flops)} | '
               f'{_ratio(flops, paper_flops)} |')


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
        '--classification', nargs='*', metavar='CONFIG',
        help='measure classification configs: all of configs/'
        'classification/, or the CONFIG files given, or those whose name '
        'equals or contains a CONFIG (ignoring case). Without '
        '--classification and --configs: both tables in full')
    parser.add_argument(
        '--configs', nargs='*', metavar='CONFIG',
        help='measure detection/segmentation configs: all full-scale ones '
        'in configs/, or the CONFIG files given, or those whose name '
        'contains a CONFIG')
    parser.add_argument(
        '--det-shape', type=int, nargs=2, default=DEFAULT_SHAPES['mmdet'],
        metavar=('H', 'W'), help='mmdet config input (default: 800 1333)')
    parser.add_argument(
        '--seg-shape', type=int, nargs=2, default=DEFAULT_SHAPES['mmseg'],
        metavar=('H', 'W'), help='mmseg config input (default: 512 512)')
    return parser, parser.parse_args(argv)


def resolve(wanted: Optional[Sequence[str]], candidates: List[str],
            option: str) -> List[str]:
    """Config paths for ``--classification`` or ``--configs``: existing
    files kept, other values matched against the candidates' names.

    Args:
        wanted: The option's values; ``None`` or empty selects all.
        candidates: Config paths to match names against.
        option: Flag name for the error message.

    Returns:
        The paths.

    Raises:
        ValueError: If a name matches no candidate.
    """
    if not wanted:
        return candidates
    files = [path for path in wanted if osp.isfile(path)]
    patterns = [value for value in wanted if not osp.isfile(value)]
    by_name = {config_name(p): p for p in candidates}
    names = select(list(by_name), patterns, option) if patterns else []
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
    everything = args.classification is None and args.configs is None
    classifiers, paths = [], []
    try:
        if everything or args.classification is not None:
            classifiers = resolve(args.classification,
                                  classification_configs(),
                                  '--classification')
        if everything or args.configs is not None:
            paths = resolve(args.configs, full_scale_configs(), '--configs')
    except ValueError as exc:
        parser.error(str(exc))
    lines = []
    if classifiers:
        lines += emit([
            '### Classification configs (1000 classes, test input size)',
            '', '| config | input (HxW) | params (M) | paper params (M) | '
            'ratio | GFLOPs | paper GFLOPs | ratio |',
            '|---|---|---|---|---|---|---|---|'
        ])
        lines += emit(classification_rows(classifiers, paper_figures()))
        lines += emit(['', CLASSIFICATION_NOTES])
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
