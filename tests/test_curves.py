"""tools/analysis/plot_curves.py on small scalars.json files written here:
the series it reads (iteration-based and epoch-based logging), the PNG and
the lines it draws, and its errors."""
import importlib.util
import json
import os.path as osp

import matplotlib.image
import pytest

from mmctx.analysis.curves import (SUBPLOT_SIZE, DPI, extract_series,
                                   read_scalars, run_names)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ITER_RUN = [
    dict(lr=0.01, loss=2.0, loss_cls=1.2, time=0.5, data_time=0.1, iter=10,
         memory=0, step=10),
    dict(lr=0.01, loss=1.5, loss_cls=0.9, time=0.4, data_time=0.1, iter=20,
         memory=0, step=20),
    {'coco/bbox_mAP': 0.3, 'coco/bbox_mAP_copypaste': '0.300 0.5',
     'data_time': 0.02, 'time': 0.2, 'step': 20},
    dict(lr=0.001, loss=1.0, loss_cls=0.5, time=0.3, data_time=0.1, iter=30,
         memory=0, step=30),
    {'coco/bbox_mAP': 0.4, 'data_time': 0.02, 'time': 0.2, 'step': 30},
]
EPOCH_RUN = [
    dict(lr=0.02, loss=3.0, epoch=1, iter=5, step=5),
    dict(lr=0.02, loss=2.5, epoch=1, iter=10, step=10),
    {'coco/bbox_mAP': 0.1, 'step': 1},
    dict(lr=0.02, loss=2.0, epoch=2, iter=15, step=15),
    dict(lr=0.02, loss=1.8, epoch=2, iter=20, step=20),
    {'coco/bbox_mAP': 0.2, 'step': 2},
]


def write_run(root, work_dir, records, stamp='20260101_000000'):
    folder = root / work_dir / stamp / 'vis_data'
    folder.mkdir(parents=True)
    path = folder / 'scalars.json'
    path.write_text('\n'.join(json.dumps(r) for r in records) + '\n\n')
    return str(path)


@pytest.fixture(scope='module')
def tool():
    path = osp.join(ROOT, 'tools', 'analysis', 'plot_curves.py')
    spec = importlib.util.spec_from_file_location('plot_curves', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_series(tmp_path):
    records = read_scalars(write_run(tmp_path, 'a', ITER_RUN))
    assert records == ITER_RUN
    assert extract_series(records, 'loss') == ([10, 20, 30], [2.0, 1.5, 1.0])
    assert extract_series(records, 'coco/bbox_mAP') == ([20, 30], [0.3, 0.4])
    # logged by training lines: the evaluation lines' averages are ignored
    assert extract_series(records, 'time') == ([10, 20, 30], [0.5, 0.4, 0.3])
    assert extract_series(records, 'mIoU') == ([], [])
    # epoch-based logging: a metric's step is an epoch, placed at the last
    # iteration logged before it
    assert extract_series(EPOCH_RUN, 'coco/bbox_mAP') == ([10, 20],
                                                          [0.1, 0.2])
    # LoggerHook's default log_metric_by_epoch=True in an iteration-based
    # loop logs metrics at step 0 (the loop's epoch never advances)
    by_epoch_default = [dict(r, step=0) if 'iter' not in r else r
                        for r in ITER_RUN]
    assert extract_series(by_epoch_default, 'coco/bbox_mAP') == ([20, 30],
                                                                 [0.3, 0.4])
    assert extract_series([{'mIoU': 0.5, 'step': 7}], 'mIoU') == ([7], [0.5])
    assert extract_series(EPOCH_RUN, 'loss') == ([5, 10, 15, 20],
                                                 [3.0, 2.5, 2.0, 1.8])


def test_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / 'scalars.json'
    path.write_text('{"loss": 1, "iter": 1, "step": 1}\n{"loss": \n')
    with pytest.raises(ValueError, match=rf'{path}:2: not JSON'):
        read_scalars(str(path))


def test_run_names(tmp_path):
    paths = [
        write_run(tmp_path, 'gc', ITER_RUN),
        write_run(tmp_path, 'base', ITER_RUN, '20260101_000000'),
        write_run(tmp_path, 'base', ITER_RUN, '20260102_000000'),
    ]
    assert run_names(paths) == [
        'gc', 'base/20260101_000000', 'base/20260102_000000'
    ]


def test_plot(tmp_path, tool, capsys):
    paths = [write_run(tmp_path, 'gc', ITER_RUN),
             write_run(tmp_path, 'base', EPOCH_RUN)]
    out = tmp_path / 'figs' / 'curves.png'
    fig = tool.main(paths + ['--keys', 'loss', 'coco/bbox_mAP', '--out',
                             str(out)])
    assert capsys.readouterr().out.strip() == str(out)
    loss, metric = fig.axes
    assert [ax.get_ylabel() for ax in fig.axes] == ['loss', 'coco/bbox_mAP']
    drawn = [[(line.get_label(), list(line.get_xdata()),
               list(line.get_ydata()), line.get_marker()) for line in ax.lines]
             for ax in fig.axes]
    assert drawn == [
        [('gc', [10, 20, 30], [2.0, 1.5, 1.0], 'None'),
         ('base', [5, 10, 15, 20], [3.0, 2.5, 2.0, 1.8], 'None')],
        [('gc', [20, 30], [0.3, 0.4], 'o'), ('base', [10, 20], [0.1, 0.2],
                                             'o')],
    ]
    image = matplotlib.image.imread(str(out))
    width, height = SUBPLOT_SIZE
    assert image.shape[:2] == (round(2 * height * DPI), round(width * DPI))


def test_single_point_gets_a_marker(tmp_path, tool):
    path = write_run(tmp_path, 'one', ITER_RUN[:1])
    fig = tool.main([path, '--out', str(tmp_path / 'c.png')])
    (line, ), = [ax.lines for ax in fig.axes]
    assert line.get_marker() == 'o'


def test_unknown_key_lists_logged_keys(tmp_path, tool, capsys):
    path = write_run(tmp_path, 'gc', ITER_RUN)
    with pytest.raises(SystemExit) as exit_info:
        tool.main([path, '--keys', 'loss', 'mIoU', '--out',
                   str(tmp_path / 'c.png')])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert ("--keys: no run logs 'mIoU'; logged keys: coco/bbox_mAP, "
            'data_time, loss, loss_cls, lr, memory, time') in error
    assert not (tmp_path / 'c.png').exists()
