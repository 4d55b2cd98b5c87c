"""tools/analysis/complexity.py's classification table and
mmctx.analysis.config_complexity on mmpretrain configs."""
import importlib.util
import os.path as osp

import pytest
import torch

from mmctx.analysis.complexity import count
from mmctx.analysis.config_complexity import (classifier_complexity,
                                              config_complexity)
from mmctx.analysis.inference import load_config
from mmctx.converters import build_classifier
from conftest import ROOT

CLASSIFICATION = osp.join(ROOT, 'configs', 'classification')
SMALL = 'resnet50-nl-c4_8xb32_in1k'


@pytest.fixture(scope='module')
def tool():
    """tools/analysis/complexity.py as a module."""
    path = osp.join(ROOT, 'tools', 'analysis', 'complexity.py')
    spec = importlib.util.spec_from_file_location('tool_complexity', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_config(tmp_path, crop):
    """The NL-ResNet-50 classification config tested at ``crop``."""
    path = tmp_path / f'nl_{crop}.py'
    path.write_text(
        f"_base_ = {osp.join(CLASSIFICATION, SMALL + '.py')!r}\n"
        "test_dataloader = dict(dataset=dict(pipeline=[\n"
        "    dict(type='LoadImageFromFile'),\n"
        f"    dict(type='CenterCrop', crop_size={crop}),\n"
        "    dict(type='PackInputs')]))\n")
    return str(path)


def test_every_classification_config_has_paper_figures_entry(tool):
    figures = tool.paper_figures()
    names = {osp.splitext(osp.basename(p))[0]
             for p in tool.classification_configs()}
    assert set(figures) == names
    assert figures['cotnet50_8xb80_in1k'] == (22.2e6, 3.3e9)
    assert figures['resnet50-nl-c4_8xb32_in1k'] == (None, None)


def test_paper_figures_errors_name_the_model(tool, tmp_path):
    bad = tmp_path / 'metafile.yml'
    bad.write_text('Models:\n  - Name: x\n    Metadata: {}\n')
    with pytest.raises(ValueError, match="'x' has no Config"):
        tool.paper_figures(str(bad))
    bad.write_text('Collections: []\n')
    with pytest.raises(ValueError, match='no Models list'):
        tool.paper_figures(str(bad))


def test_full_scale_configs_leave_out_classification_and_demo(tool):
    paths = tool.full_scale_configs()
    folders = {osp.basename(osp.dirname(p)) for p in paths}
    assert folders and not folders & {'classification', 'demo'}
    assert len(tool.classification_configs()) == 17


def test_classifier_counted_at_the_test_crop(tmp_path):
    cfg = load_config(small_config(tmp_path, 64))
    counts = classifier_complexity(cfg)
    model = build_classifier(cfg.model)
    params, flops = count(model.backbone, (torch.randn(1, 3, 64, 64), ))
    assert (counts.backbone_params, counts.backbone_flops) == (params, flops)
    # neck and head: global average pooling of the 2x2 c5 map (one add per
    # input element, fvcore's count) and the 2048 -> 1000 linear layer
    assert counts.flops == flops + 2048 * 2 * 2 + 2048 * 1000
    assert counts.params == params + 2048 * 1000 + 1000
    assert config_complexity(cfg, (64, 64)) == counts
    bigger = classifier_complexity(cfg, (96, 96))
    assert bigger.flops > counts.flops and bigger.params == counts.params


def test_classifier_complexity_needs_an_mmpretrain_config():
    cfg = load_config(osp.join(ROOT, 'configs', 'gcnet',
                               'mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py'))
    with pytest.raises(ValueError, match="default_scope='mmdet'"):
        classifier_complexity(cfg)


def test_rows_give_ours_paper_and_ratio(tool, tmp_path):
    path = small_config(tmp_path, 64)
    name = osp.splitext(osp.basename(path))[0]
    cfg = load_config(path)
    counts = classifier_complexity(cfg)
    papers = {name: (counts.params / 2, None)}
    (row, ) = tool.classification_rows([path], papers)
    cells = [cell.strip() for cell in row.strip('|').split('|')]
    assert cells[:2] == [name, '64x64']
    assert float(cells[2]) == pytest.approx(counts.params / 1e6, abs=0.005)
    assert float(cells[3]) == pytest.approx(counts.params / 2e6, rel=1e-5)
    assert cells[4] == '2.000'
    assert float(cells[5]) == pytest.approx(counts.flops / 1e9, abs=0.005)
    assert cells[6:] == ['-', '-']


def test_rows_refuse_a_detection_config(tool):
    path = osp.join(ROOT, 'configs', 'gcnet',
                    'mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py')
    with pytest.raises(ValueError, match='not a classification config'):
        list(tool.classification_rows([path], {}))


def test_main_prints_the_classification_table(tool, capsys):
    text = tool.main(['--classification', SMALL])
    assert text == capsys.readouterr().out.rstrip('\n')
    lines = text.splitlines()
    (row, ) = [line for line in lines if SMALL in line]
    assert row.startswith(f'| {SMALL} | 224x224 | ')
    assert '| paper params (M) |' in lines[2]
    with pytest.raises(SystemExit):
        tool.main(['--classification', 'no-such-config'])
