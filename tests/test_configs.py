"""Every config builds and runs a forward pass; the GC config matches
mmdet's own GCNet model in size and checkpoint keys."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.structures import PixelData

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'demo', '*.py')))


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
    else:
        from mmseg.structures import SegDataSample
        sample = SegDataSample(metainfo=meta)
        sample.gt_sem_seg = PixelData(
            data=torch.zeros(1, height, width, dtype=torch.long))
    return dict(inputs=[image], data_samples=[sample])


def test_every_config_is_covered():
    names = {osp.basename(p) for p in CONFIGS}
    for required in ('mask_rcnn_gc_r50_fpn.py', 'mask_rcnn_gc_r4_r50_fpn.py',
                     'cascade_mask_rcnn_gc_r50_fpn.py',
                     'upernet_gc_r50_ade20k.py', 'mask_rcnn_nl_r50_fpn.py',
                     'mask_rcnn_snl_r50_fpn.py', 'mask_rcnn_se_r50_fpn.py',
                     'mask_rcnn_r50_fpn.py', 'cascade_mask_rcnn_r50_fpn.py',
                     'upernet_r50_ade20k.py',
                     'mask_rcnn_gc_r50_fpn_demo.py',
                     'cascade_mask_rcnn_gc_r50_fpn_demo.py',
                     'upernet_gc_r50_ade20k_demo.py',
                     'mask_rcnn_bot_r50_fpn.py',
                     'cascade_mask_rcnn_bot_r50_fpn.py',
                     'upernet_bot_r50_ade20k.py', 'mask_rcnn_gc_bot_r50_fpn.py',
                     'mask_rcnn_bot_r50_fpn_demo.py',
                     'upernet_bot_r50_ade20k_demo.py',
                     'mask_rcnn_cot_r50_fpn.py',
                     'cascade_mask_rcnn_cot_r50_fpn.py',
                     'upernet_cot_r50_ade20k.py',
                     'mask_rcnn_cot_r50_fpn_demo.py',
                     'retinanet_r50_fpn.py', 'retinanet_aa_r50_fpn.py',
                     'mask_rcnn_aa_r50_fpn.py',
                     'cascade_mask_rcnn_aa_r50_fpn.py',
                     'upernet_aa_r50_ade20k.py',
                     'retinanet_aa_r50_fpn_demo.py',
                     'mask_rcnn_aa_r50_fpn_demo.py',
                     'upernet_aa_r50_ade20k_demo.py',
                     'mask_rcnn_se_cotnetd50_fpn.py',
                     'cascade_mask_rcnn_se_cotnetd50_fpn.py',
                     'upernet_se_cotnetd50_ade20k.py',
                     'mask_rcnn_se_cotnetd50_fpn_demo.py',
                     'cascade_mask_rcnn_se_cotnetd50_fpn_demo.py',
                     'upernet_se_cotnetd50_ade20k_demo.py'):
        assert required in names


DEMOS = [p for p in CONFIGS if osp.basename(p).endswith('_demo.py')]
BLOCK_KEYS = ('type', 'depth', 'plugins', 'mixers', 'heads', 'deep_stem',
              'arch', 'out_indices', 'kappa', 'upsilon', 'stages',
              'max_input_size')


@pytest.mark.parametrize('path', DEMOS, ids=osp.basename)
def test_demo_keeps_the_full_scale_backbone_blocks(path):
    full = osp.join(ROOT, 'configs',
                    osp.basename(path).replace('_demo.py', '.py'))
    demo_backbone = Config.fromfile(path).model.backbone
    full_backbone = Config.fromfile(full).model.backbone
    for key in BLOCK_KEYS:
        assert demo_backbone.get(key) == full_backbone.get(key), key


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_runs_forward(path):
    cfg = Config.fromfile(path)
    model = build_model(cfg)
    with torch.no_grad():
        results = model.test_step(fake_batch(cfg.default_scope, 96, 128))
    assert len(results) == 1
    if cfg.default_scope == 'mmdet':
        assert 'bboxes' in results[0].pred_instances
    else:
        assert results[0].pred_sem_seg.data.shape[-2:] == (96, 128)


# Full-scale configs that start from converted official ImageNet weights:
# config -> converter architecture (tools/model_converters/cotnet2mmctx.py).
CONVERTED_WEIGHTS = {
    'mask_rcnn_cot_r50_fpn.py': 'cotnet50',
    'cascade_mask_rcnn_cot_r50_fpn.py': 'cotnet50',
    'upernet_cot_r50_ade20k.py': 'cotnet50',
    'mask_rcnn_se_cotnetd50_fpn.py': 'se_cotnetd50',
    'cascade_mask_rcnn_se_cotnetd50_fpn.py': 'se_cotnetd50',
    'upernet_se_cotnetd50_ade20k.py': 'se_cotnetd50',
}


@pytest.mark.parametrize('name,arch', CONVERTED_WEIGHTS.items(),
                         ids=list(CONVERTED_WEIGHTS))
def test_converted_official_weights_fit_the_config_backbone(name, arch):
    from mmengine.registry import MODELS

    from mmctx.converters import cotnet, target_shapes
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    backbone = cfg.model.backbone
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=f'checkpoints/{arch}_mmctx.pth')
    assert cfg.model.get('pretrained') is None
    init_default_scope(cfg.default_scope)
    ours = target_shapes(lambda: MODELS.build(backbone))
    assert ours == target_shapes(cotnet.plan(arch).build)


def _num_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_gc_config_matches_mmdet_gcnet_model():
    ours = build_model(
        Config.fromfile(osp.join(ROOT, 'configs', 'mask_rcnn_gc_r50_fpn.py')))
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
