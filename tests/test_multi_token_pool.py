"""PatchConvNet's multi-class-token pooling (deit's S60_multi): the pool
against a naive re-computation, the per-class classifier, one observed map
per token, and vis_attention drawing one panel per class token."""
import importlib.util
import math
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from matplotlib import colormaps

from mmctx.analysis.attention_vis import (COLORBAR_WIDTH, TITLE_HEIGHT,
                                          InputGeometry, heatmap_figure_size)
from mmctx.analysis.inference import build_model, load_config
from mmctx.converters import build_classifier
from mmctx.models import AttentionPool, capture_attention
from conftest import ROOT, randomize_

CONFIG = osp.join(ROOT, 'configs', 'classification',
                  'patchconvnet-s60-multi_32xb64_in1k.py')


def ln(t, norm):
    mean = t.mean(-1, keepdim=True)
    var = ((t - mean)**2).mean(-1, keepdim=True)
    return (t - mean) / torch.sqrt(var + 1e-6) * norm.weight + norm.bias


def naive_multi_token_pool(pool, x):
    """Per sample and head: each of the T tokens is a query over the H*W
    positions only (never over a token), then MLP and LN per token."""
    outputs, maps = [], []
    heads, tokens = pool.num_heads, pool.num_tokens
    for sample in x:
        c = sample.shape[0]
        d = c // heads
        cls = pool.cls_token[0]
        normed = ln(torch.cat([cls, sample.reshape(c, -1).t()]), pool.norm1)
        q = normed[:tokens] @ pool.q.weight.t() + pool.q.bias
        k = normed[tokens:] @ pool.k.weight.t() + pool.k.bias
        v = normed[tokens:] @ pool.v.weight.t() + pool.v.bias
        attended = torch.zeros(tokens, c, dtype=x.dtype)
        sample_maps = torch.zeros(heads, tokens, k.shape[0], dtype=x.dtype)
        for h in range(heads):
            part = slice(h * d, (h + 1) * d)
            for t in range(tokens):
                logits = k[:, part] @ q[t, part] / math.sqrt(d)
                weights = torch.exp(logits - logits.max())
                weights = weights / weights.sum()
                sample_maps[h, t] = weights
                attended[t, part] = (weights[:, None] * v[:, part]).sum(0)
        out = cls + pool.gamma1.weight * (
            attended @ pool.proj.weight.t() + pool.proj.bias)
        fc1, fc2 = pool.mlp.layers[0][0], pool.mlp.layers[1]
        hidden = torch.nn.functional.gelu(
            ln(out, pool.norm2) @ fc1.weight.t() + fc1.bias)
        out = out + pool.mlp.gamma2.weight * (
            hidden @ fc2.weight.t() + fc2.bias)
        outputs.append(ln(out, pool.norm))
        maps.append(sample_maps)
    return torch.stack(outputs), torch.stack(maps)


@pytest.mark.parametrize('heads', [1, 2])
def test_multi_token_pool_matches_naive_and_reports_one_map_per_token(heads):
    pool = randomize_(AttentionPool(16, num_heads=heads, num_tokens=5),
                      std=0.3).double().eval()
    x = torch.randn(2, 16, 3, 4, dtype=torch.float64)
    expected, expected_maps = naive_multi_token_pool(pool, x)
    with capture_attention(pool) as maps, torch.no_grad():
        out = pool(x)
    assert out.shape == (2, 5, 16)
    torch.testing.assert_close(out, expected)
    ((attention, ), ) = maps.values()
    assert attention.weights.shape == (2, heads, 5, 12)
    assert attention.query_hw is None and attention.key_hw == (3, 4)
    torch.testing.assert_close(attention.weights, expected_maps)


def test_one_token_keeps_its_shape_and_rule():
    pool = AttentionPool(16)
    assert pool.cls_token.shape == (1, 1, 16)
    assert pool(torch.randn(2, 16, 3, 3)).shape == (2, 16)
    with pytest.raises(ValueError, match='num_tokens'):
        AttentionPool(16, num_tokens=0)


def tiny_multi_classifier(num_tokens: int = 4, num_classes: int = 4):
    """A two-block PatchConvNet with ``num_tokens`` class tokens and the
    per-class-token head, as mmpretrain's ImageClassifier."""
    return build_classifier(dict(
        type='ImageClassifier',
        backbone=dict(type='PatchConvNet', arch=dict(embed_dims=16, depth=2),
                      out_indices=(2, )),
        neck=dict(type='AttentionPoolNeck', in_channels=16,
                  num_tokens=num_tokens),
        head=dict(type='MultiTokenClsHead', num_classes=num_classes,
                  in_channels=16)))


def test_per_class_classifier_scores_each_class_from_its_token():
    model = randomize_(tiny_multi_classifier()).eval()
    images = torch.randn(2, 3, 48, 32)
    with torch.no_grad():
        features = model.neck(model.backbone(images)[-1])
        logits = model(images, mode='tensor')
    fc = model.head.fc
    expected = torch.stack([
        torch.stack([features[n, c] @ fc.weight[c] + fc.bias[c]
                     for c in range(4)]) for n in range(2)
    ])
    torch.testing.assert_close(logits, expected)
    model = tiny_multi_classifier(num_tokens=3)
    with pytest.raises(ValueError, match=r'\(N, 4, 16\), got shape '
                       r'\(2, 3, 16\)'):
        model(images, mode='tensor')


# ----------------------------------------------------------------------------
# vis_attention on a converted multi-token classifier

TINY = '''_base_ = [{config!r}]
model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=16, depth=2)),
    neck=dict(in_channels=16, num_tokens=6),
    head=dict(in_channels=16, num_classes=6))
data_preprocessor = dict(num_classes=6)
input_size = 64
'''


def load_vis_tool():
    path = osp.join(ROOT, 'tools', 'analysis', 'vis_attention.py')
    spec = importlib.util.spec_from_file_location('vis_attention_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decode_heat(path, image_hw):
    """The normalised heat drawn over a black image, read back from the
    PNG by inverting the half-transparent jet colour map."""
    png = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    width, height = heatmap_figure_size(image_hw)
    assert png.shape[:2] == (height, width)
    # every 4th pixel of the panel is plenty and keeps the search small
    panel = png[TITLE_HEIGHT::4, :width - COLORBAR_WIDTH:4].astype(np.float32)
    table = colormaps['jet'](np.linspace(0, 1, 256))[:, :3] * 0.5 * 255
    distance = ((panel[:, :, None, :] - table[None, None])**2).sum(-1)
    return distance.argmin(-1) / 255.


def test_vis_attention_draws_one_panel_per_class_token(tmp_path, capsys):
    config = tmp_path / 'tiny_multi.py'
    config.write_text(TINY.format(config=CONFIG))
    model = randomize_(build_model(load_config(str(config))), std=0.5)
    checkpoint = str(tmp_path / 'multi.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    image_path = str(tmp_path / 'black.png')
    cv2.imwrite(image_path, np.zeros((96, 64, 3), np.uint8))

    paths = load_vis_tool().main([
        str(config), checkpoint, image_path, '--layer', 'neck', '--classes',
        '1,4', '--out',
        str(tmp_path / 'vis')
    ])
    assert [osp.basename(p) for p in paths] == [
        'neck_token1_head0.png', 'neck_token4_head0.png'
    ]
    printed = capsys.readouterr().out
    assert 'class 1: probability' in printed and 'class 4:' in printed

    # the same forward, observed here: each panel shows its token's map
    x = torch.zeros(1, 3, 64, 64)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor(
        [0.229, 0.224, 0.225])
    x[:] = (-mean / std).view(1, 3, 1, 1)
    with capture_attention(model) as maps, torch.no_grad():
        model(x, mode='tensor')
    weights = maps['neck'][0].weights[0, 0]  # (tokens, 4 * 4)
    geometry = InputGeometry((96, 64), (64, 64), (64, 64))
    drawn = [decode_heat(p, (96, 64)) for p in paths]
    expected = []
    for token in (1, 4):
        heat = geometry.to_image(weights[token].reshape(4, 4))
        heat = (heat - heat.min()) / (heat.max() - heat.min())
        expected.append(cv2.resize(heat, drawn[0].shape[::-1],
                                   interpolation=cv2.INTER_LINEAR))
    assert not np.allclose(expected[0], expected[1], atol=0.1)
    for panel, own, other in zip(drawn, expected, expected[::-1]):
        assert np.abs(panel - own).mean() < 0.02
        assert np.abs(panel - other).mean() > 4 * np.abs(panel - own).mean()
