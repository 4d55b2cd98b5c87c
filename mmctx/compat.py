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
import warnings
import zipfile
from typing import Any, Callable, List, Optional, Tuple

import torch

MMCV_FIX = ('pip uninstall -y mmcv && MMCV_WITH_OPS=1 pip install '
            '--no-build-isolation --no-cache-dir "mmcv==2.1.0"  '
            '(with torch, numpy, ninja and "setuptools>=77.0.3,<81" '
            'installed first), or run `make install`')

#: Objects mmengine 0.10.7 checkpoints pickle besides tensors and builtin
#: containers: the message hub's history buffers and the numpy arrays,
#: dtypes and scalars logged in them (under numpy 2's ``numpy._core`` and
#: numpy 1's ``numpy.core`` names, plus numpy 2's numeric dtype classes).
_CHECKPOINT_GLOBALS = (
    'mmengine.logging.history_buffer.HistoryBuffer',
    'numpy.ndarray',
    'numpy.dtype',
    'numpy._core.multiarray._reconstruct',
    'numpy._core.multiarray.scalar',
    'numpy.core.multiarray._reconstruct',
    'numpy.core.multiarray.scalar',
) + tuple(f'numpy.dtypes.{kind}DType' for kind in (
    'Bool', 'Float16', 'Float32', 'Float64', 'Int8', 'Int16', 'Int32',
    'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64'))

_trust_all = False
_WEIGHTS_ONLY_MARKER = 'WeightsUnpickler error:'
_HISTORY_STATISTICS = frozenset(('min', 'max', 'mean', 'current'))


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


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as far as a pickled mmengine ``HistoryBuffer`` needs it.

    A ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')`` and the like. The builtin ``getattr``
    must not be allowed: through it a crafted pickle reaches the builtins
    dict and can replace a builtin it later gets called.

    Args:
        obj: ``HistoryBuffer`` or one of its instances.
        name: A registered statistics method (``min``, ``max``, ``mean``,
            ``current`` or one added with ``register_statistics``).

    Returns:
        The method.

    Raises:
        pickle.UnpicklingError: For any other object or name.
    """
    from mmengine.logging import HistoryBuffer

    # the class fills _statistics_methods only when a first buffer is built
    allowed = _HISTORY_STATISTICS.union(HistoryBuffer._statistics_methods)
    if (obj is HistoryBuffer
            or isinstance(obj, HistoryBuffer)) and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'Unsupported call getattr({type(obj).__name__}, {name!r})')


def checkpoint_safe_globals() -> List[Tuple[Any, str]]:
    """The non-tensor objects mmengine checkpoints may contain.

    Returns:
        ``(object, name)`` pairs for ``torch.serialization.safe_globals``,
        keyed by the name the pickle stream uses (numpy 2 moved
        ``numpy.core`` to ``numpy._core`` but keeps the old names working,
        so each name is resolved where it is importable), and
        :func:`history_buffer_getattr` standing in for ``builtins.getattr``.
    """
    pairs = [(history_buffer_getattr, 'builtins.getattr')]
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


def _looks_like_checkpoint(filename: str) -> bool:
    """Whether ``filename`` is a torch zip archive or a pickle stream."""
    if zipfile.is_zipfile(filename):
        return True
    with open(filename, 'rb') as f:
        return f.read(1) == b'\x80'  # pickle protocol opcode


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
        pickle.UnpicklingError: If the file is not a checkpoint at all.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    if not _looks_like_checkpoint(filename):
        raise pickle.UnpicklingError(
            f'{filename} is not a torch checkpoint (neither a torch zip '
            'archive nor a pickle)')
    if _trust_all:
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    with torch.serialization.safe_globals(checkpoint_safe_globals()):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as exc:
            text = str(exc)
            reason = text.split(_WEIGHTS_ONLY_MARKER,
                                1)[1].strip().split('\n\n')[0]
            reason = ' '.join(reason.split()).split(' Please use')[0]
            raise UntrustedCheckpointError(
                f'{filename} was not loaded: it holds something mmengine '
                f'checkpoints do not ({reason}). If you trust its source, '
                'pass --trust-checkpoint (or call '
                'mmctx.compat.trust_checkpoints()).') from exc


def install_checkpoint_loader(
        loader: Callable[..., Any] = load_local_checkpoint) -> None:
    """Make mmengine load local checkpoints through ``loader``.

    Args:
        loader: A ``(filename, map_location)`` function.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=loader, force=True)
