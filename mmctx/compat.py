"""Environment checks and safe checkpoint loading on torch >= 2.6.

mmengine 0.10.7 calls ``torch.load`` with torch's default
``weights_only=True`` (since torch 2.6), which refuses the Python objects its
own checkpoints hold (the message hub's ``HistoryBuffer``, numpy scalars and
arrays). :func:`install_checkpoint_loader` replaces mmengine's loader for
local files with one that allows exactly those types and nothing else; any
other pickled object is refused with an error that names it, unless the user
opts in with :func:`trust_checkpoints` (the tools' ``--trust-checkpoint``).
Empty, truncated and corrupt files are recognised before ``torch.load`` runs,
and every refusal names the file; the globals a refused pickle imports are
found by reading its opcodes (:mod:`pickletools`), never by parsing torch's
error text, whose wording changes between releases.

This module imports neither mmdet nor mmseg, so :func:`check_mmcv_ops` can
explain a broken mmcv install before those packages fail to import.
"""
import _compat_pickle
import importlib
import io
import os.path as osp
import pickle
import pickletools
import warnings
import zipfile
import zlib
from collections import deque
from typing import Any, BinaryIO, Callable, List, Optional, Set, Tuple

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

#: A legacy (non-zip) torch file is a run of pickles (magic number, protocol
#: version, system info, the object, its storage keys) and raw tensor bytes.
_LEGACY_PICKLES = 5
_STRING_OPCODES = frozenset(
    ('STRING', 'BINSTRING', 'SHORT_BINSTRING', 'UNICODE', 'BINUNICODE',
     'SHORT_BINUNICODE', 'BINUNICODE8'))
_REASON_CHARS = 300
#: What reading a damaged zip archive or pickle stream raises.
_DAMAGE_ERRORS = (ValueError, EOFError, OSError, NotImplementedError,
                  zipfile.BadZipFile, zlib.error)

_trust_all = False
_HISTORY_STATISTICS = frozenset(('min', 'max', 'mean', 'current'))


class MMCVOpsMissingError(ImportError):
    """mmcv is importable but was built without its compiled ops."""


class CheckpointError(pickle.UnpicklingError):
    """A local checkpoint was not loaded; the message names it and says
    why."""


class UntrustedCheckpointError(CheckpointError):
    """A checkpoint pickles an object outside the allowed set."""


class UnreadableCheckpointError(CheckpointError):
    """A file is empty, truncated, corrupt or not a torch checkpoint."""


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


def _python3_name(module: str, name: str) -> str:
    """``module.name`` as unpickling resolves it: protocols 0-2 may name
    Python 2 modules (``__builtin__.eval``, ``commands.call``)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    else:
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return f'{module}.{name}'


def _pickle_globals(stream: BinaryIO) -> List[str]:
    """The globals one pickle imports, read from its opcodes, unpickling
    nothing.

    ``GLOBAL`` and ``INST`` carry the name; ``STACK_GLOBAL`` takes it from
    the two values pushed before it, followed here through the memo as far as
    plain string pushes go (``?`` stands for a part that cannot be told).

    Args:
        stream: Binary stream positioned at the start of a pickle; it is left
            just after the pickle's ``STOP``.

    Returns:
        ``module.name`` strings in the order the pickle imports them.

    Raises:
        ValueError: If the stream is truncated or not a pickle.
    """
    names = []
    pushed = deque([None, None], maxlen=2)
    memo = {}
    for opcode, arg, _ in pickletools.genops(stream):
        kind = opcode.name
        if kind in ('GLOBAL', 'INST'):
            names.append(_python3_name(*arg.split(' ', 1)))
        elif kind == 'STACK_GLOBAL':
            names.append(_python3_name(
                *(part if isinstance(part, str) else '?' for part in pushed)))
        if kind == 'MEMOIZE':
            memo[len(memo)] = pushed[-1]
        elif kind in ('PUT', 'BINPUT', 'LONG_BINPUT'):
            memo[arg] = pushed[-1]
        elif kind in ('GET', 'BINGET', 'LONG_BINGET'):
            pushed.append(memo.get(arg))
        else:
            pushed.append(str(arg) if kind in _STRING_OPCODES else None)
    return names


def _unreadable(filename: str, reason: str) -> UnreadableCheckpointError:
    """The error for ``filename``; ``reason`` continues the sentence."""
    return UnreadableCheckpointError(f'{filename} {reason}')


def _zip_globals(filename: str) -> List[str]:
    """:func:`checkpoint_globals` for torch's zip format."""
    with zipfile.ZipFile(filename) as archive:
        pickles = [
            name for name in archive.namelist()
            if name.rpartition('/')[2] == 'data.pkl'
        ]
        if not pickles:
            raise _unreadable(
                filename, 'is a zip archive but not a torch checkpoint (it '
                'holds no data.pkl)')
        damaged = archive.testzip()
        if damaged is not None:
            raise _unreadable(
                filename, f'is corrupt: its member {damaged} fails its CRC '
                'check')
        names = []
        for name in pickles:
            names += _pickle_globals(io.BytesIO(archive.read(name)))
        return names


def _legacy_globals(filename: str) -> List[str]:
    """:func:`checkpoint_globals` for torch's legacy format."""
    names = []
    with open(filename, 'rb') as f:
        first = [arg for _, arg, _ in pickletools.genops(f)]
        if torch.serialization.MAGIC_NUMBER not in first:
            raise _unreadable(
                filename, 'is a pickle but not a torch checkpoint (it does '
                "not start with torch's magic number)")
        f.seek(0)
        for _ in range(_LEGACY_PICKLES):
            start = f.tell()
            if f.read(1) != b'\x80':  # protocol opcode of every pickle here
                break
            f.seek(start)
            names += _pickle_globals(f)
    return names


def checkpoint_globals(filename: str) -> List[str]:
    """Check that a file is a whole torch checkpoint and list its globals.

    Nothing is unpickled: the file's structure is checked (zip directory and
    CRCs, or the legacy format's pickles) and its pickle opcodes are read.

    Args:
        filename: Path of an existing file.

    Returns:
        The ``module.name`` globals its pickles import, in order.

    Raises:
        UnreadableCheckpointError: If the file is empty, truncated, corrupt
            or not a torch checkpoint; the message names it and says which.
    """
    if osp.getsize(filename) == 0:
        raise _unreadable(filename, 'is empty (0 bytes), not a checkpoint')
    with open(filename, 'rb') as f:
        head = f.read(4)
    try:
        if zipfile.is_zipfile(filename):
            return _zip_globals(filename)
        if head == b'PK\x03\x04':
            raise _unreadable(
                filename, 'is a truncated or corrupt torch zip archive (its '
                'central directory is missing, as when a save is killed)')
        if head[:1] == b'\x80':
            return _legacy_globals(filename)
    except _DAMAGE_ERRORS as exc:
        raise _unreadable(
            filename, f'is truncated or corrupt ({type(exc).__name__}: '
            f'{exc})') from exc
    raise _unreadable(
        filename, 'is not a torch checkpoint (neither a torch zip archive '
        'nor a pickle)')


def checkpoint_defect(filename: str) -> Optional[str]:
    """Why a file cannot be loaded as a checkpoint, if it cannot.

    Args:
        filename: Path of the file (``~`` is expanded).

    Returns:
        ``None`` for a whole torch checkpoint (whether or not its objects are
        allowed), else a sentence naming the file and its problem.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        return f'{filename} does not exist'
    try:
        checkpoint_globals(filename)
        if not zipfile.is_zipfile(filename):
            # a legacy file's tensor bytes follow its pickles unchecked;
            # loading with weights_only runs no code
            _load_weights_only(filename, 'cpu')
    except UntrustedCheckpointError:
        return None
    except UnreadableCheckpointError as exc:
        return str(exc)
    return None


def _allowed_global_names() -> Set[str]:
    """Names the safe loader accepts: mmctx's and torch's own."""
    names = {name for _, name in checkpoint_safe_globals()}
    try:
        from torch import _weights_only_unpickler as unpickler
        names.update(unpickler._get_allowed_globals())
        names.update(unpickler._get_user_allowed_globals())
    except (ImportError, AttributeError):
        pass  # torch internals of another release: mmctx's names only
    return names


def _offending_globals(filename: str) -> List[str]:
    """The globals in ``filename`` the safe loader does not allow (empty when
    they cannot be read)."""
    try:
        found = checkpoint_globals(filename)
        allowed = _allowed_global_names()
    except Exception:  # only explains a refusal: never fail doing so
        return []
    return [name for name in dict.fromkeys(found) if name not in allowed]


def _torch_reason(exc: BaseException) -> str:
    """A short reason from torch's refusal, whatever its wording: its first
    paragraph that is neither torch's preamble nor its documentation
    pointer."""
    paragraphs = [
        ' '.join(part.split()) for part in str(exc).split('\n\n')
        if part.strip()
    ]
    specific = [
        part for part in paragraphs
        if not part.startswith(('Weights only load failed', 'Check the '))
    ]
    reason = (specific or paragraphs or [''])[0]
    return f'{type(exc).__name__}: {reason}'[:_REASON_CHARS]


def _refusal(filename: str, exc: BaseException) -> UntrustedCheckpointError:
    offending = _offending_globals(filename)
    if offending:
        what = (f'it imports {", ".join(offending)}, which mmengine '
                'checkpoints do not hold and the safe loader does not allow '
                '(unpickling a global can run arbitrary code)')
    else:
        what = ('it holds something mmengine checkpoints do not '
                f'({_torch_reason(exc)})')
    return UntrustedCheckpointError(
        f'{filename} was not loaded: {what}. If you trust its source, pass '
        '--trust-checkpoint (or call mmctx.compat.trust_checkpoints()).')


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
        UnreadableCheckpointError: If the file is empty, truncated, corrupt
            or not a torch checkpoint.
        UntrustedCheckpointError: If the safe loader refuses the file, for
            whatever reason torch gives; the message names the file, the
            disallowed globals where they can be read, and
            ``--trust-checkpoint``.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    checkpoint_globals(filename)
    if not _trust_all:
        return _load_weights_only(filename, map_location)
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    except Exception as exc:
        raise _unreadable(
            filename, f'could not be read ({_torch_reason(exc)}); it may be '
            'truncated or corrupt') from exc


def _load_weights_only(filename: str, map_location: Optional[Any]) -> Any:
    """``torch.load`` allowing tensors and mmengine's own types only.

    Raises:
        UntrustedCheckpointError: If torch's safe loader refuses the file.
        UnreadableCheckpointError: If torch cannot read it at all.
    """
    with torch.serialization.safe_globals(checkpoint_safe_globals()):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as exc:
            raise _refusal(filename, exc) from exc
        except Exception as exc:  # e.g. legacy tensor bytes cut off
            raise _unreadable(
                filename, f'could not be read ({_torch_reason(exc)}); it '
                'may be truncated or corrupt') from exc


def install_checkpoint_loader(
        loader: Callable[..., Any] = load_local_checkpoint) -> None:
    """Make mmengine load local checkpoints through ``loader``.

    Args:
        loader: A ``(filename, map_location)`` function.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=loader, force=True)
