"""mmctx as an installed OpenMMLab package.

The wheel and the sdist (and a wheel built from that sdist) carry the
configs, the tools and ``model-index.yml`` under ``mmctx/.mim``. The wheel,
installed into a fresh virtualenv that sees the heavy stack but no mmctx,
trains one step of a config written in an unrelated folder that inherits
``mmctx::gcnet/...``, with the installed ``tools/train.py`` and with
``mim train mmctx``, and builds the models of ``mmctx::`` segmentation and
classification configs.
"""
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys
import tarfile
import zipfile
from typing import Dict, List, Set

import pytest

from conftest import ROOT
from mmctx.datasets import write_coco_instances
from test_install import make_env

#: What building mmctx reads; model-index.yml may not be written yet.
SOURCES = ('setup.py', 'README.md', 'MANIFEST.in', 'LICENSE', 'mmctx',
           'configs', 'tools')
#: Folders shipped in ``mmctx/.mim`` and the file types shipped from each.
MIM_CONTENT = {'configs': ('.py', '.yml', '.md'), 'tools': ('.py', '.sh')}
GCNET = 'gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py'
UPERNET = 'gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py'
CLASSES = "('disc', 'box', 'triangle', 'star', 'ring')"

#: One training step and a validation of the GC Mask R-CNN on 64x64
#: images, without a pretrained backbone, at a quarter of its width and with
#: fewer proposals and RoIs (a full-width step took 20 s on a busy CPU).
USER_CONFIG = f"""\
_base_ = 'mmctx::{GCNET}'
data_root = 'data/coco/'
metainfo = dict(classes={CLASSES})
width = 32
model = dict(
    backbone=dict(base_channels=16, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=width),
    rpn_head=dict(in_channels=width, feat_channels=width),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width),
        bbox_head=dict(
            in_channels=width, fc_out_channels=64, num_classes=5),
        mask_roi_extractor=dict(out_channels=width),
        mask_head=dict(
            in_channels=width, conv_out_channels=width, num_classes=5)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=200, max_per_img=50),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(
        rpn=dict(nms_pre=200, max_per_img=50), rcnn=dict(max_per_img=10)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
train_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=1, val_interval=1)
param_scheduler = []
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(by_epoch=False, interval=1))
log_processor = dict(by_epoch=False, window_size=1)
"""

#: Builds the model of each ``mmctx::`` config given, in its own scope.
BUILD_MODELS = """\
import sys
import mmctx
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
print('mmctx at', mmctx.__file__)
for base in sys.argv[1:]:
    with open('built.py', 'w') as f:
        f.write(f'_base_ = {base!r}\\n')
    cfg = Config.fromfile('built.py')
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    print('built', base, type(model).__name__, type(model.backbone).__name__)
"""


def copy_sources(dest: str) -> str:
    """Copy what a build reads into ``dest``, the links in ``mmctx/.mim``
    kept (they point into the copy); return ``dest``."""
    ignore = shutil.ignore_patterns('__pycache__', '*.egg-info')
    os.makedirs(dest)
    for rel in SOURCES:
        src = osp.join(ROOT, rel)
        if osp.isdir(src):
            shutil.copytree(src, osp.join(dest, rel), symlinks=True,
                            ignore=ignore)
        else:
            shutil.copy2(src, osp.join(dest, rel))
    index = osp.join(ROOT, 'model-index.yml')
    if osp.isfile(index):
        shutil.copy2(index, dest)
    else:
        with open(osp.join(dest, 'model-index.yml'), 'w') as f:
            f.write('Import: []\n')
    return dest


def expected_mim_files(source: str) -> Set[str]:
    """The ``mmctx/.mim`` members a package built from ``source`` needs."""
    files = {'mmctx/.mim/model-index.yml'}
    for folder, suffixes in MIM_CONTENT.items():
        for path in glob.glob(osp.join(source, folder, '**', '*'),
                              recursive=True):
            if path.endswith(suffixes) and '__pycache__' not in path:
                rel = osp.relpath(path, source)
                files.add(f'mmctx/.mim/{rel}')
    return files


def wheel_members(path: str) -> Set[str]:
    with zipfile.ZipFile(path) as wheel:
        return set(wheel.namelist())


def clean_env() -> Dict[str, str]:
    """This environment without Python path or pip settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'PYTHONHOME')
           and not k.startswith('PIP_')}
    env.update(PYTHONNOUSERSITE='1', PIP_NO_INDEX='1',
               PIP_DISABLE_PIP_VERSION_CHECK='1')
    return env


def run(args: List[str], cwd: str) -> str:
    """Run ``args`` in ``cwd``; fail with its output if it fails."""
    proc = subprocess.run(args, cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    return output


@pytest.fixture(scope='module')
def built(tmp_path_factory) -> Dict[str, str]:
    """A source copy, its wheel, its sdist and a wheel of that sdist."""
    root = tmp_path_factory.mktemp('package')
    source = copy_sources(str(root / 'source'))
    out = {'source': source}
    for kind, args in (
            ('wheel', ['-m', 'pip', 'wheel', '--no-deps',
                       '--no-build-isolation', source, '-w']),
            ('sdist', [osp.join(source, 'setup.py'), '-q', 'sdist', '-d'])):
        dest = str(root / kind)
        run([sys.executable, *args, dest], cwd=source)
        (out[kind], ) = glob.glob(osp.join(dest, '*'))
    dest = str(root / 'sdist_wheel')
    run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', out['sdist'], '-w', dest], cwd=str(root))
    (out['sdist_wheel'], ) = glob.glob(osp.join(dest, '*.whl'))
    return out


def test_packages_carry_configs_tools_and_model_index(built):
    expected = expected_mim_files(built['source'])
    gcnet = glob.glob(osp.join(ROOT, 'configs', 'gcnet', '*.py'))
    assert gcnet and {
        f'mmctx/.mim/configs/gcnet/{osp.basename(path)}' for path in gcnet
    } <= expected
    assert {'mmctx/.mim/tools/train.py',
            'mmctx/.mim/tools/dist_train.sh'} <= expected
    for kind in ('wheel', 'sdist_wheel'):
        members = wheel_members(built[kind])
        assert {m for m in members if '/.mim/' in m} == expected, kind
        assert 'mmctx/mim.py' in members
    with tarfile.open(built['sdist']) as sdist:
        names = {name.split('/', 1)[1] for name in sdist.getnames()
                 if '/' in name}
    assert expected <= names
    assert {'LICENSE', 'setup.py', 'README.md'} <= names


@pytest.fixture(scope='module')
def installed(built, tmp_path_factory) -> Dict[str, str]:
    """A fresh environment with the wheel installed, a ``mim`` script, and
    an unrelated folder with tiny COCO-format data (written here: every
    Python process in that environment spends seconds importing mmctx)."""
    root = tmp_path_factory.mktemp('env')
    python, own_site = make_env(str(root), hide=('mmctx', ))
    run([python, '-m', 'pip', 'install', '--no-deps', '--no-index',
         built['wheel']], cwd=str(root))
    mim = osp.join(osp.dirname(python), 'mim')
    with open(mim, 'w') as f:
        f.write(f'#!{python}\nimport sys\nfrom mim.cli import cli\n'
                'sys.exit(cli())\n')
    os.chmod(mim, 0o755)
    package = osp.join(own_site, 'mmctx')
    user = str(root / 'user')
    os.makedirs(user)
    write_coco_instances(osp.join(user, 'data', 'coco'), num_train=2,
                         num_val=1, size=(64, 64), seed=0)
    with open(osp.join(user, 'gc_mask_rcnn.py'), 'w') as f:
        f.write(USER_CONFIG)
    return dict(python=python, mim=mim, package=package, user=user)


def assert_one_step(work_dir: str) -> None:
    """``work_dir`` holds a checkpoint and a log of one step and a
    validation."""
    assert osp.isfile(osp.join(work_dir, 'iter_1.pth')), os.listdir(work_dir)
    (log, ) = glob.glob(osp.join(work_dir, '*', '*.log'))
    with open(log) as f:
        text = f.read()
    assert 'Iter(train) [1/1]' in text and 'loss_mask' in text, text[-3000:]
    assert 'coco/bbox_mAP' in text, text[-3000:]


def test_installed_tools_and_mim_train_one_step(installed):
    python, user = installed['python'], installed['user']
    train = osp.join(installed['package'], '.mim', 'tools', 'train.py')
    run([python, train, 'gc_mask_rcnn.py', '--work-dir', 'tool'], cwd=user)
    assert_one_step(osp.join(user, 'tool'))

    output = run([installed['mim'], 'train', 'mmctx', 'gc_mask_rcnn.py',
                  '--work-dir', 'mim'], cwd=user)
    assert f'Training command is {python} {train} gc_mask_rcnn.py' \
        in output, output[-3000:]
    assert_one_step(osp.join(user, 'mim'))


def test_installed_configs_build_seg_and_cls_models(installed):
    classification = sorted(glob.glob(osp.join(
        installed['package'], '.mim', 'configs', 'classification',
        '*_in1k.py')))
    bases = [f'mmctx::{UPERNET}']
    if classification:
        bases.append(
            f'mmctx::classification/{osp.basename(classification[0])}')
    output = run([installed['python'], '-c', BUILD_MODELS, *bases],
                 cwd=installed['user'])
    assert f"mmctx at {osp.join(installed['package'], '__init__.py')}" \
        in output
    assert f'built {bases[0]} EncoderDecoder CtxResNet' in output, output
    if classification:
        assert f'built {bases[1]} ImageClassifier' in output, output
