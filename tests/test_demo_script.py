"""``make demo`` / ``make demo-seg`` / ``make demo-cls`` at test scale:
tools/demo.sh writes the data, trains, evaluates and draws its pictures
(cls: after the classifier, the detector fine-tuned from it)."""
import os
import os.path as osp
import sys

import cv2
import pytest

from conftest import ROOT, run_tool

#: Tiny data and two training steps instead of the demo's schedule.
DATA_ARGS = '--num-train 8 --num-val 4 --size 128 160'
TRAIN_ARGS = ('--cfg-options train_cfg.max_iters=2 train_cfg.val_interval=2 '
              'default_hooks.checkpoint.interval=2 '
              'default_hooks.logger.interval=1 log_processor.window_size=1')


@pytest.mark.parametrize('kind,table', [('det', 'Average Precision'),
                                        ('seg', 'mIoU')])
def test_demo_script_trains_evaluates_and_draws(tmp_path, kind, table):
    env = dict(os.environ, PYTHON=sys.executable, DEMO_DATA_ARGS=DATA_ARGS,
               DEMO_ARGS=TRAIN_ARGS, WORK_DIR=str(tmp_path / 'work'))
    output = run_tool(tmp_path, 'bash', osp.join(ROOT, 'tools', 'demo.sh'),
                      kind, env=env)
    assert table in output
    pictures = tmp_path / 'work' / 'pictures'
    drawn = [p for p in (pictures / 'predictions').rglob('*.*')
             if p.suffix in ('.jpg', '.png')]
    assert len(drawn) == 4  # one per val image
    maps = list((pictures / 'attention').glob('*.png'))
    assert [p.name for p in maps] == ['backbone.layer4.2.context_block.png'] \
        or (maps and all('layer4.2' in p.name for p in maps))
    curves = cv2.imread(str(pictures / 'curves.png'))
    assert curves is not None and curves.std() > 0  # a drawn, non-blank plot
    for line in ('predictions drawn on the val images', 'GC attention map',
                 'training loss and'):
        assert line in output


def test_demo_script_cls_pretrains_then_fine_tunes_a_detector(tmp_path):
    """``make demo-cls``: classifier top-1, its tables resized, a detector
    fine-tuned from its backbone, AP, and the pictures."""
    short = ('default_hooks.checkpoint.interval=2 '
             'default_hooks.logger.interval=1 log_processor.window_size=1')
    env = dict(
        os.environ, PYTHON=sys.executable, WORK_DIR=str(tmp_path / 'work'),
        DEMO_DATA_ARGS='--num-train 10 --num-val 10 --size 64 64',
        DEMO_ARGS=('--cfg-options train_cfg.max_iters=2 '
                   'train_cfg.val_interval=2 train_dataloader.batch_size=5 '
                   + short),
        FINETUNE_ARGS=('train_cfg.max_iters=2 train_cfg.val_interval=2 '
                       + short))
    output = run_tool(tmp_path, 'bash', osp.join(ROOT, 'tools', 'demo.sh'),
                      'cls', env=env)
    for line in ('accuracy/top1', 'accuracy/top2',
                 'backbone.layer4.0.conv2.rel_h: 27 -> 167 rows',
                 'backbone.layer4.0.conv2.rel_h: 7 of 167 rows trained',
                 'load backbone. in model from: ', 'Average Precision',
                 'true and predicted classes on val images',
                 'BoTNet tables resized from 64x64 inputs',
                 'its MHSA attention (backbone.layer4.0.conv2)'):
        assert line in output, line
    work = tmp_path / 'work'
    assert (work / 'backbone_rel_tables.pth').is_file()
    assert (work / 'detection' / 'iter_2.pth').is_file()
    pictures = work / 'pictures'
    # every 10th val image with its true and predicted class
    assert len(list((pictures / 'classes').glob('*.png'))) == 1
    drawn = [p for p in (pictures / 'detections').rglob('*.*')
             if p.suffix in ('.jpg', '.png')]
    assert len(drawn) == 10  # one per val image
    maps = list((pictures / 'attention').glob('*.png'))
    assert maps and all('layer4.0.conv2' in p.name for p in maps)
    curves = cv2.imread(str(pictures / 'curves.png'))
    assert curves is not None and curves.std() > 0
