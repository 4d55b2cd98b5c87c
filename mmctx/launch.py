"""Glue shared by ``tools/train.py`` and ``tools/test.py``.

The tools take mmdet's flags and work for mmdet, mmseg and mmpretrain
configs alike (the config's ``default_scope`` decides). On a machine
without CUDA they run distributed jobs with the gloo backend: mmengine's
``init_dist`` would call ``torch.cuda.set_device`` and its default DDP
wrapper passes ``device_ids=[LOCAL_RANK]``, both of which fail for CPU
modules.
"""
import argparse
import contextlib
import glob
import os
import os.path as osp
import sys
from typing import Any, Dict, Iterator, Optional, Sequence

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction

from .compat import (CheckpointError, UnreadableCheckpointError,
                     checkpoint_defect, trust_checkpoints)
from .hooks import LAST_CHECKPOINT, CrashSafeCheckpointHook

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
SCOPES = ('mmdet', 'mmseg', 'mmpretrain')


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
        ValueError: If its ``default_scope`` is not one of
            :data:`SCOPES`.
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
        ValueError: If the config's ``default_scope`` is not one of
            :data:`SCOPES`.
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


def _newest_readable(folder: str, exclude: str) -> Optional[str]:
    """The most recently written whole checkpoint in ``folder`` other than
    ``exclude`` (best-score checkpoints, saved without optimizer state,
    are passed over)."""
    candidates = [
        path for path in glob.glob(osp.join(folder, '*.pth'))
        if not osp.basename(path).startswith('best_')
        and osp.abspath(path) != osp.abspath(exclude)
    ]
    for path in sorted(candidates, key=osp.getmtime, reverse=True):
        if checkpoint_defect(path) is None:
            return path
    return None


def check_resumable(work_dir: str) -> None:
    """Stop before anything is built if ``--resume`` (no path) would pick an
    unreadable checkpoint.

    mmengine resumes from the checkpoint named in ``WORK_DIR/
    last_checkpoint``; without that file it starts from scratch, as before.

    Args:
        work_dir: The run's work dir.

    Raises:
        UnreadableCheckpointError: If ``last_checkpoint`` is empty or names
            a missing, empty, truncated or corrupt file; the message names
            it and the newest readable checkpoint beside it.
    """
    record = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(record):
        return
    with open(record) as f:
        latest = f.read().strip()
    defect = checkpoint_defect(latest) if latest else f'{record} is empty'
    if defect is None:
        return
    folder = osp.dirname(latest) if latest else work_dir
    readable = _newest_readable(folder, latest)
    if readable is None:
        advice = (f'No readable checkpoint is left in {folder}: train '
                  'without --resume')
    else:
        advice = (f'The newest readable checkpoint is {readable}: resume '
                  f'from it with --resume {readable}')
    raise UnreadableCheckpointError(
        f'--resume: the latest checkpoint cannot be loaded: {defect}. '
        f'{advice}.')


def set_resume(cfg: Config, resume: Optional[str]) -> None:
    """Apply mmdet's ``--resume [CHECKPOINT]`` semantics: both forms restore
    the weights, the optimizer and scheduler states and the iteration.

    Args:
        cfg: Config to adjust (its ``work_dir`` set).
        resume: ``None`` (no resume), ``'auto'`` (latest checkpoint in the
            work dir) or a checkpoint path.

    Raises:
        UnreadableCheckpointError: For ``'auto'``, if the latest checkpoint
            cannot be loaded (see :func:`check_resumable`).
    """
    if resume == 'auto':
        check_resumable(cfg.work_dir)
        cfg.resume, cfg.load_from = True, None
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume


def use_crash_safe_checkpoints(cfg: Config) -> None:
    """Save checkpoints with :class:`~mmctx.hooks.CrashSafeCheckpointHook`.

    The config's ``default_hooks.checkpoint`` (mmengine's default
    ``CheckpointHook`` with ``interval=1`` when the config has none) keeps
    its arguments and gets the crash-safe type. A config that disables
    checkpoints (``checkpoint=None``) or names another hook type is left
    as it is.

    Args:
        cfg: Config to adjust.
    """
    if cfg.get('default_hooks') is None:
        cfg.default_hooks = dict()
    hooks = cfg.default_hooks
    if 'checkpoint' not in hooks:
        hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    hook = hooks.checkpoint
    if hook is None:
        return
    kind = hook.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    if name.rpartition('.')[2] == 'CheckpointHook':
        hook.type = CrashSafeCheckpointHook.__name__


@contextlib.contextmanager
def exit_on_checkpoint_error() -> Iterator[None]:
    """Turn a :class:`~mmctx.compat.CheckpointError` into its message on
    stderr and exit status 2; usable as a decorator of a tool's ``main``.

    The message already names the file, the reason and the way out
    (``--trust-checkpoint``, the checkpoint to resume from), so the
    traceback is left out.
    """
    try:
        yield
    except CheckpointError as exc:
        print(f'error: {exc}', file=sys.stderr)
        sys.exit(2)


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
