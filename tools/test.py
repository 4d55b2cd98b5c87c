"""Evaluate a checkpoint: COCO AP (mmdet configs) or mIoU (mmseg configs).

Example:
    python tools/test.py configs/gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --out results.pkl --show-dir vis
"""
import argparse
from typing import Optional

from mmengine.config import Config

import mmctx  # noqa: F401  (registers modules, safe checkpoint loading)
from mmctx.launch import (build_runner, exit_on_checkpoint_error,
                          load_config, parse, prepare_distributed)
from mmctx.preflight import check_or_exit


def configure_outputs(cfg: Config, out: Optional[str],
                      show_dir: Optional[str]) -> None:
    """Apply ``--out`` and ``--show-dir`` the way mmdet/mmseg tools do.

    Args:
        cfg: Config to adjust.
        out: mmdet: pickle path for raw predictions; mmseg: folder for
            predicted label maps.
        show_dir: Folder for images with predictions drawn.
    """
    scope = cfg.default_scope
    if show_dir:
        hook = cfg.default_hooks.visualization
        hook.draw = True
        if scope == 'mmdet':
            hook.test_out_dir = show_dir
        else:
            cfg.visualizer.save_dir = show_dir
    if out:
        if scope == 'mmdet':
            evaluators = cfg.test_evaluator
            if not isinstance(evaluators, list):
                evaluators = [evaluators]
            cfg.test_evaluator = evaluators + [
                dict(type='DumpDetResults', out_file_path=out)
            ]
        else:
            cfg.test_evaluator.output_dir = out
            cfg.test_evaluator.keep_results = True


@exit_on_checkpoint_error()
def main() -> None:
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='mmdet: pickle file for the raw predictions; mmseg: folder '
        'for the predicted label maps')
    parser.add_argument(
        '--show-dir', help='folder for images with predictions drawn')
    args = parse(parser)
    cfg = load_config(args.config, args)
    prepare_distributed(cfg, args.launcher)
    cfg.load_from = args.checkpoint
    configure_outputs(cfg, args.out, args.show_dir)
    check_or_exit(cfg, 'test')
    metrics = build_runner(cfg).test()
    width = max(map(len, metrics), default=0)
    print('\n'.join(f'{key:<{width}}  {value}'
                    for key, value in metrics.items()))


if __name__ == '__main__':
    main()
