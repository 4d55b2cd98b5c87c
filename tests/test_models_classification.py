"""mmctx backbones in mmpretrain's ImageClassifier: every backbone family
builds from a config dict through mmpretrain's registry and trains
(``loss``), predicts and returns logits (``mode='tensor'``); the
attention-pooling neck and the per-class-token head against independent
definitions; shape errors that name the shape."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope
from mmpretrain.models import ImageClassifier
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from mmpretrain.structures import DataSample
from torch import nn

from mmctx.models import (AAResNet, AttentionPool, AttentionPoolNeck,
                          BoTNet, CoTNet, CoTNeXt, CtxResNet,
                          MultiTokenClsHead, PatchConvNet, capture_attention)
from mmctx.models.backbones import SECoTNetD
from conftest import randomize_

NUM_CLASSES = 5
#: Narrow ResNet widths: stem 16, stages 16..128 (x4 for bottlenecks).
NARROW = dict(stem_channels=16, base_channels=16, out_indices=(3, ),
              norm_eval=False)
TINY_PATCHCONVNET = dict(type='PatchConvNet',
                         arch=dict(embed_dims=16, depth=2), out_indices=(2, ))


def build(cfg: dict) -> ImageClassifier:
    """Build a model dict as a classification config does: mmpretrain's
    registry in mmpretrain's scope."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return PRETRAIN_MODELS.build(cfg)


def gap_classifier(backbone: dict, channels: int) -> dict:
    return dict(
        type='ImageClassifier',
        backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=channels))


def pool_classifier(num_tokens: int) -> dict:
    head = 'MultiTokenClsHead' if num_tokens > 1 else 'LinearClsHead'
    return dict(
        type='ImageClassifier',
        backbone=TINY_PATCHCONVNET,
        neck=dict(type='AttentionPoolNeck', in_channels=16,
                  num_tokens=num_tokens),
        head=dict(type=head, num_classes=NUM_CLASSES, in_channels=16))


GC_PLUGIN = dict(cfg=dict(type='GCBlock', ratio=1. / 4),
                 stages=(False, True, True, True), position='after_conv2')
#: family -> (model dict, backbone class, input side)
FAMILIES = {
    'gc-resnet18': (gap_classifier(
        dict(type='CtxResNet', depth=18, plugins=[GC_PLUGIN], **NARROW),
        128), CtxResNet, 32),
    'gc-resnet50': (gap_classifier(
        dict(type='CtxResNet', depth=50,
             plugins=[dict(GC_PLUGIN, position='after_conv3')], **NARROW),
        512), CtxResNet, 32),
    'cotnet50': (gap_classifier(dict(type='CoTNet', depth=50, **NARROW),
                                512), CoTNet, 32),
    'cotnext50': (gap_classifier(dict(type='CoTNeXt', depth=50, **NARROW),
                                 512), CoTNeXt, 32),
    'se-cotnetd50': (gap_classifier(
        dict(type='SECoTNetD', depth=50, out_indices=(3, ),
             norm_eval=False), 2048), SECoTNetD, 32),
    'bot50': (gap_classifier(
        dict(type='BoTNet', depth=50, max_size=4, **NARROW), 512), BoTNet,
        64),
    'aa-resnet50': (gap_classifier(
        dict(type='AAResNet', depth=50, max_input_size=64, **NARROW), 512),
        AAResNet, 64),
    'patchconvnet': (pool_classifier(1), PatchConvNet, 32),
    'patchconvnet-multi': (pool_classifier(NUM_CLASSES), PatchConvNet, 32),
}


def samples(labels):
    return [DataSample().set_gt_label(label) for label in labels]


@pytest.mark.parametrize('family', list(FAMILIES))
def test_every_family_trains_and_predicts_in_an_image_classifier(family):
    cfg, backbone_type, side = FAMILIES[family]
    model = build(cfg)
    assert isinstance(model, ImageClassifier)
    assert type(model.backbone) is backbone_type
    model.init_weights()
    x = torch.randn(2, 3, side, side)

    model.train()
    losses = model(x, samples([1, 3]), mode='loss')
    assert set(losses) == {'loss'} and losses['loss'].dim() == 0
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    for part in ('backbone', 'neck', 'head'):
        grads = [p.grad for p in getattr(model, part).parameters()]
        if grads:  # GlobalAveragePooling has no parameters
            assert all(g is not None for g in grads), part
            assert any(g.abs().sum() > 0 for g in grads), part

    model.eval()
    with torch.no_grad():
        logits = model(x, mode='tensor')
        predictions = model(x, mode='predict')
    assert logits.shape == (2, NUM_CLASSES)
    assert len(predictions) == 2
    for logit, prediction in zip(logits, predictions):
        assert prediction.pred_score.shape == (NUM_CLASSES, )
        torch.testing.assert_close(prediction.pred_score, logit.softmax(-1))
        assert prediction.pred_label.item() == logit.argmax().item()


def per_class_linears(fc: nn.Linear) -> nn.ModuleList:
    """The official S60_multi head: one Linear(C, 1) per class, made from
    the rows of ``fc`` (so both hold the same numbers)."""
    heads = nn.ModuleList(nn.Linear(fc.in_features, 1)
                          for _ in range(fc.out_features))
    with torch.no_grad():
        for c, head in enumerate(heads):
            head.weight.copy_(fc.weight[c:c + 1])
            head.bias.copy_(fc.bias[c:c + 1])
    return heads


def test_multi_token_head_scores_class_c_from_token_c_alone():
    model = randomize_(build(pool_classifier(NUM_CLASSES)), std=0.3).eval()
    x = torch.randn(3, 3, 48, 32)
    official = per_class_linears(model.head.fc)
    with torch.no_grad():
        (tokens, ) = model.extract_feat(x)
        logits = model(x, mode='tensor')
        predictions = model(x, mode='predict')
        loss = model.loss(x, samples([0, 4, 2]))['loss']
    assert tokens.shape == (3, NUM_CLASSES, 16)
    expected = torch.cat([official[c](tokens[:, c])
                          for c in range(NUM_CLASSES)], dim=1)
    torch.testing.assert_close(logits, expected)
    torch.testing.assert_close(
        torch.stack([p.pred_score for p in predictions]),
        expected.softmax(-1))
    torch.testing.assert_close(
        loss, F.cross_entropy(expected, torch.tensor([0, 4, 2])))
    # a class's score moves with its own token only
    bumped = tokens.clone()
    bumped[:, 2] += 1
    with torch.no_grad():
        moved = model.head((bumped, )) - logits
    assert torch.all(moved[:, 2] != 0)
    assert torch.all(moved[:, [0, 1, 3, 4]] == 0)


def test_attention_pool_neck_is_the_pool_on_the_last_map():
    neck = randomize_(AttentionPoolNeck(16, num_tokens=3), std=0.3).eval()
    pool = AttentionPool(16, num_tokens=3).eval()
    pool.load_state_dict(neck.state_dict(), strict=True)
    maps = (torch.randn(2, 8, 6, 6), torch.randn(2, 16, 3, 4))
    with torch.no_grad(), capture_attention(neck) as seen:
        (pooled, ) = neck(maps)
        single = neck(maps[-1])
    torch.testing.assert_close(pooled, pool(maps[-1]))
    torch.testing.assert_close(single, pooled)
    assert [m.weights.shape for m in seen['']] == [(2, 1, 3, 12)] * 2


def test_one_token_neck_with_linear_head_matches_a_linear_on_the_pool():
    model = randomize_(build(pool_classifier(1)), std=0.3).eval()
    x = torch.randn(2, 3, 32, 48)
    with torch.no_grad():
        features = model.backbone(x)
        pooled = AttentionPool.forward(model.neck, features[-1])
        logits = model(x, mode='tensor')
    assert pooled.shape == (2, 16)
    torch.testing.assert_close(logits, F.linear(
        pooled, model.head.fc.weight, model.head.fc.bias))


@pytest.mark.parametrize('feats,shape', [
    ((torch.randn(2, 3, 16), ), r'\(2, 3, 16\)'),
    ((torch.randn(2, 16), ), r'\(2, 16\)'),
    ((torch.randn(2, NUM_CLASSES, 8), ), r'\(2, 5, 8\)'),
])
def test_multi_token_head_shape_errors_name_the_shape(feats, shape):
    head = MultiTokenClsHead(num_classes=NUM_CLASSES, in_channels=16)
    with pytest.raises(ValueError, match=shape) as info:
        head(feats)
    assert 'num_tokens' in str(info.value)


def test_mismatched_neck_and_head_fail_naming_the_shape():
    cfg = pool_classifier(NUM_CLASSES)
    cfg['neck']['num_tokens'] = 1
    model = build(cfg)
    with pytest.raises(ValueError, match=r'got shape \(2, 16\)'):
        model(torch.randn(2, 3, 32, 32), mode='tensor')


def test_attention_pool_neck_shape_errors():
    neck = AttentionPoolNeck(16)
    with pytest.raises(ValueError, match=r'\(2, 8, 4, 4\)'):
        neck((torch.randn(2, 8, 4, 4), ))
    with pytest.raises(ValueError, match='empty sequence'):
        neck(())


@pytest.mark.parametrize('kwargs,name', [
    (dict(num_classes=0, in_channels=16), 'num_classes'),
    (dict(num_classes=5, in_channels=-1), 'in_channels'),
])
def test_multi_token_head_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MultiTokenClsHead(**kwargs)


@pytest.mark.parametrize('name', ['AttentionPoolNeck', 'MultiTokenClsHead'])
def test_registered_in_root_and_resolved_from_mmpretrain(name):
    cls = ROOT_MODELS.get(name)
    assert cls.__module__.startswith('mmctx.models.classification')
    assert name not in PRETRAIN_MODELS.module_dict  # no shadowing
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        assert PRETRAIN_MODELS.get(name) is cls
