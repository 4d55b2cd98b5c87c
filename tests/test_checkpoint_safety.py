"""Refused checkpoints are always explained; checkpoint saving survives a
kill; ``--resume`` resumes, or says which checkpoint it cannot read.

Everything runs on a toy model (a 2 -> 1 linear layer trained with Adam)
registered in mmengine's root registries, through mmengine's Runner and the
tools' own entry points, with ``default_scope='mmdet'`` as the tools need.
"""
import collections
import copy
import os
import os.path as osp
import pickle
import random
import runpy
import subprocess
import sys
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import (DATASETS, HOOKS, METRICS, MODELS,
                               DefaultScope)
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from mmctx import compat
from mmctx.compat import (CheckpointError, UnreadableCheckpointError,
                          UntrustedCheckpointError, checkpoint_defect,
                          load_local_checkpoint, trust_checkpoints)
from mmctx.hooks import CrashSafeCheckpointHook
from mmctx.launch import (read_config, set_resume,
                          use_crash_safe_checkpoints)
from conftest import ROOT

pytestmark = pytest.mark.filterwarnings(
    'ignore:Detected pickle protocol 4:UserWarning')

TRAIN = osp.join(ROOT, 'tools', 'train.py')
TEST = osp.join(ROOT, 'tools', 'test.py')
HINT = '--trust-checkpoint'


# --- a toy model, data and metric --------------------------------------------
@MODELS.register_module(force=True)
class SafeloadToyModel(BaseModel):
    """Linear regression with mmengine's ``BaseModel`` interface."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        pred = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=(pred - data_samples).pow(2).mean())
        return list(pred)


@DATASETS.register_module(force=True)
class SafeloadToyDataset(Dataset):
    """Eight fixed samples of ``y = x0 - 2 x1``."""

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(8, 2, generator=gen)
        self.y = self.x @ torch.tensor([[1.], [-2.]])

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return dict(inputs=self.x[index], data_samples=self.y[index])


@METRICS.register_module(force=True)
class SafeloadToyMetric(BaseMetric):
    """Reports a fixed sequence of scores, one per evaluation, so that some
    evaluations improve on the best score and some do not."""

    SCORES = (0.1, 0.3, 0.2, 0.5)

    def __init__(self):
        super().__init__()
        self.calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(len(data_samples))

    def compute_metrics(self, results):
        self.calls += 1
        return dict(acc=self.SCORES[(self.calls - 1) % len(self.SCORES)])


@HOOKS.register_module(force=True)
class SafeloadProbe(Hook):
    """Records the iteration, optimizer state and weights a run starts its
    training loop with, and those after training iteration ``at``."""

    records = {}

    def __init__(self, at=-1):
        self.at = at

    def _record(self, runner, key):
        SafeloadProbe.records[key] = dict(
            iter=runner.iter,
            hooks=[type(hook).__name__ for hook in runner.hooks],
            optimizer=copy.deepcopy(runner.optim_wrapper.state_dict()),
            weights=copy.deepcopy(runner.model.state_dict()))

    def before_train(self, runner):
        self._record(runner, 'start')

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            self._record(runner, 'at')


@pytest.fixture(autouse=True)
def _quick_config_dump(monkeypatch):
    """Every checkpoint stores the config formatted by yapf (0.2 s a save
    here); the text stored does not matter to these tests."""
    monkeypatch.setattr(Config, 'pretty_text', property(lambda cfg: 'cfg'))


def toy_config(work_dir, max_iters=4, val=False, **checkpoint):
    """An mmdet-scope config for the toy model; ``checkpoint`` overrides
    the crash-safe checkpoint hook's arguments."""
    loader = dict(
        dataset=dict(type='SafeloadToyDataset'),
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=2,
        num_workers=0,
        collate_fn=dict(type='default_collate'))
    hook = dict(
        type='CrashSafeCheckpointHook', by_epoch=False, interval=2,
        max_keep_ckpts=1)
    hook.update(checkpoint)
    cfg = dict(
        default_scope='mmdet',
        model=dict(type='SafeloadToyModel'),
        work_dir=str(work_dir),
        experiment_name=f'safeload_{uuid.uuid4().hex}',
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.05)),
        param_scheduler=dict(type='MultiStepLR', milestones=[3],
                             by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        test_dataloader=loader,
        test_evaluator=dict(type='SafeloadToyMetric'),
        test_cfg=dict(type='TestLoop'),
        default_hooks=dict(checkpoint=hook),
        custom_hooks=[dict(type='SafeloadProbe', at=2)],
        randomness=dict(seed=0),
        log_level='WARNING')
    if val:
        cfg.update(
            val_dataloader=loader,
            val_evaluator=dict(type='SafeloadToyMetric'),
            val_cfg=dict(type='ValLoop'))
        cfg['train_cfg']['val_interval'] = 1
    return Config(cfg)


def write_config(tmp_path, **options) -> str:
    """The toy config as a file, for the tools, with mmengine's
    ``CheckpointHook`` (the tools substitute the crash-safe one)."""
    path = str(tmp_path / 'toy_config.json')
    options.setdefault('type', 'CheckpointHook')
    toy_config(tmp_path / 'unused', **options).dump(path)
    return path


def run_tool(tool, monkeypatch, *argv):
    """Run a tool's ``main`` in this process; return its exit status."""
    monkeypatch.setattr(sys, 'argv', [tool, *argv])
    try:
        runpy.run_path(tool, run_name='__main__')
    except SystemExit as exc:
        return exc.code
    return 0


# --- payloads ----------------------------------------------------------------
class RunsShell:
    """Unpickles as ``os.system('touch MARKER')`` (``posix.system``)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class Evaluates(RunsShell):
    """Unpickles as ``eval(...)`` creating the marker file."""

    def __reduce__(self):
        return eval, (f'open({self.marker!r}, "w").close()', )


class Executes(RunsShell):
    """Unpickles as ``exec(...)`` creating the marker file."""

    def __reduce__(self):
        return exec, (f'open({self.marker!r}, "w").close()', )


class Spawns(RunsShell):
    """Unpickles as ``subprocess.call(['touch', MARKER])``."""

    def __reduce__(self):
        return subprocess.call, (['touch', self.marker], )


class UnknownClass:
    """Stands for an arbitrary object pickled into a checkpoint."""


PAYLOADS = {
    'os.system': (RunsShell, 'posix.system'),
    'eval': (Evaluates, 'builtins.eval'),
    'exec': (Executes, 'builtins.exec'),
    'subprocess': (Spawns, 'subprocess.call'),
}
FORMATS = ('zip', 'legacy', 'protocol4')


def save(obj, path, fmt='zip'):
    """``torch.save`` in one of :data:`FORMATS`: torch's zip archive, the
    legacy pickle stream, or the zip archive with pickle protocol 4
    (``STACK_GLOBAL`` opcodes)."""
    options = dict(
        zip={}, legacy=dict(_use_new_zipfile_serialization=False),
        protocol4=dict(pickle_protocol=4))[fmt]
    torch.save(obj, str(path), **options)
    return str(path)


def checkpoint_with(payload):
    return dict(
        state_dict=collections.OrderedDict(weight=torch.ones(2, 2)),
        meta=dict(iter=2, extra=payload))


@pytest.fixture
def evil(tmp_path):
    """A zip checkpoint that runs ``touch MARKER`` when unpickled."""
    marker = tmp_path / 'payload_ran'
    path = save(checkpoint_with(RunsShell(marker)), tmp_path / 'evil.pth')
    return path, marker


# --- the allow-list ----------------------------------------------------------
EXPECTED_ALLOWED = {
    'builtins.getattr',  # stands for mmctx's restricted HistoryBuffer getattr
    'mmengine.logging.history_buffer.HistoryBuffer',
    'numpy.ndarray',
    'numpy.dtype',
    'numpy._core.multiarray._reconstruct',
    'numpy._core.multiarray.scalar',
    'numpy.core.multiarray._reconstruct',
    'numpy.core.multiarray.scalar',
} | {
    f'numpy.dtypes.{kind}DType'
    for kind in ('Bool', 'Float16', 'Float32', 'Float64', 'Int8', 'Int16',
                 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64')
}


def test_allow_list_is_exactly_mmengines_types():
    declared = set(compat._CHECKPOINT_GLOBALS) | {'builtins.getattr'}
    assert declared == EXPECTED_ALLOWED
    pairs = compat.checkpoint_safe_globals()
    assert {name for _, name in pairs} <= EXPECTED_ALLOWED
    objects = dict((name, obj) for obj, name in pairs)
    assert objects['builtins.getattr'] is compat.history_buffer_getattr


# --- refusals ----------------------------------------------------------------
@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('payload', PAYLOADS)
def test_code_running_payload_is_refused_and_named(tmp_path, payload, fmt):
    kind, name = PAYLOADS[payload]
    marker = tmp_path / 'payload_ran'
    path = save(checkpoint_with(kind(marker)), tmp_path / 'evil.pth', fmt)
    with pytest.raises(UntrustedCheckpointError) as info:
        load_local_checkpoint(path)
    message = str(info.value)
    assert path in message and name in message and HINT in message
    assert not marker.exists()


def test_payload_is_real_when_trusted(evil):
    path, marker = evil
    trust_checkpoints(True)
    try:
        load_local_checkpoint(path)
    finally:
        trust_checkpoints(False)
    assert marker.exists()


@pytest.mark.parametrize('fmt', FORMATS)
def test_unknown_class_is_named(tmp_path, fmt):
    path = save(checkpoint_with(UnknownClass()), tmp_path / 'odd.pth', fmt)
    with pytest.raises(UntrustedCheckpointError,
                       match=f'{path} was not loaded: it imports '
                       r'test_checkpoint_safety\.UnknownClass.*' + HINT):
        load_local_checkpoint(path)


def test_unsupported_opcode_is_explained(tmp_path):
    # protocol 4 pickles a frozenset with an opcode torch's safe loader lacks
    path = save(dict(ids=frozenset((1, 2))), tmp_path / 'set.pth',
                'protocol4')
    with pytest.raises(UntrustedCheckpointError,
                       match=f'{path} was not loaded: .*{HINT}'):
        load_local_checkpoint(path)


@pytest.mark.parametrize(
    'wording', ['', 'WeightsUnpickler error:', 'no marker at all',
                'Weights only load failed.\n\nsomething new\n\nCheck the '
                'documentation'])
def test_any_torch_wording_is_explained(evil, monkeypatch, wording):
    def refuse(*args, **kwargs):
        raise pickle.UnpicklingError(wording)

    path, marker = evil
    monkeypatch.setattr(torch, 'load', refuse)
    with pytest.raises(UntrustedCheckpointError,
                       match=f'{path} .*posix.system.*{HINT}'):
        load_local_checkpoint(path)
    unknown = save(dict(x=1), evil[0] + '.plain')
    with pytest.raises(UntrustedCheckpointError, match=f'{unknown} .*{HINT}'):
        load_local_checkpoint(unknown)


# --- damaged files -----------------------------------------------------------
def _cut(path, fraction, suffix):
    data = open(path, 'rb').read()
    out = f'{path}.{suffix}'
    with open(out, 'wb') as f:
        f.write(data[:int(len(data) * fraction)])
    return out


@pytest.mark.parametrize('fraction', [0.02, 0.5, 0.98])
@pytest.mark.parametrize('fmt', ['zip', 'legacy'])
def test_truncated_file_is_reported(tmp_path, fmt, fraction):
    good = save(checkpoint_with(1), tmp_path / 'good.pth', fmt)
    path = _cut(good, fraction, 'cut')
    with pytest.raises(UnreadableCheckpointError,
                       match=f'{path} .*(truncated or corrupt)'):
        load_local_checkpoint(path)
    assert 'truncated or corrupt' in checkpoint_defect(path)
    assert checkpoint_defect(good) is None


@pytest.mark.parametrize('content,reason', [
    (b'', 'is empty'),
    (b'/work_dirs/x/iter_2.pth', 'is not a torch checkpoint'),
    (pickle.dumps({'a': 1}, protocol=2), 'is a pickle but not a torch'),
], ids=['empty', 'text', 'plain-pickle'])
def test_non_checkpoint_is_reported(tmp_path, content, reason):
    path = tmp_path / 'file.pth'
    path.write_bytes(content)
    with pytest.raises(UnreadableCheckpointError,
                       match=f'{path} {reason}'):
        load_local_checkpoint(str(path))


def test_damaged_bytes_never_escape_as_other_errors(tmp_path):
    rng = random.Random(0)
    marker = tmp_path / 'payload_ran'
    sources = [
        save(checkpoint_with(1), tmp_path / 'a.pth'),
        save(checkpoint_with(1), tmp_path / 'b.pth', 'legacy'),
        save(checkpoint_with(RunsShell(marker)), tmp_path / 'c.pth'),
    ]
    path = tmp_path / 'damaged.pth'
    for source in sources:
        data = open(source, 'rb').read()
        for trial in range(36):
            damaged = bytearray(data)
            if trial % 3 == 0:
                damaged = damaged[:rng.randrange(len(damaged))]
            else:  # bytes anywhere, or in a zip's directory at the end
                span = len(damaged) if trial % 3 == 1 else 300
                for _ in range(rng.randint(1, 3)):
                    damaged[-1 - rng.randrange(span)] = rng.randrange(256)
            path.write_bytes(bytes(damaged))
            try:
                load_local_checkpoint(str(path))
            except CheckpointError as exc:
                assert str(path) in str(exc)
    assert not marker.exists()


# --- every way a local file gets loaded --------------------------------------
def test_test_tool_refuses_checkpoint(evil, tmp_path, monkeypatch, capsys):
    path, marker = evil
    config = write_config(tmp_path)
    status = run_tool(TEST, monkeypatch, config, path, '--work-dir',
                      str(tmp_path / 'test'))
    assert status == 2
    err = capsys.readouterr().err
    assert f'error: {path} was not loaded' in err and 'posix.system' in err
    assert not marker.exists()


def test_train_tool_refuses_resume_checkpoint(evil, tmp_path, monkeypatch,
                                              capsys):
    path, marker = evil
    status = run_tool(TRAIN, monkeypatch, write_config(tmp_path), '--resume',
                      path, '--work-dir', str(tmp_path / 'train'))
    assert status == 2
    assert f'{path} was not loaded' in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.parametrize('route', ['load_from', 'init_cfg', 'analysis'])
def test_other_load_paths_refuse_checkpoint(evil, tmp_path, route):
    path, marker = evil
    cfg = toy_config(tmp_path / 'work')
    with pytest.raises(UntrustedCheckpointError, match=f'{path} .*{HINT}'):
        if route == 'load_from':
            cfg.load_from = path
            Runner.from_cfg(cfg).load_or_resume()
        elif route == 'init_cfg':
            MODELS.build(
                dict(type='SafeloadToyModel',
                     init_cfg=dict(type='Pretrained',
                                   checkpoint=path))).init_weights()
        else:
            from mmctx.analysis.inference import build_model
            build_model(cfg, path)
    assert not marker.exists()


# --- crash-safe saving and resuming ------------------------------------------
class SimulatedKill(Exception):
    """Stands for SIGKILL arriving in the middle of a checkpoint write."""


def _kill_during_write(monkeypatch, victim):
    """Make the file write of ``victim`` stop halfway and raise."""
    write = LocalBackend.put

    def put(self, obj, filepath):
        if osp.basename(str(filepath)).startswith(victim):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            raise SimulatedKill(filepath)
        write(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', put)


def _assert_same_optimizer_state(actual, expected):
    assert actual['param_groups'] == expected['param_groups']
    assert actual['state'].keys() == expected['state'].keys()
    for key, entries in expected['state'].items():
        assert actual['state'][key].keys() == entries.keys()
        for name, value in entries.items():
            torch.testing.assert_close(
                actual['state'][key][name], value, rtol=0, atol=0)


def test_kill_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    reference = Runner.from_cfg(toy_config(tmp_path / 'reference'))
    reference.train()
    final_weights = copy.deepcopy(reference.model.state_dict())

    work = tmp_path / 'work'
    _kill_during_write(monkeypatch, 'iter_4.pth')
    with pytest.raises(SimulatedKill):
        Runner.from_cfg(toy_config(work)).train()
    at_save = SafeloadProbe.records['at']
    monkeypatch.undo()

    previous = str(work / 'iter_2.pth')
    assert (work / 'last_checkpoint').read_text() == previous
    assert checkpoint_defect(previous) is None
    assert not (work / 'iter_4.pth').exists()
    assert sorted(name for name in os.listdir(work)
                  if not name[0].isdigit()) == ['iter_2.pth',
                                                'last_checkpoint']

    cfg = toy_config(work)
    set_resume(cfg, 'auto')
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    start = SafeloadProbe.records['start']
    assert start['iter'] == at_save['iter'] + 1 == 2
    _assert_same_optimizer_state(start['optimizer'], at_save['optimizer'])
    for key, value in final_weights.items():
        torch.testing.assert_close(
            resumed.model.state_dict()[key], value, rtol=0, atol=0)
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_4.pth')
    assert not (work / 'iter_2.pth').exists()  # removed after iter_4 is whole


def test_same_files_as_mmengine_checkpoint_hook(tmp_path):
    """Names, kept and best checkpoints and their recorded state match
    mmengine's hook, for ``max_keep_ckpts`` and ``save_best``."""
    results = {}
    for kind in ('CheckpointHook', 'CrashSafeCheckpointHook'):
        work = tmp_path / kind
        cfg = toy_config(work, max_iters=4, val=True, type=kind, interval=1,
                         max_keep_ckpts=2, save_best='acc')
        Runner.from_cfg(cfg).train()
        files = sorted(name for name in os.listdir(work)
                       if not name[0].isdigit())
        last = (work / 'last_checkpoint').read_text()
        info = load_local_checkpoint(last)['message_hub']['runtime_info']
        results[kind] = (files, osp.relpath(last, work),
                         info['keep_ckpt_ids'], info['best_score'],
                         osp.relpath(info['best_ckpt'], work))
    assert results['CheckpointHook'] == results['CrashSafeCheckpointHook']
    files = results['CheckpointHook'][0]
    assert files == ['best_acc_iter_4.pth', 'iter_3.pth', 'iter_4.pth',
                     'last_checkpoint']


def test_kill_during_best_save_keeps_previous_best(tmp_path, monkeypatch):
    work = tmp_path / 'work'
    _kill_during_write(monkeypatch, 'best_acc_iter_4.pth')
    with pytest.raises(SimulatedKill):
        Runner.from_cfg(
            toy_config(work, val=True, interval=1,
                       save_best='acc')).train()
    previous = work / 'best_acc_iter_2.pth'
    assert checkpoint_defect(str(previous)) is None
    assert not (work / 'best_acc_iter_4.pth').exists()


@pytest.mark.parametrize('hooks,expected', [
    (dict(checkpoint=dict(type='CheckpointHook', interval=7,
                          max_keep_ckpts=3, save_best='auto')),
     dict(type='CrashSafeCheckpointHook', interval=7, max_keep_ckpts=3,
          save_best='auto')),
    (dict(logger=dict(type='LoggerHook')),
     dict(type='CrashSafeCheckpointHook', interval=1)),
    (dict(checkpoint=None), None),
    (dict(checkpoint=dict(type='MyCheckpointHook')),
     dict(type='MyCheckpointHook')),
], ids=['args-kept', 'mmengine-default', 'disabled', 'other-type'])
def test_tools_substitute_the_checkpoint_hook(hooks, expected):
    cfg = Config(dict(default_hooks=hooks))
    use_crash_safe_checkpoints(cfg)
    assert cfg.default_hooks.checkpoint == expected


@pytest.mark.parametrize('config', [
    'mask_rcnn_gc_r50_fpn_demo.py', 'upernet_gc_r50_ade20k_demo.py'])
def test_crash_safe_hook_builds_in_the_configs_scope(config):
    cfg = read_config(osp.join(ROOT, 'configs', 'demo', config))
    original = copy.deepcopy(cfg.default_hooks.checkpoint)
    use_crash_safe_checkpoints(cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        hook = HOOKS.build(cfg.default_hooks.checkpoint)
    assert type(hook) is CrashSafeCheckpointHook
    assert original.type == 'CheckpointHook'
    assert (hook.interval, hook.by_epoch) == (
        original.interval, original.get('by_epoch', True))


def test_explicit_resume_path_restores_iteration_and_optimizer(
        tmp_path, monkeypatch):
    work = tmp_path / 'work'
    config = write_config(tmp_path)
    assert run_tool(TRAIN, monkeypatch, config, '--work-dir', str(work),
                    '--cfg-options', 'train_cfg.max_iters=2') == 0
    live = SafeloadProbe.records['at']
    saved = load_local_checkpoint(str(work / 'iter_2.pth'))
    assert run_tool(TRAIN, monkeypatch, config, '--work-dir', str(work),
                    '--resume', str(work / 'iter_2.pth')) == 0
    start = SafeloadProbe.records['start']
    assert 'CrashSafeCheckpointHook' in start['hooks']
    assert start['iter'] == saved['meta']['iter'] == 2
    _assert_same_optimizer_state(start['optimizer'], live['optimizer'])
    _assert_same_optimizer_state(start['optimizer'], saved['optimizer'])
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_4.pth')


def test_resume_names_unreadable_and_newest_readable(tmp_path, monkeypatch,
                                                     capsys):
    work = tmp_path / 'work'
    work.mkdir()
    older = save(checkpoint_with(1), work / 'iter_2.pth')
    newer = save(checkpoint_with(1), work / 'iter_4.pth')
    os.utime(older, (1, 1))
    newest = _cut(newer, 0.5, 'cut')
    os.replace(newest, newer)
    (work / 'last_checkpoint').write_text(newer)
    status = run_tool(TRAIN, monkeypatch, write_config(tmp_path), '--resume',
                      '--work-dir', str(work))
    assert status == 2
    err = capsys.readouterr().err
    assert f'{newer} is a truncated or corrupt' in err
    assert f'The newest readable checkpoint is {older}' in err
