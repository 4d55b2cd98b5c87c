"""Resampling relative tables for a new training size: exact up to the
trained extent, untrained rows replaced by functions of trained ones, for
single blocks, whole BoTNet / AA-ResNet state dicts, and the CLI."""
import argparse
import importlib.util
import os.path as osp
import sys

import pytest
import torch

from mmctx.compat import load_local_checkpoint
from mmctx.models import AAConv, AAResNet, BoTNet, MHSA
from mmctx.models.attention.rel_pos import (resample_relative_table,
                                            resize_relative_tables)
from conftest import ROOT, randomize_, run_tool

TOOL = osp.join(ROOT, 'tools', 'model_converters', 'resize_rel_tables.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('resize_rel_tables', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def centre(table: torch.Tensor, extent: int) -> slice:
    """Rows of ``table`` for offsets ``-(extent-1) .. extent-1``."""
    mid = table.shape[0] // 2
    return slice(mid - extent + 1, mid + extent)


def scramble_untrained_(state_dict, extents):
    """Overwrite the rows of every table outside its trained centre."""
    for key, table in state_dict.items():
        if key.endswith(('rel_h', 'rel_w')):
            module = key.rpartition('.')[0]
            module = module[len('backbone.'):] if module.startswith(
                'backbone.') else module
            extent = extents[module][key.endswith('rel_w')]
            keep = table[centre(table, extent)].clone()
            table.normal_()
            table[centre(table, extent)] = keep


def test_trained_rows_stay_and_farther_offsets_clip_to_the_outermost():
    table = torch.randn(2 * 10 - 1, 4, dtype=torch.float64)
    out = resample_relative_table(table, 4)
    rows = centre(table, 4)
    assert torch.equal(out[rows], table[rows])
    assert torch.equal(out[:rows.start], table[rows.start].expand(6, -1))
    assert torch.equal(out[rows.stop:], table[rows.stop - 1].expand(6, -1))
    other = table.clone()
    scramble_untrained_({'rel_h': other}, {'': (4, 4)})
    assert not torch.equal(other, table)
    assert torch.equal(resample_relative_table(other, 4), out)


def test_stretch_puts_trained_rows_at_scaled_offsets_and_between():
    table = torch.randn(2 * 9 - 1, 3, dtype=torch.float64)
    out = resample_relative_table(table, 3, target_size=9)
    trained = table[centre(table, 3)]  # offsets -2..2
    # offsets 0, +-4, +-8 are trained offsets 0, +-1, +-2 scaled by 4
    assert torch.equal(out[::4], trained)
    for i in range(len(trained) - 1):
        segment = out[4 * i:4 * i + 5]
        low = torch.minimum(trained[i], trained[i + 1])
        high = torch.maximum(trained[i], trained[i + 1])
        assert (segment >= low - 1e-12).all() and (segment <=
                                                   high + 1e-12).all()
    # linear between trained rows: second differences vanish inside
    second = out[2:] - 2 * out[1:-1] + out[:-2]
    inside = [i for i in range(len(second)) if (i + 1) % 4]
    torch.testing.assert_close(second[inside],
                               torch.zeros_like(second[inside]))
    other = table.clone()
    scramble_untrained_({'rel_h': other}, {'': (3, 3)})
    assert torch.equal(resample_relative_table(other, 3, 9), out)


def test_fully_trained_tables_are_kept():
    table = torch.randn(2 * 5 - 1, 2)
    for trained in (5, 7):
        out = resample_relative_table(table, trained)
        assert torch.equal(out, table) and out is not table


def mhsa() -> MHSA:
    return MHSA(16, 16, heads=2, max_size=12)


def aa_conv() -> AAConv:
    return AAConv(8, 16, stride=2, heads=2, dk=8, dv=8, max_size=10)


@pytest.mark.parametrize('factory, scale', [(mhsa, 1), (aa_conv, 2)])
def test_blocks_are_exact_up_to_the_trained_extent(factory, scale,
                                                   attention_path):
    """AAConv with stride 2 attends on its pooled input: the trained
    extent is the pooled grid's."""
    block = randomize_(factory(), 0.3).eval()
    resized, report = resize_relative_tables(block.state_dict(),
                                             {'': (5, 6)})
    assert len(report) == 2
    new = factory().eval()
    new.load_state_dict(resized)
    with torch.no_grad():
        for hw in [(5, 6), (3, 4), (5, 1), (1, 6)]:
            x = torch.randn(2, block.in_channels, hw[0] * scale,
                            hw[1] * scale)
            torch.testing.assert_close(new(x), block(x), rtol=0, atol=0)
        for hw in [(6, 6), (5, 7)]:
            x = torch.randn(2, block.in_channels, hw[0] * scale,
                            hw[1] * scale)
            assert not torch.allclose(new(x), block(x))


def small_botnet() -> BoTNet:
    return BoTNet(depth=50, base_channels=8, max_size=16)


def small_aa_resnet() -> AAResNet:
    return AAResNet(depth=50, base_channels=8, max_input_size=192)


# Attention extents at a 96x96 input: BoTNet's first c5 block attends
# before its stride-2 pool (c4 extent 6), the others at c5 (3);
# AA-ResNet's blocks attend at their stage's output extent (12/6/3).
BOT_EXTENTS = {'layer4.0.conv2': (6, 6), 'layer4.1.conv2': (3, 3),
               'layer4.2.conv2': (3, 3)}
AA_EXTENTS = {f'layer{s}.{b}.conv2': (e, e)
              for s, blocks, e in ((2, 4, 12), (3, 6, 6), (4, 3, 3))
              for b in range(blocks)}


@pytest.mark.parametrize('factory, extents', [(small_botnet, BOT_EXTENTS),
                                              (small_aa_resnet, AA_EXTENTS)])
def test_backbones_are_exact_at_the_trained_input_size(factory, extents):
    model = factory().eval()
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    derived = load_tool().resnet_extents(state, (96, 96), (1, 2, 2, 2))
    assert derived == extents
    resized, _ = resize_relative_tables(state, derived)
    scrambled = {k: v.clone() for k, v in state.items()}
    scramble_untrained_(scrambled, extents)
    for key, table in resize_relative_tables(scrambled, derived)[0].items():
        assert torch.equal(table, resized[key]), key
    new = factory().eval()
    new.load_state_dict({k[len('backbone.'):]: v
                         for k, v in resized.items()})
    with torch.no_grad():
        for hw in [(96, 96), (80, 64)]:
            x = torch.randn(1, 3, *hw)
            for ours, ref in zip(new(x), model(x)):
                torch.testing.assert_close(ours, ref, rtol=0, atol=0)
        x = torch.randn(1, 3, 160, 160)
        assert not torch.allclose(new(x)[-1], model(x)[-1])


def test_cli_writes_an_mmengine_checkpoint(tmp_path):
    model = small_botnet()
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    src, dst = tmp_path / 'bot.pth', tmp_path / 'out' / 'bot_tables.pth'
    torch.save({'state_dict': state, 'meta': dict(epoch=3)}, src)
    output = run_tool(ROOT, sys.executable, TOOL, str(src), str(dst),
                      '--input-size', '96')
    assert 'backbone.layer4.1.conv2.rel_w: 5 of 31 rows trained' in output
    written = load_local_checkpoint(str(dst))
    expected, _ = resize_relative_tables(state, BOT_EXTENTS)
    assert written['state_dict'].keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(written['state_dict'][key], value), key
    assert written['meta']['trained_sizes'] == BOT_EXTENTS


@pytest.mark.parametrize('table, args, match', [
    (torch.zeros(10, 4), (3, ), r'layer4\.0\.conv2\.rel_h.*\(10, 4\)'),
    (torch.zeros(9), (3, ), r'layer4\.0\.conv2\.rel_h.*\(9,\)'),
    (torch.zeros(9, 4), (3, 6), r'rel_h: target_size \(6\).*\(9, 4\)'),
    (torch.zeros(9, 4), (3, 2), r'target_size \(2\) must lie between'),
    (torch.zeros(9, 4), (0, ), r'trained_size must be a positive int'),
])
def test_bad_tables_and_sizes_name_the_key_and_shape(table, args, match):
    with pytest.raises(ValueError, match=match):
        resample_relative_table(table, *args, key='layer4.0.conv2.rel_h')


def test_state_dict_errors_name_the_key():
    state = {'backbone.layer4.0.conv2.rel_h': torch.zeros(8, 4)}
    with pytest.raises(ValueError, match=r'layer4\.0\.conv2\.rel_h.*\(8, 4\)'):
        resize_relative_tables(state, {'': (3, 3)})
    with pytest.raises(ValueError, match=r"rel_h \(shape \(8, 4\)\): no "
                       r"trained size given for module 'layer4\.0\.conv2'"):
        resize_relative_tables(state, {'layer4.1': (3, 3)})
    tool = load_tool()
    with pytest.raises(ValueError, match=r'rel_h: --input-size derives'):
        tool.resnet_extents({'stem.rel_h': torch.zeros(9, 2)}, (96, 96),
                            (1, 2, 2, 2))
    assert tool.parse_spec('layer4.0=14x20') == ('layer4.0', (14, 20))
    for bad in ('0', '14x', '14x20x3', 'layer4=big'):
        with pytest.raises(argparse.ArgumentTypeError,
                           match=f'N or HxW.*{bad[-3:]}'):
            tool.parse_spec(bad)


def test_cli_keeps_the_image_classifier_layout(tmp_path):
    """An mmpretrain ImageClassifier checkpoint (backbone, neck-less GAP,
    linear head, optimizer state): tables under ``backbone.`` resized,
    the head passed through, the layout kept for ``prefix='backbone.'``."""
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    classifier = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='BoTNet', depth=50, base_channels=8, max_size=16,
                      out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=256)))
    state = randomize_(classifier).state_dict()
    src, dst = tmp_path / 'cls.pth', tmp_path / 'cls_tables.pth'
    torch.save({'state_dict': state, 'meta': dict(iter=2),
                'optimizer': dict(state={}, param_groups=[])}, src)
    run_tool(ROOT, sys.executable, TOOL, str(src), str(dst), '--input-size',
             '96')
    written = load_local_checkpoint(str(dst))['state_dict']
    expected, _ = resize_relative_tables(dict(state), BOT_EXTENTS)
    assert written.keys() == state.keys()
    assert {k.split('.')[0] for k in written} == {'backbone', 'head'}
    for key, value in expected.items():
        assert torch.equal(written[key], value), key
    assert not torch.equal(written['backbone.layer4.1.conv2.rel_h'],
                           state['backbone.layer4.1.conv2.rel_h'])
    assert torch.equal(written['head.fc.weight'], state['head.fc.weight'])
    backbone = BoTNet(depth=50, base_channels=8, max_size=16)
    backbone.load_state_dict({k[len('backbone.'):]: v
                              for k, v in written.items()
                              if k.startswith('backbone.')})


def test_max_size_lengthens_tables_for_the_loading_model(tmp_path):
    """A BoTNet classifier built with max_size=14 (exact at 224) loads into
    the detection BoTNet (max_size=84) after --max-size 84: the same
    output at the trained size, untrained offsets filled."""
    small = randomize_(BoTNet(depth=50, base_channels=8, max_size=6),
                       0.3).eval()
    state = {f'backbone.{k}': v for k, v in small.state_dict().items()}
    src, dst = tmp_path / 'small.pth', tmp_path / 'grown.pth'
    torch.save({'state_dict': state}, src)
    output = run_tool(ROOT, sys.executable, TOOL, str(src), str(dst),
                      '--input-size', '96', '--max-size', '16')
    assert 'backbone.layer4.0.conv2.rel_h: 11 -> 31 rows (max_size 6 -> ' \
        '16)' in output
    grown = load_local_checkpoint(str(dst))['state_dict']
    assert load_local_checkpoint(str(dst))['meta']['max_sizes'] == {
        '': (16, 16)}
    table = grown['backbone.layer4.1.conv2.rel_w']
    assert table.shape == (31, small.layer4[1].conv2.rel_w.shape[1])
    trained = state['backbone.layer4.1.conv2.rel_w'][5 - 2:5 + 3]
    assert torch.equal(table[15 - 2:15 + 3], trained)
    assert torch.equal(table[:13], trained[0].expand(13, -1))
    big = small_botnet().eval()
    big.load_state_dict({k[len('backbone.'):]: v for k, v in grown.items()})
    with torch.no_grad():
        x = torch.randn(1, 3, 96, 96)
        for ours, ref in zip(big(x), small(x)):
            torch.testing.assert_close(ours, ref, rtol=0, atol=0)


def test_max_size_only_grows_tables():
    tool = load_tool()
    with pytest.raises(ValueError, match=r'rel_h: --max-size 3 is below '
                       r"the table's own max_size \(5, shape \(9, 2\)\)"):
        tool.grow_table(torch.zeros(9, 2), 3, 'layer4.0.conv2.rel_h')
    with pytest.raises(ValueError, match=r'rel_w: .*shape \(8, 2\)'):
        tool.grow_table(torch.zeros(8, 2), 9, 'layer4.0.conv2.rel_w')
    assert torch.equal(tool.grow_table(torch.arange(3.)[:, None], 4),
                       torch.tensor([0., 0., 0., 1., 2., 2., 2.])[:, None])
