"""``make demo`` / ``make demo-seg`` at test scale: tools/demo.sh writes the
data, trains, evaluates and draws its three pictures."""
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
