"""Environment checks and safe checkpoint loading on torch >= 2.6.

mmengine 0.10.7 calls ``torch.load`` with torch's default
``weights_only=True`` (since torch 2.6), which refuses the Python objects its
own checkpoints hold (the message hub's ``HistoryBuffer``, numpy scalars and
arrays). :func:`install_checkpoint_loader` replaces mmengine's loader for
local files with one that allows exactly those types and nothing else; any
other pickled object is refused with an error that names it, unless the user
opts in with :func:`trust_checkpoints` (the tools' ``--trust-checkpoint``).

This module imports neither mmdet nor mmseg, so :func:`check_mmcv_ops` can
explain a broken mmcv install before those packages fail to import.
"""
import importlib
import os.path as osp
import pickle
import re
import warnings
from typing import Any, Callable, List, Optional, Tuple

import torch

MMCV_FIX = ('pip uninstall -y mmcv && MMCV_WITH_OPS=1 pip install '
            '--no-build-isolation --no-cache-dir "mmcv==2.1.0"  '
            '(with torch, numpy, ninja and "setuptools>=77.0.3,<81" '
            'installed first), or run `make install`')

#: Objects mmengine 0.10.7 checkpoints pickle besides tensors and builtin
#: containers: the message hub's history buffers, the numpy arrays, dtypes
#: and scalars logged in them (under numpy 2's ``numpy._core`` and numpy 1's
#: ``numpy.core`` names, plus numpy 2's numeric dtype classes), and
#: ``getattr``, which a ``HistoryBuffer`` needs
#: because it stores its statistics methods as bound methods. torch's
#: weights-only unpickler calls nothing outside this list, so ``getattr`` can
#: fetch attributes of allowed objects but never invoke them.
_CHECKPOINT_GLOBALS = (
    'mmengine.logging.history_buffer.HistoryBuffer',
    'numpy.ndarray',
    'numpy.dtype',
    'numpy._core.multiarray._reconstruct',
    'numpy._core.multiarray.scalar',
    'numpy.core.multiarray._reconstruct',
    'numpy.core.multiarray.scalar',
    'builtins.getattr',
) + tuple(f'numpy.dtypes.{kind}DType' for kind in (
    'Bool', 'Float16', 'Float32', 'Float64', 'Int8', 'Int16', 'Int32',
    'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64'))

_trust_all = False


class MMCVOpsMissingError(ImportError):
    """mmcv is importable but was built without its compiled ops."""


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint pickles an object outside the allowed set."""


def check_mmcv_ops() -> None:
    """Raise :class:`MMCVOpsMissingError` if ``mmcv.ops`` cannot load.

    Raises:
        MMCVOpsMissingError: with the cause and the command that fixes it.
    """
    try:
        importlib.import_module('mmcv.ops')
    except ImportError as exc:
        raise MMCVOpsMissingError(
            f'mmcv is installed without its compiled ops ({exc}). pip built '
            'it with build isolation, or a wheel for another torch was '
            f'reused. mmdet cannot import without them. Fix: {MMCV_FIX}'
        ) from exc


def _resolve(qualified_name: str) -> Optional[Any]:
    module_name, _, attr = qualified_name.rpartition('.')
    with warnings.catch_warnings():
        # numpy 2 warns when its old ``numpy.core`` path is imported
        warnings.simplefilter('ignore', DeprecationWarning)
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            return None


def checkpoint_safe_globals() -> List[Tuple[Any, str]]:
    """The non-tensor objects mmengine checkpoints may contain.

    Returns:
        ``(object, name)`` pairs for ``torch.serialization.safe_globals``,
        keyed by the name the pickle stream uses (numpy 2 moved
        ``numpy.core`` to ``numpy._core`` but keeps the old names working,
        so each name is resolved where it is importable).
    """
    pairs = []
    for name in _CHECKPOINT_GLOBALS:
        obj = _resolve(name)
        if obj is not None:
            pairs.append((obj, name))
    return pairs


def trust_checkpoints(trust: bool = True) -> None:
    """Allow (or stop allowing) arbitrary pickles in local checkpoints.

    Args:
        trust: Load with ``weights_only=False``; only for checkpoints from a
            source you trust, since unpickling can run arbitrary code.
    """
    global _trust_all
    _trust_all = trust


def load_local_checkpoint(filename: str,
                          map_location: Optional[Any] = None) -> Any:
    """Load a local checkpoint, allowing only mmengine's own object types.

    Args:
        filename: Path of the checkpoint file (``~`` is expanded).
        map_location: As for :func:`torch.load`.

    Returns:
        The loaded checkpoint.

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
        UntrustedCheckpointError: If the file pickles any other object.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    if _trust_all:
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    with torch.serialization.safe_globals(checkpoint_safe_globals()):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as exc:
            found = re.search(
                r"GLOBAL (\S+)|function (<[^>]*>|\S+)|got <class '([^']+)'",
                str(exc))
            culprit = next((g for g in found.groups() if g),
                           'unknown') if found else 'unknown'
            raise UntrustedCheckpointError(
                f'{filename} pickles {culprit}, which is not among the types '
                'mmengine checkpoints hold, so it was not loaded. If you '
                'trust its source, pass --trust-checkpoint (or call '
                'mmctx.compat.trust_checkpoints()).') from exc


def install_checkpoint_loader(
        loader: Callable[..., Any] = load_local_checkpoint) -> None:
    """Make mmengine load local checkpoints through ``loader``.

    Args:
        loader: A ``(filename, map_location)`` function.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=loader, force=True)
