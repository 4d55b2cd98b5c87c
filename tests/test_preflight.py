"""tools/train.py and tools/test.py stop before building anything, with one
message and exit status 2, when the config's data is missing or a
pretrained checkpoint cannot be loaded (mmctx.preflight)."""
import argparse
import os.path as osp
import re
import socket
import subprocess
import sys

import pytest
from mmengine.config import Config, DictAction

from mmctx import preflight
from mmctx.launch import read_config
from mmctx.preflight import (DataPath, check_or_exit, checkpoint_entries,
                             checkpoint_problem, data_overrides, data_paths,
                             host_reachable, problems_message)

from conftest import ROOT

MASK_RCNN = osp.join(ROOT, 'configs', 'gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py')
UPERNET = osp.join(ROOT, 'configs', 'gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py')
DEMO = osp.join(ROOT, 'configs', 'demo')
MASK_RCNN_DEMO = osp.join(DEMO, 'mask_rcnn_gc_r50_fpn_demo.py')
UPERNET_DEMO = osp.join(DEMO, 'upernet_gc_r50_ade20k_demo.py')
OFFLINE = dict(reachable=lambda host, port: False)
RESNET50_V1C = ('https://download.openmmlab.com/pretrain/third_party/'
                'resnet50_v1c-2cccc1ad.pth')
RESNET50 = 'https://download.pytorch.org/models/resnet50-0676ba61.pth'


def run(cwd, tool, *args):
    """Run tools/TOOL in ``cwd``; return its exit status and output."""
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', tool), *args], cwd=cwd,
        capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def cfg_options(line: str) -> dict:
    """Parse a ``--cfg-options ...`` line as the tools do."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(line.split()).cfg_options


def test_train_without_coco_exits_with_message(tmp_path):
    status, output = run(tmp_path, 'train.py', MASK_RCNN)
    assert status == 2, output[-3000:]
    assert 'Traceback' not in output
    assert 'reads COCO data that is not there' in output
    for path in ('data/coco/annotations/instances_train2017.json',
                 'data/coco/train2017/',
                 'data/coco/annotations/instances_val2017.json',
                 'data/coco/val2017/'):
        assert re.search(rf'  {re.escape(path)} +\(missing\)\n', output)
    assert 'README.md, section "Real data layout"' in output
    assert ('--cfg-options train_dataloader.dataset.data_root=/path/to/coco/'
            ' val_dataloader.dataset.data_root=/path/to/coco/ '
            'val_evaluator.ann_file=/path/to/coco/annotations/'
            'instances_val2017.json') in output
    assert not (tmp_path / 'work_dirs').exists()


def test_test_without_ade_or_checkpoint_exits_with_message(tmp_path):
    status, output = run(tmp_path, 'test.py', UPERNET, 'missing.pth')
    assert status == 2, output[-3000:]
    assert 'Traceback' not in output
    assert 'reads ADE20k data that is not there' in output
    assert re.search(r'  data/ade/ADEChallengeData2016/images/validation/ +'
                     r'\(missing\)\n', output)
    assert 'data/ade/ADEChallengeData2016/images/training' not in output
    assert ('--cfg-options test_dataloader.dataset.data_root='
            '/path/to/ADEChallengeData2016') in output
    assert "load_from='missing.pth'" in output
    assert 'no such file' in output
    assert 'Pass an existing checkpoint file as CHECKPOINT.' in output


def test_missing_local_pretrained_files_exit(workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    cfg = read_config(UPERNET_DEMO, {'model.pretrained': 'nowhere/r50.pth'})
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        check_or_exit(cfg, 'train')
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        'error: checkpoints that cannot be loaded:',
        "  model.pretrained='nowhere/r50.pth': no such file: nowhere/r50.pth",
        'Download the file where you can and pass it instead:',
        '  --cfg-options model.pretrained=/path/to/r50.pth   (or '
        'model.pretrained=None to start without it)',
    ]  # and nothing about data: the demo data is present
    check_or_exit(read_config(UPERNET_DEMO), 'train')

    cfg = read_config(MASK_RCNN_DEMO)
    cfg.model.backbone.init_cfg = [
        dict(type='Kaiming', layer='Conv2d'),
        dict(type='Pretrained', checkpoint=str(workspace / 'r50.pth'))
    ]
    message = problems_message(cfg, 'train')
    assert (f"model.backbone.init_cfg.1.checkpoint='{workspace}/r50.pth': "
            f'no such file: {workspace}/r50.pth') in message
    assert '(or model.backbone.init_cfg=None to start' in message
    assert problems_message(cfg, 'test') == ''  # testing never loads it


@pytest.mark.parametrize('config', [MASK_RCNN_DEMO, UPERNET_DEMO])
@pytest.mark.parametrize('stage', ['train', 'test'])
def test_present_demo_data_passes(workspace, monkeypatch, config, stage):
    monkeypatch.chdir(workspace)
    cfg = Config.fromfile(config)
    assert data_paths(cfg, stage)
    assert problems_message(cfg, stage) == ''
    monkeypatch.chdir(workspace / 'data')
    assert 'not there' in problems_message(cfg, stage)


def test_suggested_overrides_point_the_full_config_elsewhere(
        tmp_path, monkeypatch):
    monkeypatch.setattr(preflight, 'torchvision_problem', lambda: '')
    monkeypatch.setattr(preflight, 'host_reachable', lambda host, port: False)
    coco = tmp_path / 'elsewhere' / 'coco'
    for split in ('train2017', 'val2017'):
        (coco / split).mkdir(parents=True)
    (coco / 'annotations').mkdir()
    for split in ('train', 'val'):
        (coco / 'annotations' / f'instances_{split}2017.json').write_text('')
    monkeypatch.chdir(tmp_path)
    message = problems_message(read_config(MASK_RCNN), 'train')
    lines = message.splitlines()
    assert lines[0].endswith('reads COCO data that is not there:')
    assert lines[-1] == (
        '  --cfg-options model.backbone.init_cfg.checkpoint=/path/to/'
        'resnet50-0676ba61.pth   (or model.backbone.init_cfg=None to start '
        'without it)')
    overrides = next(line for line in lines if 'data_root=' in line)
    options = cfg_options(
        overrides.replace('/path/to/', f'{tmp_path}/elsewhere/'))
    options['model.backbone.init_cfg'] = None
    assert problems_message(read_config(MASK_RCNN, options), 'train') == ''


def test_wrapped_datasets_and_evaluator_lists(tmp_path):
    coco = dict(type='CocoDataset', data_root='d/coco/',
                ann_file='annotations/a.json', data_prefix=dict(img='imgs/'))
    ade = dict(type='ADE20KDataset', data_root=str(tmp_path),
               data_prefix=dict(img_path='images', seg_map_path='ann'))
    cfg = dict(
        train_dataloader=dict(dataset=dict(
            type='RepeatDataset', times=2,
            dataset=dict(type='ConcatDataset', datasets=[coco, ade]))),
        val_dataloader=dict(dataset=dict(coco, ann_file='/abs/v.json')),
        val_cfg=dict(type='ValLoop'),
        val_evaluator=[dict(type='CocoMetric', ann_file='d/coco/v.json'),
                       dict(type='CocoMetric', ann_file=None),
                       dict(type='X', ann_file='s3://bucket/v.json')],
        test_dataloader=dict(dataset=dict(
            coco, backend_args=dict(backend='petrel'))))
    paths = data_paths(cfg, 'train')
    wrapped = 'train_dataloader.dataset.dataset.datasets'
    assert [(p.owner, p.field, p.path) for p in paths] == [
        (f'{wrapped}.0', 'ann_file', 'd/coco/annotations/a.json'),
        (f'{wrapped}.0', 'data_prefix.img', 'd/coco/imgs/'),
        (f'{wrapped}.1', 'data_prefix.img_path', f'{tmp_path}/images'),
        (f'{wrapped}.1', 'data_prefix.seg_map_path', f'{tmp_path}/ann'),
        ('val_dataloader.dataset', 'ann_file', '/abs/v.json'),
        ('val_dataloader.dataset', 'data_prefix.img', 'd/coco/imgs/'),
        ('val_evaluator.0', 'ann_file', 'd/coco/v.json'),
    ]
    assert [p.layout for p in paths] == ['COCO'] * 2 + ['ADE20k'] * 2 + \
        ['COCO'] * 3
    assert data_paths(cfg, 'test') == []
    assert data_paths(dict(cfg, val_cfg=None), 'train') == paths[:4]
    missing = [p for p in paths if p.owner != f'{wrapped}.1']
    assert data_overrides(missing) == [
        f'{wrapped}.0.data_root=/path/to/coco/',
        'val_dataloader.dataset.data_root=/path/to/coco/',
        'val_evaluator.0.ann_file=/path/to/coco/v.json',
    ]
    assert data_overrides([DataPath('e', 'ann_file', 'x/y.json', '',
                                    'COCO')]) == ['e.ann_file=/path/to/y.json']


def test_checkpoint_entries_nested_and_listed():
    cfg = dict(
        model=dict(
            pretrained='open-mmlab://resnet50_v1c',
            backbone=dict(init_cfg=[
                dict(type='Kaiming', layer='Conv2d'),
                dict(type='Pretrained', checkpoint='a.pth')
            ]),
            neck=dict(block=dict(init_cfg=dict(
                type='Pretrained', checkpoint='b.pth', prefix='neck.')))),
        load_from='c.pth')
    assert checkpoint_entries(cfg, 'train') == [
        ('model.pretrained', 'open-mmlab://resnet50_v1c', 'model.pretrained'),
        ('model.backbone.init_cfg.1.checkpoint', 'a.pth',
         'model.backbone.init_cfg'),
        ('model.neck.block.init_cfg.checkpoint', 'b.pth',
         'model.neck.block.init_cfg'),
        ('load_from', 'c.pth', 'load_from'),
    ]
    assert checkpoint_entries(cfg, 'test') == [('load_from', 'c.pth',
                                                'load_from')]


def test_checkpoint_rules(tmp_path, monkeypatch):
    hub = str(tmp_path / 'hub')
    local = tmp_path / 'w.pth'
    assert checkpoint_problem(str(local), hub, **OFFLINE)[1] == \
        f'no such file: {local}'
    local.write_bytes(b'')
    assert checkpoint_problem(str(local), hub, **OFFLINE) == ('', '')

    url, problem = checkpoint_problem('open-mmlab://resnet50_v1c', hub,
                                      **OFFLINE)
    assert url == RESNET50_V1C
    assert problem == (f'not in the download cache {hub}/checkpoints/ and '
                       'download.openmmlab.com:443 cannot be reached')
    asked = []
    assert checkpoint_problem(
        RESNET50_V1C, hub,
        reachable=lambda *a: asked.append(a) or True) == (RESNET50_V1C, '')
    assert asked == [('download.openmmlab.com', 443)]
    cache = tmp_path / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    (cache / 'resnet50_v1c-2cccc1ad.pth').write_bytes(b'')
    assert checkpoint_problem('open-mmlab://resnet50_v1c', hub,
                              **OFFLINE) == (RESNET50_V1C, '')
    assert 'not in mmengine' in checkpoint_problem('open-mmlab://nope', hub,
                                                   **OFFLINE)[1]

    monkeypatch.setattr(preflight, 'torchvision_problem',
                        lambda: 'torchvision is not installed')
    assert checkpoint_problem('torchvision://resnet50', hub, **OFFLINE) == (
        RESNET50, 'mmengine imports torchvision to resolve torchvision:// '
        'names, and torchvision is not installed')
    monkeypatch.setattr(preflight, 'torchvision_problem', lambda: '')
    url, problem = checkpoint_problem('torchvision://resnet50', hub,
                                      **OFFLINE)
    assert url == RESNET50
    assert 'download.pytorch.org:443 cannot be reached' in problem
    assert checkpoint_problem('s3://bucket/w.pth', hub, **OFFLINE) == ('', '')


def test_proxy_is_the_endpoint(monkeypatch):
    asked = []
    monkeypatch.setenv('https_proxy', 'http://proxy.example:3128')
    monkeypatch.delenv('no_proxy', raising=False)
    monkeypatch.delenv('NO_PROXY', raising=False)
    checkpoint_problem(RESNET50_V1C, '/nonexistent',
                       reachable=lambda *a: asked.append(a) or False)
    assert asked == [('proxy.example', 3128)]


def test_host_reachable():
    with socket.socket() as server:
        server.bind(('127.0.0.1', 0))
        server.listen()
        port = server.getsockname()[1]
        assert host_reachable('127.0.0.1', port)
    assert not host_reachable('127.0.0.1', port)
