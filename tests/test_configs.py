"""Every config builds and runs a forward pass; the GC config matches
mmdet's own GCNet model in size and checkpoint keys."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.structures import PixelData

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_ROOT = osp.join(ROOT, 'configs')
#: detection and segmentation configs, full-scale (per-method folders, the
#: card's alias) and demo (with the classification demo)
CONFIGS = sorted(
    path for path in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'),
                               recursive=True)
    if not osp.relpath(path, CONFIG_ROOT).startswith('classification'))


def build_model(cfg: Config) -> torch.nn.Module:
    init_default_scope(cfg.default_scope)
    from mmengine.registry import MODELS
    model = MODELS.build(cfg.model)
    return revert_sync_batchnorm(model).eval()


def fake_batch(scope: str, height: int, width: int) -> dict:
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8)
    meta = dict(img_shape=(height, width), ori_shape=(height, width),
                pad_shape=(height, width), scale_factor=(1., 1.),
                img_id=0, img_path='fake.jpg')
    if scope == 'mmdet':
        from mmdet.structures import DetDataSample
        sample = DetDataSample(metainfo=meta)
    elif scope == 'mmpretrain':
        from mmpretrain.structures import DataSample
        sample = DataSample(metainfo=meta).set_gt_label(0)
    else:
        from mmseg.structures import SegDataSample
        sample = SegDataSample(metainfo=meta)
        sample.gt_sem_seg = PixelData(
            data=torch.zeros(1, height, width, dtype=torch.long))
    return dict(inputs=[image], data_samples=[sample])


def test_every_config_is_covered():
    names = {
        osp.relpath(p, CONFIG_ROOT) if '/demo/' not in p else osp.basename(p)
        for p in CONFIGS
    }
    for required in ('gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py', 'gcnet/mask-rcnn_r50-gcb-r4-c3-c5_fpn_1x_coco.py',
                     'gcnet/cascade-mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py',
                     'gcnet/upernet_r50-gcb-r16-c3-c5_4xb4-160k_ade20k-512x512.py', 'gcnet/mask-rcnn_r50-nl-c4_fpn_1x_coco.py',
                     'gcnet/mask-rcnn_r50-snl-c4_fpn_1x_coco.py', 'gcnet/mask-rcnn_r50-se-r16-c3-c5_fpn_1x_coco.py',
                     'baselines/mask-rcnn_r50_fpn_1x_coco.py', 'baselines/cascade-mask-rcnn_r50_fpn_1x_coco.py',
                     'baselines/upernet_r50_4xb4-160k_ade20k-512x512.py',
                     'mask_rcnn_gc_r50_fpn_demo.py',
                     'cascade_mask_rcnn_gc_r50_fpn_demo.py',
                     'upernet_gc_r50_ade20k_demo.py',
                     'botnet/mask-rcnn_bot50_fpn_1x_coco.py',
                     'botnet/cascade-mask-rcnn_bot50_fpn_1x_coco.py',
                     'botnet/upernet_bot50_4xb4-160k_ade20k-512x512.py', 'botnet/mask-rcnn_bot50-gcb-r16-c3-c4_fpn_1x_coco.py',
                     'mask_rcnn_bot_r50_fpn_demo.py',
                     'upernet_bot_r50_ade20k_demo.py',
                     'cotnet/mask-rcnn_cotnet50_fpn_1x_coco.py',
                     'cotnet/cascade-mask-rcnn_cotnet50_fpn_1x_coco.py',
                     'cotnet/upernet_cotnet50_4xb4-160k_ade20k-512x512.py',
                     'mask_rcnn_cot_r50_fpn_demo.py',
                     'baselines/retinanet_r50_fpn_1x_coco.py', 'aa/retinanet_aa-r50_fpn_1x_coco.py',
                     'aa/mask-rcnn_aa-r50_fpn_1x_coco.py',
                     'aa/cascade-mask-rcnn_aa-r50_fpn_1x_coco.py',
                     'aa/upernet_aa-r50_4xb4-160k_ade20k-512x512.py',
                     'retinanet_aa_r50_fpn_demo.py',
                     'mask_rcnn_aa_r50_fpn_demo.py',
                     'upernet_aa_r50_ade20k_demo.py',
                     'cotnet/mask-rcnn_se-cotnetd50_fpn_1x_coco.py',
                     'cotnet/cascade-mask-rcnn_se-cotnetd50_fpn_1x_coco.py',
                     'cotnet/upernet_se-cotnetd50_4xb4-160k_ade20k-512x512.py',
                     'mask_rcnn_se_cotnetd50_fpn_demo.py',
                     'bot_r50_cls_demo.py',
                     'mask_rcnn_bot_r50_fpn_from_cls_demo.py',
                     'cascade_mask_rcnn_se_cotnetd50_fpn_demo.py',
                     'upernet_se_cotnetd50_ade20k_demo.py'):
        assert required in names


DEMOS = [p for p in CONFIGS if osp.basename(p).endswith('_demo.py')]
BLOCK_KEYS = ('type', 'depth', 'plugins', 'mixers', 'heads', 'deep_stem',
              'arch', 'out_indices', 'kappa', 'upsilon', 'stages',
              'max_input_size')


def full_scale_base(demo: str) -> str:
    """The first config outside configs/demo/ that ``demo`` inherits."""
    path = demo
    while osp.dirname(path) == osp.dirname(demo):
        base = re.search(r"^_base_ = '(.+)'$", open(path).read(), re.M)
        path = osp.normpath(osp.join(osp.dirname(path), base.group(1)))
    return path


#: demos whose own backbone replaces the GC demo's it inherits (or that
#: inherit mmpretrain bases): their full-scale counterpart by name
DEMO_COUNTERPARTS = {
    'bot_r50_cls_demo.py': 'classification/bot50_8xb32_in1k.py',
    'mask_rcnn_bot_r50_fpn_from_cls_demo.py':
    'botnet/mask-rcnn_bot50_fpn_1x_coco.py',
    'mask_rcnn_bot_r50_fpn_demo.py': 'botnet/mask-rcnn_bot50_fpn_1x_coco.py',
    'cascade_mask_rcnn_bot_r50_fpn_demo.py':
    'botnet/cascade-mask-rcnn_bot50_fpn_1x_coco.py',
    'mask_rcnn_gc_bot_r50_fpn_demo.py':
    'botnet/mask-rcnn_bot50-gcb-r16-c3-c4_fpn_1x_coco.py',
    'upernet_bot_r50_ade20k_demo.py':
    'botnet/upernet_bot50_4xb4-160k_ade20k-512x512.py',
    'mask_rcnn_cot_r50_fpn_demo.py': 'cotnet/mask-rcnn_cotnet50_fpn_1x_coco.py',
    'cascade_mask_rcnn_cot_r50_fpn_demo.py':
    'cotnet/cascade-mask-rcnn_cotnet50_fpn_1x_coco.py',
    'upernet_cot_r50_ade20k_demo.py':
    'cotnet/upernet_cotnet50_4xb4-160k_ade20k-512x512.py',
    'mask_rcnn_se_cotnetd50_fpn_demo.py':
    'cotnet/mask-rcnn_se-cotnetd50_fpn_1x_coco.py',
    'cascade_mask_rcnn_se_cotnetd50_fpn_demo.py':
    'cotnet/cascade-mask-rcnn_se-cotnetd50_fpn_1x_coco.py',
    'upernet_se_cotnetd50_ade20k_demo.py':
    'cotnet/upernet_se-cotnetd50_4xb4-160k_ade20k-512x512.py',
    'mask_rcnn_aa_r50_fpn_demo.py': 'aa/mask-rcnn_aa-r50_fpn_1x_coco.py',
    'cascade_mask_rcnn_aa_r50_fpn_demo.py':
    'aa/cascade-mask-rcnn_aa-r50_fpn_1x_coco.py',
    'upernet_aa_r50_ade20k_demo.py':
    'aa/upernet_aa-r50_4xb4-160k_ade20k-512x512.py',
    'mask_rcnn_patchconvnet_s60_fpn_demo.py':
    'patchconvnet/mask-rcnn_patchconvnet-s60_fpn_1x_coco.py',
    'upernet_patchconvnet_s60_ade20k_demo.py':
    'patchconvnet/upernet_patchconvnet-s60_4xb4-160k_ade20k-512x512.py',
}


@pytest.mark.parametrize('path', DEMOS, ids=osp.basename)
def test_demo_keeps_the_full_scale_backbone_blocks(path):
    name = osp.basename(path)
    full = (osp.join(CONFIG_ROOT, DEMO_COUNTERPARTS[name])
            if name in DEMO_COUNTERPARTS else full_scale_base(path))
    demo_backbone = Config.fromfile(path).model.backbone
    full_backbone = Config.fromfile(full).model.backbone
    for key in BLOCK_KEYS:
        assert demo_backbone.get(key) == full_backbone.get(key), key


def test_classification_demo_backbone_is_the_finetune_demo_backbone():
    """Same keys and shapes but the relative tables, which
    resize_rel_tables.py --max-size lengthens (as for the full-scale
    classifier and detector); the detector loads the classifier's
    ``backbone.*``."""
    demo = osp.join(CONFIG_ROOT, 'demo')
    cls_cfg = Config.fromfile(osp.join(demo, 'bot_r50_cls_demo.py'))
    det_cfg = Config.fromfile(
        osp.join(demo, 'mask_rcnn_bot_r50_fpn_from_cls_demo.py'))
    assert det_cfg.model.backbone.init_cfg == dict(
        type='Pretrained',
        checkpoint='work_dirs/bot_r50_cls_demo/backbone_rel_tables.pth',
        prefix='backbone.')
    shapes = []
    for cfg in (cls_cfg, det_cfg):
        init_default_scope(cfg.default_scope)
        from mmengine.registry import MODELS
        backbone = dict(cfg.model.backbone, init_cfg=None)
        shapes.append({k: v.shape for k, v in
                       MODELS.build(backbone).state_dict().items()})
    assert shapes[0].keys() == shapes[1].keys()
    differ = {k for k in shapes[0] if shapes[0][k] != shapes[1][k]}
    assert differ == {k for k in shapes[0] if k.endswith(('rel_h', 'rel_w'))}
    assert {shapes[1][k][0] for k in differ} == {
        2 * det_cfg.model.backbone.get('max_size', 84) - 1}


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_runs_forward(path):
    cfg = Config.fromfile(path)
    model = build_model(cfg)
    with torch.no_grad():
        results = model.test_step(fake_batch(cfg.default_scope, 96, 128))
    assert len(results) == 1
    if cfg.default_scope == 'mmdet':
        assert 'bboxes' in results[0].pred_instances
    elif cfg.default_scope == 'mmpretrain':
        assert results[0].pred_score.shape == (cfg.model.head.num_classes, )
    else:
        assert results[0].pred_sem_seg.data.shape[-2:] == (96, 128)


# Full-scale configs that start from converted official ImageNet weights:
# config -> (converter module, architecture, checkpoint file). CoTNet's
# converter is tools/model_converters/cotnet2mmctx.py, PatchConvNet's
# patchconvnet2mmctx.py.
CONVERTED_WEIGHTS = {
    'cotnet/mask-rcnn_cotnet50_fpn_1x_coco.py': ('cotnet', 'cotnet50'),
    'cotnet/cascade-mask-rcnn_cotnet50_fpn_1x_coco.py':
    ('cotnet', 'cotnet50'),
    'cotnet/upernet_cotnet50_4xb4-160k_ade20k-512x512.py':
    ('cotnet', 'cotnet50'),
    'cotnet/mask-rcnn_se-cotnetd50_fpn_1x_coco.py':
    ('cotnet', 'se_cotnetd50'),
    'cotnet/cascade-mask-rcnn_se-cotnetd50_fpn_1x_coco.py':
    ('cotnet', 'se_cotnetd50'),
    'cotnet/upernet_se-cotnetd50_4xb4-160k_ade20k-512x512.py':
    ('cotnet', 'se_cotnetd50'),
    'patchconvnet/mask-rcnn_patchconvnet-s60_fpn_1x_coco.py':
    ('patchconvnet', 'S60'),
    'patchconvnet/upernet_patchconvnet-s60_4xb4-160k_ade20k-512x512.py':
    ('patchconvnet', 'S60'),
}
CHECKPOINTS = {
    'cotnet50': 'checkpoints/cotnet50_mmctx.pth',
    'se_cotnetd50': 'checkpoints/se_cotnetd50_mmctx.pth',
    'S60': 'checkpoints/patchconvnet_s60_mmctx.pth',
}


@pytest.mark.parametrize('name,family,arch',
                         [(name, *spec)
                          for name, spec in CONVERTED_WEIGHTS.items()],
                         ids=list(CONVERTED_WEIGHTS))
def test_converted_official_weights_fit_the_config_backbone(
        name, family, arch):
    """The converter's output (``backbone.*`` keys, ImageClassifier layout)
    loads through the config's ``init_cfg``: every converted tensor has a
    parameter of its shape, and only the detection additions (PatchConvNet's
    pyramid branches) are left to their own initialisation."""
    import importlib

    from mmengine.registry import MODELS

    from mmctx.converters import target_shapes
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    backbone = cfg.model.backbone
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=CHECKPOINTS[arch], prefix='backbone.')
    assert cfg.model.get('pretrained') is None
    init_default_scope(cfg.default_scope)
    ours = {
        f'backbone.{key}': shape
        for key, shape in target_shapes(
            lambda: MODELS.build(backbone)).items()
    }
    converter = importlib.import_module(f'mmctx.converters.{family}')
    converted = target_shapes(converter.plan(arch).build)
    assert converted and all(key.startswith('backbone.') for key in converted)
    assert {key: ours.get(key) for key in converted} == converted
    assert all(key.startswith('backbone.pyramid.')
               for key in set(ours) - set(converted))


def _num_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_gc_config_matches_mmdet_gcnet_model():
    ours = build_model(
        Config.fromfile(osp.join(ROOT, 'configs', 'gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py')))
    reference = build_model(
        get_config('mmdet::gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py'))
    assert _num_params(ours) == _num_params(reference)
    assert round(_num_params(ours) / 1e6, 2) == 46.92
    # a checkpoint of mmdet's GCNet model loads with identical keys
    ours.load_state_dict(reference.state_dict(), strict=True)
    with DefaultScope.overwrite_default_scope('mmdet'):
        x = torch.randn(1, 3, 64, 64)
        for a, b in zip(ours.backbone(x), reference.backbone(x)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
