"""The analysis tools: attention-map figures, GCNet's query-independence
statistics and the complexity table, on demo-config models (constructed
weights, attention blocks randomised), on a tiny classification-config
model, and on blocks with known answers."""
import csv
import importlib.util
import math
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from matplotlib.axes import Axes
from mmengine.config import Config
from torch import nn

from mmctx.analysis.attention_vis import (CHANNEL_FIGURE, InputGeometry,
                                          heatmap_figure_size, render)
from mmctx.analysis.inference import (build_model, classifier_input_hw,
                                      load_config)
from mmctx.analysis.query_independence import (attention_distance,
                                               feature_distance,
                                               mean_pair_cosine_distance,
                                               measure)
from mmctx.datasets import write_ade_semantic, write_coco_instances
from mmctx.models import CoTLayer, GCBlock, MHSA, NonLocalBlock, SEBlock
from mmctx.models.attention import (AttentionMap, AttentionSource,
                                    attention_sources, capture_attention)
from mmctx.registry import MODELS

from conftest import randomize_

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'configs', 'demo')
GC_BOT_MASK_RCNN = osp.join(DEMO, 'mask_rcnn_gc_bot_r50_fpn_demo.py')
COT_UPERNET = osp.join(DEMO, 'upernet_cot_r50_ade20k_demo.py')
PATCHCONVNET_S60 = osp.join(ROOT, 'configs', 'classification',
                            'patchconvnet-s60_32xb64_in1k.py')
IMAGE_HW = (96, 128)
NO_WORKERS = [
    '--cfg-options', 'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False'
]


def load_tool(name: str):
    """Import tools/analysis/NAME.py as a module."""
    path = osp.join(ROOT, 'tools', 'analysis', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def brute_force_distance(vectors: torch.Tensor) -> float:
    """O(n^2) reference with the zero-vector convention of the module."""
    zero = vectors.norm(dim=1) == 0
    unit = torch.nn.functional.normalize(vectors.double(), dim=1)
    cos = unit @ unit.T
    cos[zero[:, None] & zero[None, :]] = 1.0
    n = len(vectors)
    off_diagonal = cos[~torch.eye(n, dtype=torch.bool)]
    return float(((1 - off_diagonal) / 2).mean())


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """Tiny demo data where the demo configs look for it."""
    root = tmp_path_factory.mktemp('analysis')
    tiny = dict(num_train=1, num_val=2, size=IMAGE_HW, seed=5)
    write_coco_instances(str(root / 'data/demo/coco'), **tiny)
    write_ade_semantic(str(root / 'data/demo/ade'), **tiny)
    return root


def save_checkpoint(config: str, path) -> str:
    """A checkpoint of ``config``'s model with its attention blocks
    randomised (their zero-initialised branches would give 0 outputs)."""
    torch.manual_seed(0)
    model = build_model(load_config(config))
    for module in attention_sources(model).values():
        randomize_(module)
    torch.save({'state_dict': model.state_dict()}, path)
    return str(path)


@pytest.fixture(scope='module')
def gc_bot_checkpoint(workspace):
    return save_checkpoint(GC_BOT_MASK_RCNN, workspace / 'gc_bot.pth')


# statistics with known answers


def test_mean_pair_cosine_distance_known_values():
    v = torch.randn(8)
    assert mean_pair_cosine_distance(v.repeat(5, 1)) == pytest.approx(0)
    assert mean_pair_cosine_distance(torch.eye(6)) == pytest.approx(0.5)
    assert mean_pair_cosine_distance(torch.stack([v, -v])) == pytest.approx(1)
    assert mean_pair_cosine_distance(torch.zeros(4, 3)) == 0
    assert mean_pair_cosine_distance(v[None]) == 0


def test_mean_pair_cosine_distance_matches_brute_force():
    vectors = torch.randn(9, 5)
    vectors[[2, 6]] = 0
    assert mean_pair_cosine_distance(vectors) == pytest.approx(
        brute_force_distance(vectors), abs=1e-9)


def test_feature_and_attention_distance_shapes():
    feature = torch.randn(16, 3, 5)
    assert feature_distance(feature) == pytest.approx(
        brute_force_distance(feature.flatten(1).T), abs=1e-9)
    assert attention_distance(torch.rand(4, 1, 30)) == 0  # global map
    rows = torch.rand(2, 1, 12).softmax(-1).expand(2, 7, 12)
    assert attention_distance(rows) == pytest.approx(0, abs=1e-12)
    with pytest.raises(ValueError, match='heads, Q, K'):
        attention_distance(torch.rand(7, 12))


def run_measure(model: nn.Module, x: torch.Tensor):
    return measure(model, [x], lambda m, batch: m(batch))


def test_gc_block_is_query_independent_by_construction():
    model = nn.Sequential(randomize_(GCBlock(32, ratio=1 / 4)))
    rows, notes = run_measure(model, torch.randn(2, 32, 6, 7))
    (row, ) = rows
    assert (row.name, row.type, row.images) == ('0', 'GCBlock', 2)
    assert row.attention == 0 and 'global map' in notes[0]
    assert row.output == pytest.approx(0, abs=1e-6)  # broadcast context
    assert 0.4 < row.input < 0.6

    same_everywhere = torch.randn(1, 32, 1, 1).expand(1, 32, 5, 5)
    rows, _ = run_measure(model, same_everywhere.contiguous())
    assert rows[0].input == pytest.approx(0, abs=1e-9)


def test_non_local_with_zeroed_query_key_gives_identical_rows():
    block = randomize_(NonLocalBlock(16, reduction=2))
    with torch.no_grad():
        for projection in (block.theta, block.phi):
            projection.conv.weight.zero_()
            projection.conv.bias.zero_()
    orthogonal = torch.eye(16).reshape(1, 16, 4, 4)  # one-hot positions
    rows, notes = run_measure(nn.Sequential(block), orthogonal)
    (row, ) = rows
    assert row.input == pytest.approx(0.5)
    assert row.attention == pytest.approx(0, abs=1e-9)  # uniform rows
    assert row.output == pytest.approx(0, abs=1e-6)  # one pooled value
    assert notes == []


def test_mixer_output_is_its_own_branch_and_other_kinds_are_skipped():
    model = nn.Sequential(
        MHSA(16, 16, heads=2, max_size=6), randomize_(SEBlock(16, ratio=4)),
        CoTLayer(16, 16))
    rows, notes = run_measure(model.eval(), torch.randn(2, 16, 6, 6))
    (row, ) = rows
    assert row.type == 'MHSA' and not MHSA.adds_input
    for value in (row.input, row.output, row.attention):
        assert 0 < value < 1
    assert any("'channel' attention" in note for note in notes)
    assert any("'local' attention" in note for note in notes)


#: A small instance of every registered attention block, by type.
EVERY_BLOCK = {
    'GCBlock': dict(in_channels=32),
    'NonLocalBlock': dict(in_channels=32),
    'SimplifiedNonLocalBlock': dict(in_channels=32),
    'SEBlock': dict(in_channels=32, ratio=4),
    'MHSA': dict(in_channels=32, out_channels=32, max_size=8),
    'CoTLayer': dict(in_channels=32, out_channels=32),
    'CoXtLayer': dict(in_channels=32, out_channels=32),
    'AntiAliasedCoTLayer': dict(in_channels=32, out_channels=32),
    'SEConv': dict(in_channels=32, out_channels=32),
    'AAConv': dict(in_channels=32, out_channels=32, heads=4, max_size=8),
    'AttentionPool': dict(in_channels=32),
    'AttentionPoolNeck': dict(in_channels=32),
}


def test_every_registered_block_goes_through_the_shared_mechanism(tmp_path):
    registered = {
        name
        for name, cls in MODELS.module_dict.items()
        if isinstance(cls, type) and issubclass(cls, AttentionSource)
    }
    assert registered == set(EVERY_BLOCK), 'add new blocks to EVERY_BLOCK'
    geometry = InputGeometry((32, 32), (32, 32), (32, 32))
    image = np.zeros((32, 32, 3), np.uint8)
    x = torch.randn(2, 32, 8, 8)
    for name, kwargs in EVERY_BLOCK.items():
        model = nn.Sequential(randomize_(MODELS.build(dict(type=name,
                                                           **kwargs))))
        rows, notes = run_measure(model.eval(), x)
        with capture_attention(model) as maps:
            model(x)
        (attention, ) = maps['0']
        assert len(rows) == (attention.kind == 'spatial'), name
        for row in rows:
            assert all(0 <= v <= 1 for v in (row.input, row.output,
                                              row.attention)), row
        paths = render(name, attention, image, geometry, [(5, 20)],
                       str(tmp_path))
        assert paths and all(osp.isfile(p) for p in paths), name


# tools on demo models


def test_query_independence_tool(workspace, gc_bot_checkpoint, monkeypatch,
                                 capsys):
    monkeypatch.chdir(workspace)
    out = workspace / 'qi' / 'table.csv'
    load_tool('query_independence').main([
        GC_BOT_MASK_RCNN, gc_bot_checkpoint, '--num-images', '2', '--out',
        str(out), *NO_WORKERS
    ])
    printed = capsys.readouterr().out
    assert '| block | type | input | output | attention | images |' in printed
    with open(out) as f:
        rows = list(csv.DictReader(f))
    model = build_model(load_config(GC_BOT_MASK_RCNN))
    assert [r['block'] for r in rows] == list(attention_sources(model))
    assert {r['type'] for r in rows} == {'GCBlock', 'MHSA'}
    for r in rows:
        assert r['images'] == '2'
        values = [float(r[key]) for key in (
            'input_distance', 'output_distance', 'attention_distance')]
        assert all(math.isfinite(v) and 0 <= v <= 1 for v in values)
        if r['type'] == 'GCBlock':
            assert values[1:] == [0, 0]  # broadcast output, global map
        else:
            assert values[2] > 0


def png_size(path) -> tuple:
    image = cv2.imread(str(path))
    assert image is not None, path
    return image.shape[1], image.shape[0]


def test_vis_attention_tool_detector(workspace, gc_bot_checkpoint, capsys):
    image = workspace / 'data/demo/coco/val/000000.jpg'
    out = workspace / 'vis_det'
    paths = load_tool('vis_attention').main([
        GC_BOT_MASK_RCNN, gc_bot_checkpoint,
        str(image), '--layer', 'backbone.layer3.0.context_block', '--layer',
        'backbone.layer4.1.conv2', '--query', '20,30', '--out',
        str(out)
    ])
    names = sorted(osp.basename(p) for p in paths)
    assert names == ['backbone.layer3.0.context_block_head0.png'] + [
        f'backbone.layer4.1.conv2_q20_30_head{h}.png' for h in range(4)
    ]
    printed = capsys.readouterr().out.splitlines()
    assert set(paths) <= set(printed)
    for path in paths:
        assert png_size(path) == heatmap_figure_size(IMAGE_HW)


def test_vis_attention_tool_segmentor_local_map(workspace, capsys):
    checkpoint = save_checkpoint(COT_UPERNET, workspace / 'cot.pth')
    image = workspace / 'data/demo/ade/images/validation/' \
        'ADE_validation_00000000.jpg'
    paths = load_tool('vis_attention').main([
        COT_UPERNET, checkpoint,
        str(image), '--layer', 'backbone.layer3.0.conv2', '--out',
        str(workspace / 'vis_seg')
    ])
    assert [osp.basename(p) for p in paths] == [
        'backbone.layer3.0.conv2_summary.png'
    ]
    assert png_size(paths[0]) == heatmap_figure_size(IMAGE_HW)


def test_vis_attention_unknown_layer_lists_available(workspace,
                                                     gc_bot_checkpoint,
                                                     capsys):
    image = workspace / 'data/demo/coco/val/000000.jpg'
    with pytest.raises(SystemExit):
        load_tool('vis_attention').main([
            GC_BOT_MASK_RCNN, gc_bot_checkpoint,
            str(image), '--layer', 'backbone.nope', '--out',
            str(workspace / 'never')
        ])
    error = capsys.readouterr().err
    assert 'backbone.nope' in error
    assert 'backbone.layer4.2.conv2' in error  # an available block
    assert not (workspace / 'never').exists()


TINY_CLASSIFIER = '''_base_ = [{config!r}]
model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=16, depth=2)),
    neck=dict(in_channels=16),
    head=dict(in_channels=16, num_classes=7))
data_preprocessor = dict(num_classes=7)
input_size = 48
'''


def test_vis_attention_tool_classifier_reports_top_k(tmp_path, capsys):
    """An mmpretrain ImageClassifier config: the whole image resized to
    ``input_size``, normalised in RGB order, gives the printed top-k
    classes and probabilities; the attention-pooling neck is drawn."""
    config = tmp_path / 'tiny_s60.py'
    config.write_text(TINY_CLASSIFIER.format(config=PATCHCONVNET_S60))
    model = randomize_(build_model(load_config(str(config))), std=0.5)
    checkpoint = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    image_path = str(tmp_path / 'noise.png')
    cv2.imwrite(image_path, bgr)

    paths = load_tool('vis_attention').main([
        str(config), checkpoint, image_path, '--top-k', '3', '--out',
        str(tmp_path / 'vis')
    ])
    assert [osp.basename(p) for p in paths] == [
        'backbone.blocks.0.se_channels.png',
        'backbone.blocks.1.se_channels.png', 'neck_head0.png'
    ]
    assert png_size(paths[-1]) == heatmap_figure_size((40, 56))

    rgb = cv2.resize(bgr, (48, 48), interpolation=cv2.INTER_CUBIC)[..., ::-1]
    mean, std = np.array([0.485, 0.456, 0.406]), np.array(
        [0.229, 0.224, 0.225])
    x = torch.from_numpy((rgb / 255. - mean) / std).float().permute(2, 0, 1)
    with torch.no_grad():
        scores = model(x[None], mode='tensor')[0].softmax(-1)
    top = scores.topk(3).indices.tolist()
    printed = [line for line in capsys.readouterr().out.splitlines()
               if line.startswith('class ')]
    assert printed == [f'class {c}: probability {scores[c]:.4f}'
                       for c in top]


def test_classifier_input_size(tmp_path):
    assert classifier_input_hw(load_config(PATCHCONVNET_S60)) == (224, 224)
    config = tmp_path / 'sized.py'
    config.write_text(f'_base_ = [{PATCHCONVNET_S60!r}]\n'
                      'input_size = (32, 48)\n')
    assert classifier_input_hw(load_config(str(config))) == (32, 48)
    crop = dict(type='CenterCrop', crop_size=(40, 24))  # (w, h)
    assert classifier_input_hw(Config(dict(test_dataloader=dict(
        dataset=dict(pipeline=[crop]))))) == (24, 40)
    assert classifier_input_hw(Config()) == (224, 224)


def test_render_channel_map_and_geometry(tmp_path):
    geometry = InputGeometry(ori_hw=(100, 200), img_hw=(50, 100),
                             input_hw=(64, 128))
    # (199, 99) -> resized (99.5, 49.5) -> stride-8 cell (row 6, col 12)
    assert geometry.grid_index((199, 99), (8, 16)) == 6 * 16 + 12
    assert geometry.to_image(torch.rand(8, 16)).shape == (100, 200)
    image = np.zeros((100, 200, 3), np.uint8)
    gates = AttentionMap(torch.rand(1, 24), None, None, 'channel')
    (path, ) = render('neck.se', gates, image, geometry, [], str(tmp_path))
    assert png_size(path) == CHANNEL_FIGURE
    local = AttentionMap(torch.rand(1, 2, 9, 8, 16), (8, 16), None, 'local')
    (path, ) = render('backbone.cot', local, image, geometry, [],
                      str(tmp_path))
    assert png_size(path) == heatmap_figure_size((100, 200))


@pytest.mark.parametrize('query_hw,num_rows,rows', [
    ((1, 1), 1, [0]),  # a global map
    ((4, 6), 24, [2 * 6 + 4]),  # the row of the query cell of (4.5, 2.5)
    (None, 2, [0, 1]),  # one row per learned token
], ids=['global', 'query', 'tokens'])
def test_render_draws_each_heads_own_map(tmp_path, monkeypatch, query_hw,
                                         num_rows, rows):
    """Each panel's heat map is its own head's row of the chosen sample
    (the grid equals the image, so resampling is the identity)."""
    heads, key_hw = 3, (4, 6)
    weights = torch.rand(2, heads, num_rows, 24)
    geometry = InputGeometry(ori_hw=key_hw, img_hw=key_hw, input_hw=key_hw)
    drawn = []
    imshow = Axes.imshow

    def spy(self, data, *args, **kwargs):
        drawn.append(np.array(data))
        return imshow(self, data, *args, **kwargs)

    monkeypatch.setattr(Axes, 'imshow', spy)
    paths = render('blk', AttentionMap(weights, query_hw, key_hw),
                   np.zeros((4, 6, 3), np.uint8), geometry, [(4.5, 2.5)],
                   str(tmp_path), sample=1)
    expected = [(row, head) for row in rows for head in range(heads)]
    assert len(paths) == len(expected) and len(drawn) == 2 * len(expected)
    for path, image, heat, (row, head) in zip(paths, drawn[::2], drawn[1::2],
                                              expected):
        assert path.endswith(f'head{head}.png')
        assert image.shape == (4, 6, 3)
        np.testing.assert_allclose(
            heat, weights[1, head, row].reshape(key_hw).numpy(), rtol=1e-6)


def test_complexity_tool_configs_table(capsys):
    text = load_tool('complexity').main([
        '--configs', GC_BOT_MASK_RCNN, '--det-shape', '96', '128'
    ])
    assert text == capsys.readouterr().out.rstrip('\n')
    lines = text.splitlines()
    assert '### Configs' in lines
    assert not any('Classification' in line for line in lines)
    (row, ) = [line for line in lines if 'gc_bot' in line]
    cells = [cell.strip() for cell in row.strip('|').split('|')]
    assert cells[1:3] == ['mmdet', '96x128']
    assert 'mask_rcnn_gc_bot_r50_fpn_demo' in cells[0]
    values = [float(v) for v in cells[3:]]
    assert all(math.isfinite(v) and v > 0 for v in values)
    assert values[2] < values[0]  # the backbone holds part of the model
