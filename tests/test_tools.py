"""End-to-end: demo data -> train -> test from checkpoint -> resume, for
the demo GC Mask R-CNN and GC UperNet; a 2-process gloo run; safe
checkpoint loading; tools/test.py stops on a checkpoint of another
model."""
import collections
import importlib.util
import os
import os.path as osp
import pickle
import re
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from mmctx.compat import UntrustedCheckpointError, trust_checkpoints
from conftest import ROOT, SHORT, run_tool, train

MASK_RCNN = osp.join(ROOT, 'configs', 'demo', 'mask_rcnn_gc_r50_fpn_demo.py')
UPERNET = osp.join(ROOT, 'configs', 'demo', 'upernet_gc_r50_ade20k_demo.py')
BOT_MASK_RCNN = osp.join(ROOT, 'configs', 'demo',
                         'mask_rcnn_bot_r50_fpn_demo.py')
BOT_UPERNET = osp.join(ROOT, 'configs', 'demo',
                       'upernet_bot_r50_ade20k_demo.py')
COT_MASK_RCNN = osp.join(ROOT, 'configs', 'demo',
                         'mask_rcnn_cot_r50_fpn_demo.py')
SE_COTNETD_MASK_RCNN = osp.join(ROOT, 'configs', 'demo',
                                'mask_rcnn_se_cotnetd50_fpn_demo.py')
SE_COTNETD_CASCADE = osp.join(ROOT, 'configs', 'demo',
                              'cascade_mask_rcnn_se_cotnetd50_fpn_demo.py')
SE_COTNETD_UPERNET = osp.join(ROOT, 'configs', 'demo',
                              'upernet_se_cotnetd50_ade20k_demo.py')
AA_RETINANET = osp.join(ROOT, 'configs', 'demo',
                        'retinanet_aa_r50_fpn_demo.py')


def test_gc_mask_rcnn_train_test_resume(workspace):
    work = workspace / 'mask_rcnn'
    train(workspace, MASK_RCNN, work, 2)
    assert (work / 'iter_2.pth').exists()

    output = run_tool(workspace, sys.executable,
                      osp.join(ROOT, 'tools', 'test.py'), MASK_RCNN,
                      str(work / 'iter_2.pth'), '--work-dir',
                      str(work / 'test'), '--out', str(work / 'preds.pkl'))
    for metric in ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'):
        assert metric in output
    assert 'Average Precision' in output  # pycocotools' summary table
    assert (work / 'preds.pkl').exists()

    output = train(workspace, MASK_RCNN, work, 4, '--resume')
    assert 'resumed epoch: 0, iter: 2' in output
    assert 'Iter(train) [3/4]' in output
    assert 'Iter(train) [1/4]' not in output
    checkpoint = torch.load(work / 'iter_4.pth', weights_only=False)
    assert checkpoint['meta']['iter'] == 4


def test_resume_restores_iteration_and_optimizer_state(workspace):
    work = workspace / 'resume_state'
    train(workspace, MASK_RCNN, work, 2)
    saved = _load_checkpoint(str(work / 'iter_2.pth'))
    cfg = Config.fromfile(MASK_RCNN)
    cfg.work_dir = str(work)
    cfg.resume, cfg.load_from = True, str(work / 'iter_2.pth')
    cwd = os.getcwd()
    os.chdir(workspace)
    try:
        runner = Runner.from_cfg(cfg)
        runner.optim_wrapper = runner.build_optim_wrapper(
            runner.optim_wrapper)
        runner.load_or_resume()
    finally:
        os.chdir(cwd)
    assert runner.iter == 2
    state = runner.optim_wrapper.state_dict()['state']
    assert state and len(state) == len(saved['optimizer']['state'])
    for key, value in saved['optimizer']['state'].items():
        assert state[key].keys() == value.keys()
        for name, tensor in value.items():
            torch.testing.assert_close(state[key][name], tensor)


def test_gc_upernet_train_test(workspace):
    work = workspace / 'upernet'
    train(workspace, UPERNET, work, 2)
    output = run_tool(workspace, sys.executable,
                      osp.join(ROOT, 'tools', 'test.py'), UPERNET,
                      str(work / 'iter_2.pth'), '--work-dir',
                      str(work / 'test'))
    assert 'mIoU' in output and 'aAcc' in output
    output = train(workspace, UPERNET, work, 4, '--resume')
    assert 'resumed epoch: 0, iter: 2' in output


# After two steps RetinaNet's focal-loss prior (0.01) keeps every score
# under the default 0.05 threshold; a zero threshold lets AP be computed.
@pytest.mark.parametrize(
    'config,metric,options',
    [(BOT_MASK_RCNN, 'coco/segm_mAP', []), (BOT_UPERNET, 'mIoU', []),
     (COT_MASK_RCNN, 'coco/segm_mAP', []),
     (SE_COTNETD_MASK_RCNN, 'coco/segm_mAP', []),
     (SE_COTNETD_CASCADE, 'coco/segm_mAP', []),
     (SE_COTNETD_UPERNET, 'mIoU', []),
     (AA_RETINANET, 'coco/bbox_mAP',
      ['--cfg-options', 'model.test_cfg.score_thr=0.0'])],
    ids=['mask_rcnn_bot', 'upernet_bot', 'mask_rcnn_cot',
         'mask_rcnn_se_cotnetd', 'cascade_mask_rcnn_se_cotnetd',
         'upernet_se_cotnetd', 'retinanet_aa'])
def test_mixer_demo_train_test(workspace, config, metric, options):
    work = workspace / osp.basename(config)[:-3]
    train(workspace, config, work, 2)
    output = run_tool(workspace, sys.executable,
                      osp.join(ROOT, 'tools', 'test.py'), config,
                      str(work / 'iter_2.pth'), '--work-dir',
                      str(work / 'test'), *options)
    assert metric in output


@pytest.mark.parametrize('config', [MASK_RCNN, UPERNET],
                         ids=['mmdet', 'mmseg'])
def test_checkpoint_of_another_model_stops_the_test(workspace, config):
    path = workspace / 'classifier.pth'
    torch.save(dict(state_dict=collections.OrderedDict(
        [('fc.weight', torch.zeros(10, 8)), ('fc.bias', torch.zeros(10))])),
        path)
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'test.py'), config,
         str(path), '--work-dir', str(workspace / 'misfit')],
        cwd=workspace, capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output[-3000:]
    assert 'Traceback' not in output
    assert f'error: {path} does not fit the model of {config}:' in output
    missing = re.search(r'\n  (\d+) of (\d+) model keys missing: backbone\.',
                        output)
    assert missing and missing.group(1) == missing.group(2)
    assert '  2 checkpoint keys the model does not have: fc.weight, fc.bias' \
        in output


def load_test_tool():
    """tools/test.py as a module."""
    spec = importlib.util.spec_from_file_location(
        'mmctx_test_tool', osp.join(ROOT, 'tools', 'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_classification_outputs_and_summary():
    tool = load_test_tool()
    cfg = Config(dict(
        default_scope='mmpretrain',
        default_hooks=dict(visualization=dict(type='VisualizationHook',
                                              enable=False)),
        test_evaluator=dict(type='Accuracy', topk=(1, 5))))
    tool.configure_outputs(cfg, 'preds.pkl', 'vis')
    assert cfg.default_hooks.visualization == dict(
        type='VisualizationHook', enable=True, out_dir='vis', interval=1)
    assert cfg.test_evaluator == [
        dict(type='Accuracy', topk=(1, 5)),
        dict(type='DumpResults', out_file_path='preds.pkl')]
    with pytest.raises(ValueError, match='--out preds.json: .* .pkl'):
        tool.configure_outputs(cfg, 'preds.json', None)
    with pytest.raises(ValueError, match='--show-dir v: .* no default_'):
        tool.configure_outputs(Config(dict(default_scope='mmpretrain')),
                               None, 'v')
    assert tool.accuracy_summary({
        'accuracy/top5': 93.214, 'accuracy/top1': 76.5, 'data_time': 0.1
    }) == 'top-1 76.50  top-5 93.21'
    with pytest.raises(ValueError, match='--show-dir v: .* no default_'):
        tool.configure_outputs(Config(dict(default_scope='mmpretrain')),
                               None, 'v')
    assert tool.accuracy_summary({'coco/bbox_mAP': 0.5}) == ''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_two_process_gloo_training(workspace):
    work = workspace / 'dist'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()),
               OMP_NUM_THREADS='1')
    output = run_tool(
        workspace, 'bash', osp.join(ROOT, 'tools', 'dist_train.sh'),
        MASK_RCNN, '2', '--work-dir', str(work), '--cfg-options',
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'train_dataloader.batch_size=2', *SHORT, env=env)
    assert 'Distributed training: True' in output
    assert 'GPU number: 2' in output
    assert (work / 'iter_2.pth').exists()


class NotAnMMEngineType:
    """Stands for an arbitrary object pickled into a checkpoint."""


class ReachesBuiltins:
    """Pickles as ``getattr(getattr, '__self__')``: the first step of an
    attack that reaches the builtins dict and replaces a builtin."""

    def __reduce__(self):
        return getattr, (getattr, '__self__')


def test_checkpoint_with_foreign_object_is_refused(tmp_path):
    path = tmp_path / 'odd.pth'
    torch.save(
        dict(state_dict=collections.OrderedDict(w=torch.ones(2)),
             meta=dict(extra=NotAnMMEngineType())), path)
    with pytest.raises(UntrustedCheckpointError,
                       match='NotAnMMEngineType.*--trust-checkpoint'):
        _load_checkpoint(str(path))
    trust_checkpoints(True)
    try:
        loaded = _load_checkpoint(str(path))
    finally:
        trust_checkpoints(False)
    assert isinstance(loaded['meta']['extra'], NotAnMMEngineType)


def test_builtin_getattr_is_not_allowed(tmp_path):
    path = tmp_path / 'crafted.pth'
    torch.save(dict(meta=dict(x=ReachesBuiltins())), path)
    with pytest.raises(UntrustedCheckpointError, match='getattr'):
        _load_checkpoint(str(path))


def test_history_buffer_statistics_survive_the_round_trip(tmp_path):
    from mmengine.logging import HistoryBuffer
    buffer = HistoryBuffer()
    for value in (1., 2., 6.):
        buffer.update(value)
    path = tmp_path / 'hub.pth'
    torch.save(dict(message_hub=dict(log_scalars=dict(loss=buffer))), path)
    loaded = _load_checkpoint(str(path))['message_hub']['log_scalars']
    assert loaded['loss'].mean() == 3. and loaded['loss'].max() == 6.


def test_text_file_is_reported_as_not_a_checkpoint(tmp_path):
    path = tmp_path / 'last_checkpoint'
    path.write_text('/somewhere/iter_2.pth')
    with pytest.raises(pickle.UnpicklingError, match='not a torch checkpoint'):
        _load_checkpoint(str(path))
