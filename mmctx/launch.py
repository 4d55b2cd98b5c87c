"""Glue shared by ``tools/train.py`` and ``tools/test.py``.

The tools take mmdet's flags and work for mmdet and mmseg configs alike (the
config's ``default_scope`` decides). On a machine without CUDA they run
distributed jobs with the gloo backend: mmengine's ``init_dist`` would call
``torch.cuda.set_device`` and its default DDP wrapper passes
``device_ids=[LOCAL_RANK]``, both of which fail for CPU modules.
"""
import argparse
import os
import os.path as osp
from typing import Any, Dict, Optional, Sequence

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction

from .compat import trust_checkpoints

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
SCOPES = ('mmdet', 'mmseg')


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """Add the flags every tool that reads a config and a checkpoint takes:
    ``--cfg-options`` and ``--trust-checkpoint``.

    Args:
        parser: Parser to extend.
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. train_cfg.max_iters=10')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load checkpoints holding arbitrary pickled objects (only for '
        'files from a source you trust: unpickling can run code)')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the flags train.py and test.py share.

    Args:
        parser: Parser to extend.
    """
    parser.add_argument('--work-dir', help='folder for logs and checkpoints')
    add_config_args(parser)
    parser.add_argument(
        '--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def read_config(path: str,
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Read a config and apply ``--cfg-options``.

    Args:
        path: Config file.
        cfg_options: Overrides, as parsed by mmengine's ``DictAction``.

    Returns:
        The config.

    Raises:
        ValueError: If its ``default_scope`` is neither mmdet nor mmseg.
    """
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise ValueError(f'{path}: default_scope must be one of {SCOPES}, '
                         f'got {scope!r}')
    return cfg


def load_config(config: str, args: argparse.Namespace) -> Config:
    """Read ``config`` and apply the common flags.

    Args:
        config: Config file path.
        args: Parsed arguments from a parser built with
            :func:`add_common_args`.

    Returns:
        The config, with ``work_dir`` and ``launcher`` filled in.

    Raises:
        ValueError: If the config's ``default_scope`` is neither mmdet nor
            mmseg.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = read_config(config, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    cfg.launcher = args.launcher
    if args.trust_checkpoint:
        trust_checkpoints()
    return cfg


def prepare_distributed(cfg: Config, launcher: str) -> None:
    """Start a gloo process group and a CPU DDP wrapper without CUDA.

    The runner then finds the group initialised and skips mmengine's
    ``init_dist``. On CUDA machines nothing changes.

    Args:
        cfg: Config whose DDP wrapper is set for CPU modules.
        launcher: One of :data:`LAUNCHERS`.

    Raises:
        ValueError: For a CPU run with a launcher other than ``pytorch``.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise ValueError(f'--launcher {launcher} needs CUDA; CPU runs '
                         'support --launcher pytorch (tools/dist_train.sh)')
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def set_resume(cfg: Config, resume: Optional[str]) -> None:
    """Apply mmdet's ``--resume [CHECKPOINT]`` semantics.

    Args:
        cfg: Config to adjust.
        resume: ``None`` (no resume), ``'auto'`` (latest checkpoint in the
            work dir) or a checkpoint path.
    """
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to mixed precision.

    Args:
        cfg: Config whose ``optim_wrapper`` is changed.

    Raises:
        RuntimeError: On a machine without CUDA, where mmengine's
            ``AmpOptimWrapper`` cannot run.
    """
    if not torch.cuda.is_available():
        raise RuntimeError('--amp needs a CUDA device (mmengine '
                           'AmpOptimWrapper); train in fp32 on CPU')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def build_runner(cfg: Config):
    """Build mmengine's runner (or the config's ``runner_type``)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def parse(parser: argparse.ArgumentParser,
          argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse ``argv`` after adding the common flags."""
    add_common_args(parser)
    return parser.parse_args(argv)
