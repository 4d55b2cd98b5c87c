"""Evaluate a checkpoint: COCO AP (mmdet configs), mIoU (mmseg configs) or
top-1/top-5 accuracy (mmpretrain classification configs).

Examples:
    python tools/test.py \\
        configs/gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py CHECKPOINT
    python tools/test.py configs/classification/cotnet50_8xb80_in1k.py \\
        checkpoints/cotnet50_mmctx.pth          # ImageNet val: top-1 top-5
    python tools/test.py CONFIG CHECKPOINT --out results.pkl --show-dir vis

Before anything is built the config's data and weights are checked
(:mod:`mmctx.preflight`); once the model is built, the checkpoint's keys
and shapes must fit it. Either problem stops the run with one message and
exit status 2.
"""
import argparse
from typing import Dict, Optional

from mmengine.config import Config

import mmctx  # noqa: F401  (registers modules, safe checkpoint loading)
from mmctx.launch import (build_runner, exit_on_checkpoint_error,
                          load_config, parse, prepare_distributed)
from mmctx.preflight import check_checkpoint_fits, check_or_exit

PICKLE_SUFFIXES = ('.pkl', '.pickle')


def configure_outputs(cfg: Config, out: Optional[str],
                      show_dir: Optional[str]) -> None:
    """Apply ``--out`` and ``--show-dir`` the way the mmdet, mmseg and
    mmpretrain tools do.

    Args:
        cfg: Config to adjust.
        out: mmdet and mmpretrain: pickle path for the raw predictions;
            mmseg: folder for predicted label maps.
        show_dir: Folder for images with predictions drawn.

    Raises:
        ValueError: If ``out`` is not a ``.pkl``/``.pickle`` path for an
            mmdet or mmpretrain config, or ``show_dir`` is given for a
            config without ``default_hooks.visualization``.
    """
    scope = cfg.default_scope
    if show_dir:
        hook = (cfg.get('default_hooks') or {}).get('visualization')
        if not hook:
            raise ValueError(f'--show-dir {show_dir}: the config has no '
                             'default_hooks.visualization hook to draw '
                             'with')
        if scope == 'mmpretrain':
            hook.enable, hook.out_dir, hook.interval = True, show_dir, 1
        else:
            hook.draw = True
            if scope == 'mmdet':
                hook.test_out_dir = show_dir
            else:
                cfg.visualizer.save_dir = show_dir
    if not out:
        return
    if scope == 'mmseg':
        cfg.test_evaluator.output_dir = out
        cfg.test_evaluator.keep_results = True
        return
    if not out.endswith(PICKLE_SUFFIXES):
        raise ValueError(f'--out {out}: the predictions are saved as a '
                         f'pickle, so the name must end with .pkl or '
                         '.pickle')
    dump = 'DumpDetResults' if scope == 'mmdet' else 'DumpResults'
    evaluators = cfg.test_evaluator
    if not isinstance(evaluators, list):
        evaluators = [evaluators]
    cfg.test_evaluator = evaluators + [dict(type=dump, out_file_path=out)]


def accuracy_summary(metrics: Dict[str, float]) -> str:
    """One line with the top-k accuracies of mmpretrain's ``Accuracy``.

    Args:
        metrics: What the runner's test loop returned.

    Returns:
        e.g. ``'top-1 76.54  top-5 93.21'`` (percent); '' when there are no
        ``accuracy/top<k>`` metrics.
    """
    found = []
    for key, value in metrics.items():
        prefix, _, name = key.rpartition('/')
        if prefix.endswith('accuracy') and name.startswith('top') \
                and name[3:].isdigit():
            found.append((int(name[3:]), value))
    return '  '.join(f'top-{k} {value:.2f}' for k, value in sorted(found))


@exit_on_checkpoint_error()
def main() -> None:
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='mmdet, mmpretrain: pickle file (.pkl) for the raw '
        'predictions; mmseg: folder for the predicted label maps')
    parser.add_argument(
        '--show-dir', help='folder for images with predictions drawn')
    args = parse(parser)
    cfg = load_config(args.config, args)
    prepare_distributed(cfg, args.launcher)
    cfg.load_from = args.checkpoint
    try:
        configure_outputs(cfg, args.out, args.show_dir)
    except ValueError as exc:
        parser.error(str(exc))
    check_or_exit(cfg, 'test')
    runner = build_runner(cfg)
    check_checkpoint_fits(runner.model, args.checkpoint, args.config)
    metrics = runner.test()
    width = max(map(len, metrics), default=0)
    print('\n'.join(f'{key:<{width}}  {value}'
                    for key, value in metrics.items()))
    summary = accuracy_summary(metrics)
    if summary:
        print(summary)


if __name__ == '__main__':
    main()
