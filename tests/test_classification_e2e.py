"""End-to-end classification: a tiny ImageNet-layout folder (class folders
for train/, flat val/ with meta/val.txt), tools/train.py, then
tools/test.py, whose printed top-1 must equal the one counted here; and
the tools' clear stops for a checkpoint of another architecture, a missing
meta/val.txt and an empty class folder."""
import os
import os.path as osp
import pickle
import re
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import MODELS, init_default_scope

from mmctx.compat import load_local_checkpoint
from conftest import ROOT
from imagenet_folder import write_config, write_tiny_imagenet

ITERS = 9
ENV = dict(os.environ, OMP_NUM_THREADS='1')


def tool(cwd, name, *args):
    """Run tools/NAME in ``cwd``; return its exit status and output."""
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', name), *args], cwd=cwd,
        env=ENV, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The set, its config and the checkpoint tools/train.py saved."""
    root = tmp_path_factory.mktemp('cls')
    samples = write_tiny_imagenet(str(root / 'data' / 'imagenet'))
    config = write_config(str(root / 'cls.py'), 'data/imagenet', ITERS)
    status, output = tool(root, 'train.py', config, '--work-dir',
                          str(root / 'work'))
    assert status == 0, output[-6000:]
    checkpoint = root / 'work' / f'iter_{ITERS}.pth'
    assert checkpoint.exists(), output[-3000:]
    return root, config, str(checkpoint), samples


def count_top1(config, checkpoint, image_dir, samples):
    """Top-1 (percent) of ``checkpoint`` on ``samples``, counted without
    mmengine's runner, dataset or metric: the config's model loaded
    strictly, its test pipeline and data preprocessor, argmax vs label."""
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    state = load_local_checkpoint(checkpoint, 'cpu')['state_dict']
    model.load_state_dict(state, strict=True)
    model.eval()
    pipeline = Compose(cfg.test_pipeline)
    packed = [pipeline(dict(img_path=osp.join(image_dir, path)))
              for path, _ in samples]
    batch = model.data_preprocessor(
        dict(inputs=[item['inputs'] for item in packed],
             data_samples=[item['data_samples'] for item in packed]), False)
    with torch.no_grad():
        predicted = model(batch['inputs'], mode='tensor').argmax(dim=1)
    labels = torch.tensor([label for _, label in samples])
    return 100.0 * (predicted == labels).sum().item() / len(samples)


def test_printed_top1_equals_the_counted_one(trained):
    root, config, checkpoint, samples = trained
    status, output = tool(root, 'test.py', config, checkpoint, '--work-dir',
                          str(root / 'test'), '--out', str(root / 'p.pkl'),
                          '--show-dir', str(root / 'vis'))
    assert status == 0, output[-6000:]
    assert re.search(r'accuracy/top1 +\d', output)  # the metrics table
    found = re.search(r'^top-1 (\d+\.\d\d)  top-2 (\d+\.\d\d)$', output,
                      re.MULTILINE)
    assert found, output[-3000:]
    top1 = count_top1(config, checkpoint,
                      str(root / 'data' / 'imagenet' / 'val'), samples)
    assert found.group(1) == f'{top1:.2f}'
    assert top1 > 50  # twelve images of three colours: it learned
    assert float(found.group(2)) >= top1
    with open(root / 'p.pkl', 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == len(samples)
    assert [int(item['gt_label']) for item in predictions] == \
        [label for _, label in samples]
    assert len(list((root / 'vis').glob('val_*.png'))) == len(samples)


def test_checkpoint_of_another_architecture_stops(trained):
    root, config, _, _ = trained
    cfg = Config.fromfile(config)
    cfg.model.backbone.plugins = None  # no GC blocks
    cfg.model.head.num_classes = 5
    init_default_scope('mmpretrain')
    other = root / 'other.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), other)
    status, output = tool(root, 'test.py', config, str(other), '--work-dir',
                          str(root / 'other'))
    assert status == 2, output[-3000:]
    assert 'Traceback' not in output
    assert f'error: {other} does not fit the model of {config}:' in output
    assert re.search(r'  48 of \d+ model keys missing: backbone\.layer2\.0\.'
                     r'context_block\.', output)
    assert ('2 shapes differ: head.fc.weight: checkpoint (5, 128) vs model '
            '(3, 128), head.fc.bias: checkpoint (5,) vs model (3,)') in output
    assert 'accuracy/top1' not in output


def copy_data(trained, name):
    """A copy of the set and a config reading it."""
    root = trained[0]
    data = root / name
    shutil.copytree(root / 'data' / 'imagenet', data)
    config = write_config(str(root / f'{name}.py'), str(data), ITERS)
    return root, data, config


def test_missing_meta_val_txt_is_named(trained):
    root, data, config = copy_data(trained, 'no_meta')
    (data / 'meta' / 'val.txt').unlink()
    status, output = tool(root, 'test.py', config, trained[2])
    assert status == 2, output[-3000:]
    assert 'Traceback' not in output
    assert (f'error: {config}: {data}/val/ (test_dataloader.dataset.split) '
            f'holds no class folders, and there is no annotation file '
            f'{data}/meta/val.txt') in output


def test_empty_class_folder_is_named(trained):
    root, data, config = copy_data(trained, 'empty_class')
    (data / 'train' / 'grey').mkdir()
    status, output = tool(root, 'train.py', config, '--work-dir',
                          str(root / 'never'))
    assert status == 2, output[-3000:]
    assert 'Traceback' not in output
    assert (f'1 of the 4 class folders of {data}/train/ '
            '(train_dataloader.dataset.split) hold no images: '
            f'{data}/train/grey/.') in output
    assert (f'{data}/train/ (train_dataloader.dataset.split) has 4 class '
            'folders, but model.head.num_classes=3') in output
    assert not (root / 'never').exists()
