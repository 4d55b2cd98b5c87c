"""tools/train.py and tools/test.py stop before building anything, with one
message and exit status 2, when the config's data is missing or unusable
(ImageNet-layout class folders and labels) or a pretrained checkpoint
cannot be loaded; tools/test.py also stops on a checkpoint that does not
fit the built model (mmctx.preflight)."""
import argparse
import os.path as osp
import re
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.model import BaseModule

from mmctx import preflight
from mmctx.compat import UntrustedCheckpointError
from mmctx.launch import read_config
from mmctx.preflight import (DataPath, check_init_fits, check_or_exit,
                             checkpoint_entries, checkpoint_fit_message,
                             checkpoint_problem, data_overrides, data_paths,
                             dataset_paths, folder_source, host_reachable,
                             init_fit_message, problems_message)

from conftest import ROOT
from imagenet_folder import CLASSES, write_tiny_imagenet

MASK_RCNN = osp.join(ROOT, 'configs', 'gcnet',
                     'mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py')
UPERNET = osp.join(ROOT, 'configs', 'gcnet',
                   'upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py')
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


# --- mmpretrain's ImageNet folder layout -----------------------------------

IMAGENET_BASE = """\
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py']
default_scope = 'mmpretrain'
model = dict(type='ImageClassifier',
             head=dict(type='LinearClsHead', num_classes=1000))
val_cfg = dict()
test_cfg = dict()
"""


def test_imagenet_config_without_data(tmp_path, monkeypatch):
    (tmp_path / 'in1k.py').write_text(IMAGENET_BASE)
    monkeypatch.chdir(tmp_path)
    message = problems_message(read_config('in1k.py'), 'train')
    assert message.splitlines() == [
        'error: in1k.py reads ImageNet data that is not there:',
        '  data/imagenet/train/  (missing)',
        '  data/imagenet/val/    (missing)',
        'How to get it: README.md, section "Real data layout". If it is '
        'elsewhere, add:',
        '  --cfg-options train_dataloader.dataset.data_root=/path/to/'
        'imagenet val_dataloader.dataset.data_root=/path/to/imagenet',
    ]
    write_tiny_imagenet(str(tmp_path / 'data' / 'imagenet'))
    # there now, but with 3 class folders for 1000 ImageNet classes
    message = problems_message(read_config('in1k.py'), 'train')
    assert 'not there' not in message
    assert ('error: in1k.py: data/imagenet/train/ (train_dataloader.dataset.'
            'split) has 3 class folders, but model.head.num_classes=1000.'
            ) in message
    assert ("data/imagenet/train/ (train_dataloader.dataset.split) has 3 "
            "class folders, but ImageNet's default class list "
            '(train_dataloader.dataset.classes unset) has 1000 classes '
            '(mmpretrain stops on this).') in message
    assert problems_message(read_config('in1k.py'), 'test') == ''


def imagenet_cfg(root, head=3, topk=(1, 2), train=None, val=None):
    """A classifier config reading the tiny set at ``root``."""
    common = dict(type='ImageNet', data_root=str(root), classes=CLASSES)
    val_loader = dict(dataset=dict(common, split='val'))
    val_loader['dataset'].update(val or {})
    return Config(dict(
        model=dict(type='ImageClassifier',
                   head=dict(type='LinearClsHead', num_classes=head)),
        train_dataloader=dict(
            dataset=dict(common, split='train', **(train or {}))),
        val_dataloader=val_loader, val_cfg=dict(),
        val_evaluator=dict(type='Accuracy', topk=topk),
        test_dataloader=val_loader,
        test_evaluator=dict(type='Accuracy', topk=topk)),
        cfg_text='# cls.py', filename='cls.py')


@pytest.fixture
def imagenet(tmp_path):
    """The tiny set (train/ class folders, flat val/ with meta/val.txt)."""
    root = tmp_path / 'imagenet'
    write_tiny_imagenet(str(root))
    return root


@pytest.mark.parametrize('stage', ['train', 'test'])
def test_tiny_imagenet_passes(imagenet, stage):
    assert problems_message(imagenet_cfg(imagenet), stage) == ''


def test_flat_folder_without_meta_file_names_it(imagenet):
    (imagenet / 'meta' / 'val.txt').unlink()
    assert problems_message(imagenet_cfg(imagenet), 'test').splitlines() == [
        f'error: cls.py: {imagenet}/val/ (test_dataloader.dataset.split) '
        f'holds no class folders, and there is no annotation file '
        f'{imagenet}/meta/val.txt (which test_dataloader.dataset.split reads '
        'when it exists).',
        f'  Write {imagenet}/meta/val.txt (one "<image path relative to '
        f'{imagenet}/val/> <label>" line per image), put the images in one '
        'folder per class, or name another file: --cfg-options '
        'test_dataloader.dataset.ann_file=/path/to/annotations.txt',
    ]
    cfg = imagenet_cfg(imagenet, val=dict(split='', data_prefix='val'))
    assert problems_message(cfg, 'test').splitlines()[0] == (
        f'error: cls.py: {imagenet}/val/ (test_dataloader.dataset.'
        'data_prefix) holds no class folders, and test_dataloader.dataset.'
        'ann_file is empty.')
    assert problems_message(imagenet_cfg(imagenet, val=dict(
        ann_file=str(imagenet / 'gone.txt'))), 'test') == (
        f'error: cls.py reads ImageNet data that is not there:\n'
        f'  {imagenet}/val/\n'
        f'  {imagenet}/gone.txt  (missing)\n'
        'How to get it: README.md, section "Real data layout". If it is '
        'elsewhere, add:\n'
        '  --cfg-options test_dataloader.dataset.data_root=/path/to/imagenet')
    test_split = imagenet_cfg(imagenet, val=dict(split='test',
                                                 data_prefix='val'))
    assert problems_message(test_split, 'test') == ''  # labels not read


def test_empty_class_folders_are_named(imagenet):
    (imagenet / 'train' / 'grey').mkdir()
    (imagenet / 'train' / 'amber' / 'notes').mkdir(parents=True)
    (imagenet / 'train' / 'amber' / 'notes' / 'readme.txt').write_text('')
    (imagenet / 'train' / 'red' / 'deeper').mkdir()
    message = problems_message(imagenet_cfg(imagenet, head=5), 'train')
    assert message.splitlines()[:2] == [
        f'error: cls.py: 2 of the 5 class folders of {imagenet}/train/ '
        f'(train_dataloader.dataset.split) hold no images: '
        f'{imagenet}/train/amber/, {imagenet}/train/grey/.',
        '  mmpretrain would only warn and keep each as a class without '
        'samples; an empty class folder usually means an incomplete copy. '
        'Add the images (.jpg, .jpeg, .png, .ppm, .bmp, .pgm, .tif) or '
        'remove the folders.',
    ]
    assert 'model.head.num_classes' not in message
    assert (f'{imagenet}/train/ (train_dataloader.dataset.split) has 5 class'
            ' folders, but train_dataloader.dataset.classes has 3 classes'
            ) in message


def test_class_count_must_match_head_and_class_list(imagenet):
    message = problems_message(imagenet_cfg(imagenet, head=4), 'train')
    assert message.splitlines() == [
        f'error: cls.py: {imagenet}/train/ (train_dataloader.dataset.split) '
        'has 3 class folders, but model.head.num_classes=4. Labels are the '
        'indices of the sorted class folders, so the two must agree.',
        '  Point the dataset at the data of this model, or use a config '
        'whose head has 3 classes.',
    ]  # val labels 0..2 are in range for 4 classes
    cfg = imagenet_cfg(imagenet, train=dict(
        metainfo=dict(classes=['a', 'b'])))
    assert (f'{imagenet}/train/ (train_dataloader.dataset.split) has 3 class '
            'folders, but train_dataloader.dataset.metainfo.classes has 2 '
            'classes') in problems_message(cfg, 'train')
    (imagenet / 'names.txt').write_text('a\nb\nc\nd\n')
    cfg = imagenet_cfg(imagenet, train=dict(classes=str(imagenet /
                                                        'names.txt')))
    assert (f'but train_dataloader.dataset.classes ({imagenet}/names.txt) '
            'has 4 classes') in problems_message(cfg, 'train')


def test_annotation_lines_are_checked(imagenet):
    ann = imagenet / 'meta' / 'val.txt'
    lines = ann.read_text().splitlines()
    lines[1] = 'val_1.png 3'
    lines[4] = 'val_4.png -1'
    lines[6] = 'val_6.png'
    ann.write_text('\n'.join(lines) + '\n\n')
    message = problems_message(imagenet_cfg(imagenet), 'test')
    assert message.splitlines() == [
        f"error: cls.py: {ann} (test_dataloader.dataset.split) line 7: "
        "'val_6.png' is not \"<image path> <label>\" (an integer label "
        'after the last space); 2 of its 13 lines are like this.',
        f'error: cls.py: {ann} (test_dataloader.dataset.split) line 2: '
        'label 3 is outside 0..2 (model.head.num_classes=3); 2 of its 13 '
        'lines are.',
    ]
    cfg = imagenet_cfg(imagenet, val=dict(ann_file='meta/val.txt'))
    assert f'{ann} (test_dataloader.dataset.ann_file) line 2: label 3' in \
        problems_message(cfg, 'test')
    ann.write_text('')
    assert problems_message(imagenet_cfg(imagenet), 'test') == (
        f'error: cls.py: {ann} (test_dataloader.dataset.split) is empty; it '
        'should hold one "<image path> <label>" line per image.')


def test_topk_above_the_number_of_classes(imagenet):
    cfg = imagenet_cfg(imagenet, topk=(1, 5))
    assert problems_message(cfg, 'test').splitlines() == [
        'error: cls.py: test_evaluator.topk=(1, 5) asks for top-5 accuracy, '
        "but model.head.num_classes=3 (mmpretrain's Accuracy fails on it "
        'after the whole run).',
        '  --cfg-options test_evaluator.topk=1',
    ]
    assert 'val_evaluator.topk=(1, 5)' in problems_message(cfg, 'train')
    cfg.test_evaluator = [dict(type='Accuracy', topk=4),
                          dict(type='SingleLabelMetric')]
    assert '  --cfg-options test_evaluator.0.topk=1' in problems_message(
        cfg, 'test')


def test_custom_dataset_prefix_forms(imagenet):
    folder = dict(type='mmpretrain.CustomDataset', data_root=str(imagenet),
                  data_prefix='train')
    source = folder_source('d', folder)
    assert (source.folder, source.folder_key, source.ann_file,
            source.classes) == (f'{imagenet}/train', 'd.data_prefix', '',
                                None)
    assert [(p.field, p.path) for p in dataset_paths('d', folder)] == [
        ('data_prefix', f'{imagenet}/train')]
    listed = dict(folder, data_prefix=dict(img_path='val'),
                  ann_file='meta/val.txt', split='ignored')
    source = folder_source('d', listed)
    assert (source.folder, source.folder_key, source.ann_file,
            source.ann_key) == (f'{imagenet}/val', 'd.data_prefix.img_path',
                                f'{imagenet}/meta/val.txt', 'd.ann_file')
    assert folder_source('d', dict(type='CocoDataset')) is None
    other = dict(type='X', data_root='r', data_prefix='imgs')
    assert [(p.field, p.path) for p in dataset_paths('d', other)] == [
        ('data_prefix', 'r/imgs')]


# --- checkpoints of another architecture -----------------------------------

class Tiny(torch.nn.Module):
    """A backbone, a head and (optionally) an auxiliary head."""

    def __init__(self, classes=3, auxiliary=False):
        super().__init__()
        self.backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3),
                                            torch.nn.BatchNorm2d(4))
        self.head = torch.nn.Linear(4, classes)
        if auxiliary:
            self.auxiliary_head = torch.nn.Linear(4, classes)


def fit(tmp_path, model, state, **extra):
    path = tmp_path / 'w.pth'
    torch.save(dict(state_dict=state, meta=dict(iter=1), **extra), path)
    return checkpoint_fit_message(model, str(path), 'c.py')


def test_checkpoint_that_fits_passes(tmp_path):
    model = Tiny()
    state = model.state_dict()
    assert fit(tmp_path, model, state) == ''
    extra = {f'module.{key}': value for key, value in state.items()
             if 'num_batches_tracked' not in key}
    extra.update({'data_preprocessor.mean': torch.zeros(3, 1, 1),
                  'ema_backbone_0_weight': torch.zeros(4, 3, 3, 3),
                  'auxiliary_head.weight': torch.zeros(3, 4)})
    assert fit(tmp_path, model, extra,
               ema_state_dict=dict(steps=torch.tensor(1))) == ''
    state = Tiny(auxiliary=True).state_dict()  # trained with one
    assert fit(tmp_path, model, state) == ''
    assert fit(tmp_path, Tiny(auxiliary=True), model.state_dict()) == ''


def test_checkpoint_of_another_architecture_is_described(tmp_path):
    model = Tiny()
    state = Tiny(classes=5).state_dict()
    assert fit(tmp_path, model, state).splitlines() == [
        f'error: {tmp_path}/w.pth does not fit the model of c.py:',
        '  2 shapes differ: head.weight: checkpoint (5, 4) vs model (3, 4),'
        ' head.bias: checkpoint (5,) vs model (3,)',
        'Testing it would leave those weights random. Test it with the '
        'config it was trained with (or converted for).',
    ]
    backbone_only = {key: value for key, value in state.items()
                     if key.startswith('backbone.')}
    backbone_only['fc.weight'] = torch.zeros(3, 4)
    assert fit(tmp_path, model, backbone_only).splitlines()[1:4] == [
        '  2 of 8 model keys missing: head.weight, head.bias',
        '  1 checkpoint keys the model does not have: fc.weight',
        '  It holds no head weights at all: a backbone-only checkpoint? '
        '(tools/model_converters/ add the neck and head with --with-head.)',
    ]
    renamed = {f'net.{key}': value for key, value in state.items()}
    message = fit(tmp_path, model, renamed)
    assert ('  8 of 8 model keys missing: backbone.0.weight, backbone.0.bias,'
            ' backbone.1.weight and 5 more') in message
    assert '  9 checkpoint keys the model does not have: net.backbone.0.' \
        'weight, net.backbone.0.bias, net.backbone.1.weight and 6 more' \
        in message
    assert 'backbone-only' not in message


def test_checkpoint_fit_uses_the_safe_loader(tmp_path):
    path = tmp_path / 'odd.pth'
    torch.save(dict(state_dict=Tiny().state_dict(), meta=Tiny()), path)
    with pytest.raises(UntrustedCheckpointError, match='--trust-checkpoint'):
        checkpoint_fit_message(Tiny(), str(path), 'c.py')


# --- Pretrained init checkpoints at train time ------------------------------

class Stages(BaseModule):
    """A backbone of ``depth`` numbered blocks, ``extra`` adding a module
    that a plain checkpoint has no counterpart of (a GC block)."""

    def __init__(self, depth=2, width=4, extra=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.layer1 = torch.nn.Sequential(*[
            torch.nn.Conv2d(width, width, 1) for _ in range(depth)])
        if extra:
            self.context = torch.nn.Linear(width, width)


class Detector(torch.nn.Module):
    def __init__(self, **backbone):
        super().__init__()
        self.backbone = Stages(**backbone)
        self.head = torch.nn.Linear(4, 2)


def init_fit(tmp_path, classifier, prefix='backbone.', **backbone):
    """init_fit_message for a Detector whose backbone starts from the
    ``classifier``'s checkpoint (backbone.* and head.* keys)."""
    path = tmp_path / 'cls.pth'
    state = {f'backbone.{key}': value
             for key, value in classifier.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(5, 4)
    torch.save(dict(state_dict=state), path)
    init = dict(type='Pretrained', checkpoint=str(path), prefix=prefix)
    return init_fit_message(Detector(init_cfg=init, **backbone), 'det.py')


def test_pretrained_init_that_fits_or_adds_modules_passes(tmp_path):
    assert init_fit(tmp_path, Stages()) == ''
    # new modules (GC blocks on a pretrained backbone) start on their own
    assert init_fit(tmp_path, Stages(), extra=True) == ''
    # a remote or absent checkpoint is for the earlier reachability check
    model = Detector(init_cfg=dict(type='Pretrained',
                                   checkpoint='torchvision://resnet50'))
    assert init_fit_message(model, 'det.py') == ''


def test_pretrained_init_of_another_depth_width_or_prefix_stops(tmp_path):
    path = tmp_path / 'cls.pth'
    deeper = init_fit(tmp_path, Stages(depth=2), depth=3).splitlines()
    assert deeper[0] == (f'error: {path} (model.backbone.init_cfg, '
                         "prefix='backbone.') does not fit the Stages of "
                         'det.py:')
    assert deeper[1] == ('  2 of 6 module keys missing where the checkpoint '
                         'has the same kind at other indices: '
                         'layer1.2.weight, layer1.2.bias')
    assert 'tools/model_converters/resize_rel_tables.py' in deeper[-1]
    wider = init_fit(tmp_path, Stages(width=8))
    assert ('4 shapes differ: layer1.0.weight: checkpoint (8, 8, 1, 1) vs '
            'model (4, 4, 1, 1)') in wider
    unprefixed = init_fit(tmp_path, Stages(), prefix=None).splitlines()
    assert unprefixed[0].endswith('(model.backbone.init_cfg) does not fit '
                                  'the Stages of det.py:')
    assert unprefixed[1:3] == [
        '  none of its 5 tensors matches a key of the module',
        '  its keys start with: backbone., head.']


def test_train_stops_on_a_pretrained_init_that_does_not_fit(tmp_path):
    path = tmp_path / 'cls.pth'
    torch.save(dict(state_dict={'backbone.layer1.0.weight':
                                torch.zeros(8, 8, 1, 1)}), path)
    with pytest.raises(SystemExit) as exit_info:
        check_init_fits(Detector(init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.')),
                        'det.py')
    assert exit_info.value.code == 2
