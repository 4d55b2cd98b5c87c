"""Crash-safe checkpoint saving for mmengine training.

mmengine 0.10.7's ``CheckpointHook`` removes the oldest kept checkpoint
before it writes the new one, writes the new one in place and then rewrites
``last_checkpoint`` in place. A kill during the save (SIGKILL, OOM,
pre-emption) can therefore leave no complete checkpoint and
``last_checkpoint`` naming a partial file. :class:`CrashSafeCheckpointHook`
takes the same arguments, writes the same files and keeps the same
``max_keep_ckpts`` and ``save_best`` logic, but orders every save so that a
complete checkpoint named by ``last_checkpoint`` exists at every moment:

1. the checkpoint is written to ``<name>.tmp`` beside its final name, flushed
   to disk and renamed over ``<name>`` (``os.replace``, atomic);
2. ``last_checkpoint`` is then replaced the same way;
3. only then are outdated checkpoints (beyond ``max_keep_ckpts``, or a
   previous best) removed.

The writes go through :class:`AtomicLocalBackend`, an mmengine file backend,
so mmengine's own saving code (``Runner.save_checkpoint``) writes atomically
once the hook passes ``backend_args=dict(backend='mmctx_atomic_local')``.
"""
import os
import os.path as osp
from typing import Any, List, Optional, Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

ATOMIC_BACKEND = 'mmctx_atomic_local'
PARTIAL_SUFFIX = '.tmp'
LAST_CHECKPOINT = 'last_checkpoint'


def _fsync(path: str) -> None:
    """Flush a file, or a folder's entries, to disk."""
    if osp.isdir(path) and os.name != 'posix':
        return  # only POSIX can open and flush a folder
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with all-or-nothing writes.

    :meth:`put` writes ``<path>.tmp`` with :class:`LocalBackend`, flushes it
    to disk and renames it over ``<path>``, so ``<path>`` holds either its
    previous content or the whole new content, whenever the process dies.
    """

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        """Write ``obj`` to ``filepath`` atomically.

        Args:
            obj: Bytes to write.
            filepath: Destination; its folder is created if needed.

        Raises:
            OSError: If the write or the rename fails (the temporary file
                is removed first).
        """
        filepath = os.fspath(filepath)
        partial = filepath + PARTIAL_SUFFIX
        try:
            super().put(obj, partial)
            _fsync(partial)
            os.replace(partial, filepath)
        except BaseException:
            if osp.isfile(partial):
                os.remove(partial)
            raise
        _fsync(osp.dirname(osp.abspath(filepath)))

    def put_text(self,
                 obj: str,
                 filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically (see :meth:`put`).

        Args:
            obj: Text to write.
            filepath: Destination.
            encoding: Text encoding.
        """
        self.put(obj.encode(encoding), filepath)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


class _DeferredRemovals:
    """Stands in for a file backend and records ``remove``/``rmtree`` calls
    instead of performing them."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.paths: List[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def remove(self, path: str) -> None:
        self.paths.append(path)

    def rmtree(self, path: str) -> None:
        self.paths.append(path)


@HOOKS.register_module()
class CrashSafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook``, saving so that a kill at any moment
    leaves a complete checkpoint that ``last_checkpoint`` names.

    It takes exactly ``CheckpointHook``'s arguments and keeps its file
    names, intervals, ``max_keep_ckpts``, ``save_best``, ``save_last`` and
    ``published_keys`` behaviour; see the module docstring for the order of
    a save. Registered in mmengine's root ``HOOKS``, so it resolves under
    ``default_scope='mmdet'`` and ``'mmseg'``. Saving to a local folder is
    crash-safe; with ``backend_args``, ``file_client_args`` or a remote
    ``out_dir`` the checkpoints are written as mmengine writes them (a
    warning says so), and only the ordering is kept.
    """

    def before_train(self, runner) -> None:
        """Resolve the output folder (as mmengine does) and switch local
        saving to :class:`AtomicLocalBackend`.

        Args:
            runner: The runner.
        """
        super().before_train(runner)
        if (self.backend_args is None and self.file_client_args is None
                and isinstance(self.file_backend, LocalBackend)):
            self.backend_args = dict(backend=ATOMIC_BACKEND)
            self.file_backend = get_file_backend(
                self.out_dir, backend_args=self.backend_args)
        elif not isinstance(self.file_backend, AtomicLocalBackend):
            runner.logger.warning(
                f'Checkpoints go to {self.out_dir} through '
                f'{type(self.file_backend).__name__} (chosen by backend_args, '
                'file_client_args or the out_dir scheme), written in place '
                'as mmengine writes them: a kill during a save may leave a '
                'partial checkpoint there.')

    def _remove(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed saves folders
            self.file_backend.rmtree(path)

    def _advance_kept(self, runner, step: int) -> List[str]:
        """Record ``step`` among the kept checkpoints.

        Args:
            runner: The runner, whose message hub stores the kept steps.
            step: Epoch or iteration of the checkpoint being saved.

        Returns:
            Paths of the checkpoints that fall out of ``max_keep_ckpts``,
            to be removed once the new one is complete.
        """
        if self.max_keep_ckpts <= 0:
            return []
        kept = self.keep_ckpt_ids
        if kept and kept[-1] == step:
            return []  # this step's checkpoint is saved again
        outdated = []
        if len(kept) == self.max_keep_ckpts:
            outdated.append(kept.popleft())
        kept.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(kept))
        return [
            self.file_backend.join_path(self.out_dir,
                                        self.filename_tmpl.format(old))
            for old in outdated
        ]

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        """Save the checkpoint of ``step``: write it, point
        ``last_checkpoint`` at it, then remove the outdated ones.

        Args:
            runner: The runner.
            step: Epoch or iteration the file is named after.
            meta: The checkpoint's ``meta``.
        """
        outdated = self._advance_kept(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        AtomicLocalBackend().put_text(
            self.last_ckpt, osp.join(runner.work_dir, LAST_CHECKPOINT))
        for path in outdated:
            self._remove(path)

    def _current_files(self) -> List[Optional[str]]:
        """The checkpoints this hook currently names (last and best)."""
        best = list(getattr(self, 'best_ckpt_path_dict', {}).values())
        return [self.last_ckpt, getattr(self, 'best_ckpt_path', None)] + best

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        """mmengine's best-checkpoint logic, removing the previous best only
        after the new best (and the re-saved last checkpoint) are complete.

        Args:
            runner: The runner.
            metrics: Evaluation results.
        """
        backend = self.file_backend
        deferred = _DeferredRemovals(backend)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        current = self._current_files()
        for path in deferred.paths:
            if path not in current:
                self._remove(path)
