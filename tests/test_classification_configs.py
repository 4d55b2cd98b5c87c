"""configs/classification/: every config reads, builds an mmpretrain
``ImageClassifier`` whose weights are exactly what the converters write
from an official checkpoint, carries the official recipe values, and
agrees with its metafile entry."""
import functools
import glob
import os.path as osp
import re

import pytest
import torch
import yaml
from mmengine.config import Config

from mmctx.converters import build_classifier, cotnet, patchconvnet
from mmctx.converters.common import apply_rules
from conftest import ROOT
from official_checkpoints import cotnet_spec, patchconvnet_spec
from official_cotnet_keys import se_cotnetd_shapes

CONFIG_DIR = osp.join(ROOT, 'configs', 'classification')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
NAMES = [osp.splitext(osp.basename(path))[0] for path in CONFIGS]

#: Every config the project documents (a missing or renamed one fails).
EXPECTED = {
    'aa-resnet50_8xb32_in1k', 'bot50_8xb32_in1k', 'cotnet101_8xb56_in1k',
    'cotnet50_8xb80_in1k', 'cotnext101_8xb64_in1k', 'cotnext50_8xb64_in1k',
    'patchconvnet-b120_32xb64_in1k', 'patchconvnet-b60_32xb64_in1k',
    'patchconvnet-s120_32xb64_in1k', 'patchconvnet-s60-multi_32xb64_in1k',
    'patchconvnet-s60_32xb64_in1k', 'resnet50-gcb-r16-c3-c5_8xb32_in1k',
    'resnet50-nl-c4_8xb32_in1k', 'resnet50-se-r16_8xb32_in1k',
    'se-cotnetd101_8xb64_in1k', 'se-cotnetd152_8xb64_in1k',
    'se-cotnetd50_8xb80_in1k'
}

#: Official recipe values (JDAI-CV/CoTNet cot_experiments/*/config.yaml;
#: deit main.py and the first author's LAMB comment for PatchConvNet):
#: epochs, lr, batch per GPU, GPUs, optimizer, weight decay, label
#: smoothing, test crop.
RECIPES = {
    'cotnet50_8xb80_in1k': (350, 0.25, 80, 8, 'SGD', 4e-5, 0.1, 224),
    'cotnext50_8xb64_in1k': (350, 0.2, 64, 8, 'SGD', 4e-5, 0.1, 224),
    'cotnet101_8xb56_in1k': (350, 0.175, 56, 8, 'SGD', 6e-5, 0.1, 224),
    'cotnext101_8xb64_in1k': (350, 0.2, 64, 8, 'SGD', 6e-5, 0.1, 224),
    'se-cotnetd50_8xb80_in1k': (350, 0.25, 80, 8, 'SGD', 4e-5, 0.1, 224),
    'se-cotnetd101_8xb64_in1k': (350, 0.2, 64, 8, 'SGD', 4e-5, 0.1, 224),
    'se-cotnetd152_8xb64_in1k': (350, 0.2, 64, 8, 'SGD', 4e-5, 0.1, 256),
    'patchconvnet-s60_32xb64_in1k': (300, 3e-3, 64, 32, 'Lamb', 0.05, 0.1,
                                     224),
}

#: Converter architecture -> (config, official keys and shapes).
CONVERTED = {
    'cotnet50': ('cotnet50_8xb80_in1k', lambda: cotnet_spec(50)),
    'cotnext50': ('cotnext50_8xb64_in1k', lambda: cotnet_spec(50, True)),
    'cotnet101': ('cotnet101_8xb56_in1k', lambda: cotnet_spec(101)),
    'cotnext101': ('cotnext101_8xb64_in1k', lambda: cotnet_spec(101, True)),
    'se_cotnetd50': ('se-cotnetd50_8xb80_in1k',
                     lambda: se_cotnetd_shapes(50).items()),
    'se_cotnetd101': ('se-cotnetd101_8xb64_in1k',
                      lambda: se_cotnetd_shapes(101).items()),
    'se_cotnetd152': ('se-cotnetd152_8xb64_in1k',
                      lambda: se_cotnetd_shapes(152).items()),
    'S60': ('patchconvnet-s60_32xb64_in1k',
            lambda: patchconvnet_spec('S60')),
    'S120': ('patchconvnet-s120_32xb64_in1k',
             lambda: patchconvnet_spec('S120')),
    'B60': ('patchconvnet-b60_32xb64_in1k',
            lambda: patchconvnet_spec('B60')),
    'B120': ('patchconvnet-b120_32xb64_in1k',
             lambda: patchconvnet_spec('B120')),
    'S60_multi': ('patchconvnet-s60-multi_32xb64_in1k',
                  lambda: patchconvnet_spec('S60', multi=True)),
}

#: Words that name where a recipe number comes from.
SOURCE = re.compile(r'config\.yaml|README|main\.py|issue|mmpretrain|'
                    r'UNVERIFIED|\.py of')


@functools.lru_cache(maxsize=None)
def load(name):
    """The config (cached: tests only read it)."""
    return Config.fromfile(osp.join(CONFIG_DIR, name + '.py'))


def build(cfg):
    with torch.device('meta'):
        return build_classifier(cfg.model)


def metafile_models():
    with open(osp.join(CONFIG_DIR, 'metafile.yml')) as f:
        return {m['Name']: m for m in yaml.safe_load(f)['Models']}


def test_the_documented_configs_exist():
    assert set(NAMES) == EXPECTED


@pytest.mark.parametrize('name', NAMES)
def test_config_reads_and_names_its_sources(name):
    cfg = load(name)
    assert cfg.default_scope == 'mmpretrain'
    assert 'mmctx' in cfg.custom_imports['imports']
    assert cfg.model.type == 'ImageClassifier'
    assert cfg.model.head.num_classes == 1000
    with open(osp.join(CONFIG_DIR, name + '.py')) as f:
        comment = []
        for line in f:
            if not line.startswith('#'):
                break
            comment.append(line)
    assert len(comment) >= 3, f'{name}: no comment block at the top'
    assert SOURCE.search(''.join(comment)), f'{name}: names no source'


@pytest.mark.parametrize('name', NAMES)
def test_batch_in_the_name_is_the_batch_trained(name):
    gpus, per_gpu = map(int, re.search(r'_(\d+)xb(\d+)_', name).groups())
    cfg = load(name)
    assert cfg.train_dataloader.batch_size == per_gpu
    assert cfg.auto_scale_lr.base_batch_size == gpus * per_gpu


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_official_recipe_values(name):
    epochs, lr, per_gpu, gpus, optim, wd, smooth, crop = RECIPES[name]
    cfg = load(name)
    optimizer = cfg.optim_wrapper.optimizer
    assert cfg.train_cfg.max_epochs == epochs
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == (
        optim, lr, wd)
    assert cfg.train_dataloader.batch_size * gpus == (
        cfg.auto_scale_lr.base_batch_size) == per_gpu * gpus
    assert cfg.model.head.loss == dict(
        type='LabelSmoothLoss', label_smooth_val=smooth, mode='original')
    assert [a['type'] for a in cfg.model.train_cfg.augments
            ] == ['Mixup', 'CutMix']
    assert cfg.optim_wrapper.paramwise_cfg.flat_decay_mult == 0
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == cosine.begin == 5 and cosine.end == epochs
    assert warmup.start_factor * lr == pytest.approx(
        1e-4 if optim == 'SGD' else 1e-6)
    assert cosine.eta_min == 1e-5
    (ema, ) = [h for h in cfg.custom_hooks if h['type'] == 'EMAHook']
    assert ema.momentum == (1e-4 if optim == 'SGD' else 4e-5)
    if optim == 'SGD':
        assert optimizer.nesterov and optimizer.momentum == 0.9
    test = cfg.test_dataloader.dataset.pipeline
    (center, ) = [t for t in test if t['type'] == 'CenterCrop']
    (resize, ) = [t for t in test if t['type'] == 'ResizeEdge']
    assert center.crop_size == crop
    assert resize.interpolation == 'bicubic'
    assert resize.scale == {224: 256, 256: 288}[crop]


def test_cotnet_randaugment_matches_the_official_levels():
    """At the top level (15) each op gets the fork's value at 15."""
    cfg = load('cotnet50_8xb80_in1k')
    (randaug, ) = [t for t in cfg.train_dataloader.dataset.pipeline
                   if t['type'] == 'RandAugment']
    assert (randaug.num_policies, randaug.magnitude_level,
            randaug.total_level, randaug.magnitude_std) == (2, 15, 15, 0.5)
    top = {(p['type'], p.get('direction')): p['magnitude_range'][1]
           for p in randaug.policies if 'magnitude_range' in p}
    level = 15 / 10  # the fork's levels are normalised by 10
    assert top[('Rotate', None)] == level * 30
    assert top[('Posterize', None)] == int(level * 4)
    assert top[('Solarize', None)] == level * 256
    assert top[('SolarizeAdd', None)] == level * 110
    assert top[('Contrast', None)] == pytest.approx(level * 1.8 + 0.1 - 1)
    assert top[('Shear', 'vertical')] == pytest.approx(level * 0.3)
    assert top[('Translate', 'horizontal')] * 224 == pytest.approx(
        level * 100)
    assert top[('Cutout', None)] == 2 * level * 40
    assert len(randaug.policies) == 16


@pytest.mark.parametrize('arch', sorted(CONVERTED))
def test_converted_official_keys_are_the_config_model_keys(arch):
    name, spec = CONVERTED[arch]
    state = {k: torch.empty(s, device='meta') for k, s in spec()}
    module = cotnet if arch in cotnet.ARCHS else patchconvnet
    plan = module.plan(arch, True, state)
    converted = apply_rules(state, plan.rules).state_dict
    ours = build(load(name)).state_dict()
    assert sorted(converted) == sorted(ours)
    assert {k: tuple(v.shape) for k, v in converted.items()} == {
        k: tuple(v.shape) for k, v in ours.items()}


@pytest.mark.parametrize('name', NAMES)
def test_parameters_match_the_metafile(name):
    """The metafile's measured Parameters are this config's model."""
    meta = metafile_models()[name]
    assert meta['Config'] == f'configs/classification/{name}.py'
    params = sum(p.numel() for p in build(load(name)).parameters())
    assert abs(params - meta['Metadata']['Parameters']) <= 5_000


@pytest.mark.parametrize('name', [
    'cotnet50_8xb80_in1k', 'resnet50-gcb-r16-c3-c5_8xb32_in1k',
    'bot50_8xb32_in1k', 'patchconvnet-s60-multi_32xb64_in1k'
])
def test_small_forward_gives_1000_scores(name):
    model = build_classifier(load(name).model).eval()
    with torch.no_grad():
        scores = model(torch.randn(2, 3, 64, 64), mode='tensor')
    assert scores.shape == (2, 1000) and torch.isfinite(scores).all()
