"""Conversion rules for the official PatchConvNet checkpoints
(facebookresearch/deit, ``patchconvnet_models.py``; files hold
``{'model': state_dict}``).

Official layout -> mmpretrain ``ImageClassifier`` (:func:`model_cfg`):

- stem ``patch_embed.proj.{0,2,4,6}.0.weight`` (convs between GELUs) ->
  ``backbone.stem.{0..3}.conv.weight``;
- trunk block ``blocks.i`` -> ``backbone.blocks.i``: ``norm1`` -> ``norm``,
  ``attn.qkv_pos.0`` -> ``conv1``, ``.2`` -> ``dwconv``,
  ``.4.conv_reduce``/``.4.conv_expand`` (timm's squeeze-excite) ->
  ``se.squeeze.conv``/``se.excite.conv``, ``.5`` -> ``conv2``,
  ``gamma_1`` -> ``gamma.weight``;
- classifier (kept with ``--with-head``): ``cls_token``,
  ``blocks_token_only.0.*`` and the final ``norm`` -> the
  :class:`~mmctx.models.AttentionPoolNeck` ``neck.*``; ``head`` ->
  ``head.fc`` of a ``LinearClsHead``. The multi-class-token model
  (``S60_multi``) has one ``head.c`` of shape (1, D) per class, stacked
  into the (classes, D) ``head.fc.weight`` of a
  :class:`~mmctx.models.MultiTokenClsHead`, whose row ``c`` scores token
  ``c``.

The classifier's backbone returns the trunk output alone
(``out_indices=(2, )``). The feature-pyramid branches of levels 0 and 1 are
mmctx's own: a detection or segmentation backbone that returns them loads
the file with ``prefix='backbone.'`` and keeps their initialisation.
"""
import inspect
from typing import Dict, List, Optional, Tuple

from ..models.backbones import PatchConvNet
from ..models.pooling import AttentionPool
from .common import ConversionError, Plan, Rule, StateDict

#: (embed_dims, depth) -> arch name of :class:`PatchConvNet`.
ARCH_BY_SHAPE: Dict[Tuple[int, int], str] = {
    (dims, depth): name
    for name, (dims, depth, _) in PatchConvNet.arch_settings.items()
}
MULTI_SUFFIX = '_multi'
ARCHS = tuple(PatchConvNet.arch_settings) + ('S60' + MULTI_SUFFIX, )
NUM_CLASSES = 1000
#: The layer scale :class:`~mmctx.models.AttentionPool` starts from when
#: none is given (S60's).
POOL_LAYER_SCALE = inspect.signature(
    AttentionPool).parameters['layer_scale_init'].default
BLOCK = 'blocks.{i:\\d+}'
TOKEN_BLOCK = 'blocks_token_only.0'

BACKBONE_RULES: List[Rule] = [
    Rule(f'patch_embed.proj.{2 * i}.0.weight', f'stem.{i}.conv.weight',
         f'stem conv {i + 1}') for i in range(4)
] + [
    Rule(BLOCK + '.norm1.{p}', BLOCK + '.norm.{p}', 'trunk LayerNorm'),
    Rule(BLOCK + '.attn.qkv_pos.0.{p}', BLOCK + '.conv1.{p}',
         'trunk 1x1 conv in'),
    Rule(BLOCK + '.attn.qkv_pos.2.{p}', BLOCK + '.dwconv.{p}',
         'trunk 3x3 depthwise conv'),
    Rule(BLOCK + '.attn.qkv_pos.4.conv_reduce.{p}',
         BLOCK + '.se.squeeze.conv.{p}', 'squeeze-excite reduction'),
    Rule(BLOCK + '.attn.qkv_pos.4.conv_expand.{p}',
         BLOCK + '.se.excite.conv.{p}', 'squeeze-excite expansion'),
    Rule(BLOCK + '.attn.qkv_pos.5.{p}', BLOCK + '.conv2.{p}',
         'trunk 1x1 conv out'),
    Rule(BLOCK + '.gamma_1', BLOCK + '.gamma.weight', 'trunk layer scale'),
]
POOL_RULES: List[Rule] = [
    Rule('cls_token', 'neck.cls_token', 'class token(s)'),
    Rule(TOKEN_BLOCK + '.norm1.{p}', 'neck.norm1.{p}',
         'pooling LayerNorm before attention'),
    Rule(TOKEN_BLOCK + '.attn.{m:q|k|v|proj}.{p}', 'neck.{m}.{p}',
         'pooling attention projections'),
    Rule(TOKEN_BLOCK + '.gamma_1', 'neck.gamma1.weight',
         'pooling attention layer scale'),
    Rule(TOKEN_BLOCK + '.norm2.{p}', 'neck.norm2.{p}',
         'pooling LayerNorm before the MLP'),
    Rule(TOKEN_BLOCK + '.mlp.fc1.{p}', 'neck.mlp.layers.0.0.{p}',
         'pooling MLP in'),
    Rule(TOKEN_BLOCK + '.mlp.fc2.{p}', 'neck.mlp.layers.1.{p}',
         'pooling MLP out'),
    Rule(TOKEN_BLOCK + '.gamma_2', 'neck.mlp.gamma2.weight',
         'pooling MLP layer scale'),
    Rule('norm.{p}', 'neck.norm.{p}', 'final LayerNorm'),
]
HEAD_RULES: List[Rule] = [
    Rule('head.{p:weight|bias}', 'head.fc.{p}', 'linear classifier'),
]
MULTI_HEAD_RULES: List[Rule] = [
    Rule('head.{c:\\d+}.{p:weight|bias}', 'head.fc.{p}',
         'one (1, D) classifier per class token, stacked', stack='c'),
]


def count_blocks(state_dict: StateDict) -> int:
    """Trunk blocks (``blocks.i``) in an official state dict."""
    return len({
        key.split('.')[1]
        for key in state_dict if key.startswith('blocks.')
    })


def detect_arch(state_dict: StateDict) -> Tuple[str, str]:
    """The architecture of an official PatchConvNet state dict.

    Args:
        state_dict: Official keys (``module.`` already stripped).

    Returns:
        ``(arch, evidence)``; multi-class-token models get ``_multi``.

    Raises:
        ConversionError: If the keys fit no supported architecture.
    """
    key = 'patch_embed.proj.6.0.weight'
    if key not in state_dict:
        raise ConversionError(
            f'not a PatchConvNet checkpoint: no {key!r} (the last stem '
            'conv); pass --arch to force an architecture')
    dims, depth = state_dict[key].shape[0], count_blocks(state_dict)
    name = ARCH_BY_SHAPE.get((dims, depth))
    if name is None:
        raise ConversionError(
            f'no supported architecture has width {dims} ({key}) and '
            f'{depth} trunk blocks; supported: {tuple(ARCH_BY_SHAPE)}')
    tokens = state_dict['cls_token'].shape[1] if 'cls_token' in \
        state_dict else 1
    evidence = f'width {dims}, {depth} trunk blocks'
    if tokens > 1:
        return name + MULTI_SUFFIX, evidence + f', {tokens} class tokens'
    return name, evidence


def _num_classes(state_dict: StateDict, multi: bool) -> int:
    if multi:
        return int(state_dict['cls_token'].shape[1]) \
            if 'cls_token' in state_dict else NUM_CLASSES
    head = state_dict.get('head.weight')
    return NUM_CLASSES if head is None else int(head.shape[0])


def _split_arch(arch: str) -> Tuple[str, bool]:
    multi = arch.endswith(MULTI_SUFFIX)
    base = arch[:-len(MULTI_SUFFIX)] if multi else arch
    if base not in PatchConvNet.arch_settings:
        raise ConversionError(f'--arch must be one of '
                              f'{tuple(PatchConvNet.arch_settings)}, '
                              f'optionally with {MULTI_SUFFIX!r}, got '
                              f'{arch!r}')
    return base, multi


def model_cfg(arch: str, with_head: bool = True,
              num_classes: int = NUM_CLASSES) -> dict:
    """The ``ImageClassifier`` model dict of one architecture.

    It is the ``model`` of the matching ``configs/classification/`` config
    and what the converted file loads into strictly.

    Args:
        arch: ``'S60'``, ``'S120'``, ``'B60'``, ``'B120'``, ``'L120'`` or a
            name with ``'_multi'`` (one class token per class).
        with_head: Include the attention-pooling neck and the head; without
            them the classifier holds the backbone alone.
        num_classes: Classes of the head (and class tokens of a
            ``_multi`` model's neck).

    Returns:
        The model dict: ``PatchConvNet(arch, out_indices=(2, ))``, an
        ``AttentionPoolNeck`` with one class token (``num_classes`` for
        ``_multi``, then with a ``MultiTokenClsHead``) and a
        ``LinearClsHead``. The neck's layer scale is the trunk's when it
        is not S60's.

    Raises:
        ConversionError: For an unknown ``arch``.
    """
    base, multi = _split_arch(arch)
    backbone = dict(type='PatchConvNet', arch=base, out_indices=(2, ))
    if not with_head:
        return dict(type='ImageClassifier', backbone=backbone)
    dims, _, layer_scale = PatchConvNet.arch_settings[base]
    neck = dict(type='AttentionPoolNeck', in_channels=dims,
                num_tokens=num_classes if multi else 1)
    if layer_scale != POOL_LAYER_SCALE:
        neck['layer_scale_init'] = layer_scale
    return dict(
        type='ImageClassifier',
        backbone=backbone,
        neck=neck,
        head=dict(
            type='MultiTokenClsHead' if multi else 'LinearClsHead',
            num_classes=num_classes,
            in_channels=dims,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5)))


def plan(arch: str, with_head: bool = False,
         state_dict: Optional[StateDict] = None) -> Plan:
    """The conversion of one PatchConvNet architecture.

    Args:
        arch: ``'S60'``, ``'S120'``, ``'B60'``, ``'B120'``, ``'L120'`` or a
            name with ``'_multi'`` (multi-class-token pooling).
        with_head: Keep the attention pool and classifier (``neck.*``,
            ``head.fc.*``); without it they are dropped and the output
            holds ``backbone.*`` only.
        state_dict: The official tensors, read for the number of classes
            (1000 when absent).

    Returns:
        The :class:`~mmctx.converters.common.Plan`, whose target is
        :func:`model_cfg`.

    Raises:
        ConversionError: For an unknown ``arch``.
    """
    _, multi = _split_arch(arch)
    head_rules = POOL_RULES + (MULTI_HEAD_RULES if multi else HEAD_RULES)
    rules = [rule.prefixed('backbone.') for rule in BACKBONE_RULES]
    if not with_head:
        return Plan(arch, rules + [
            rule.dropped('classifier, kept by --with-head')
            for rule in head_rules
        ], model_cfg(arch, with_head=False))
    classes = _num_classes(state_dict or {}, multi)
    return Plan(arch, rules + head_rules,
                model_cfg(arch, num_classes=classes))
