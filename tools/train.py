"""Train an mmdet, mmseg or mmpretrain (classification) model from a
config.

Checkpoints are saved by mmctx's ``CrashSafeCheckpointHook`` (the config's
checkpoint hook arguments are kept): a kill during a save never loses the
previous checkpoint. Before anything is built the config's data and
pretrained weights are checked (:mod:`mmctx.preflight`; for classification
also the ImageNet-layout class folders or ``meta/<split>.txt`` labels
against ``model.head.num_classes``), and once the model is built, that
each local ``Pretrained`` init checkpoint fits the module it initialises
(shapes, depth, prefix); a problem stops the run with one message and exit
status 2.

Examples:
    python tools/train.py \
        configs/gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py
    python tools/train.py configs/classification/cotnet50_8xb80_in1k.py
    python tools/train.py CONFIG --resume            # latest checkpoint
    python tools/train.py CONFIG --resume CHECKPOINT
"""
import argparse

import mmctx  # noqa: F401  (registers modules, safe checkpoint loading)
from mmctx.launch import (build_runner, enable_amp, exit_on_checkpoint_error,
                          load_config, parse, prepare_distributed, set_resume,
                          use_crash_safe_checkpoints)
from mmctx.preflight import check_init_fits, check_or_exit


@exit_on_checkpoint_error()
def main() -> None:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate with the total batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        help='resume from CHECKPOINT, or from the latest checkpoint in the '
        'work dir when no path is given')
    args = parse(parser)
    cfg = load_config(args.config, args)
    use_crash_safe_checkpoints(cfg)
    prepare_distributed(cfg, args.launcher)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ValueError('--auto-scale-lr needs auto_scale_lr.'
                             'base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    set_resume(cfg, args.resume)
    check_or_exit(cfg, 'train')
    runner = build_runner(cfg)
    check_init_fits(runner.model, args.config)
    runner.train()


if __name__ == '__main__':
    main()
