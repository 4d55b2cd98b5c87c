"""Conversion rules for the official CoTNet checkpoints (JDAI-CV/CoTNet).

The official networks are timm ResNets (``models/resnet.py``): a 7x7 stem
``conv1``/``bn1``, stages ``layer1..4`` of bottlenecks with ``conv1``,
``bn1``, ``conv2`` (the CoT layer), ``conv3``, ``bn3`` and a
``downsample.0/1`` shortcut, and a classifier ``fc``. mmdet's ResNet, which
:class:`~mmctx.models.CoTNet` extends, uses the same names for all of these;
only the inside of the CoT layer differs:

=====================  ==========================
official ``conv2.*``   mmctx ``conv2.*``
=====================  ==========================
``key_embed.*``        ``key_embed.*``
``embed.*``            ``embed.*``
``conv1x1.*``          ``value_embed.*``
``bn.*``               ``norm.*``
``se.*``               ``fuse.*``
=====================  ==========================

CoTNeXt (``cotnext50_2x48d``/``cotnext101_2x48d``) has the same keys with
ResNeXt widths. The official ``LocalConvolution`` has no parameters.

SE-CoTNetD (``se_cotnetd_50/101/152``, ``models/cotnet_hybrid.py``) adds a
deep stem, ``conv1.{0,1,3,4,6}`` and ``bn1`` -> :class:`SECoTNetD`'s
``stem.{0,1,3,4,6}`` and ``stem.7``; average-pool shortcuts
``downsample.{1,2}`` (the pool has no keys); and, in the blocks that are not
CoT, timm's radix-1 split-attention conv ``conv2.{conv,bn0,fc1,bn1,fc2}``,
whose keys :class:`~mmctx.models.backbones.SEConv` keeps. Its CoT layers
rename as above.

Every converted key is prefixed ``backbone.``, the layout of mmpretrain's
``ImageClassifier`` (:func:`model_cfg`: the backbone, global average
pooling and a linear head); the official classifier ``fc``, kept with
``--with-head``, becomes ``head.fc``.
"""
from typing import Dict, List, Optional, Tuple

from ..models.backbones import CoTNet, CoTNeXt, SECoTNetD
from .common import ConversionError, Plan, Rule, StateDict

#: arch -> (mmctx class, depth)
ARCHS: Dict[str, Tuple[type, int]] = {
    'cotnet50': (CoTNet, 50),
    'cotnext50': (CoTNeXt, 50),
    'cotnet101': (CoTNet, 101),
    'cotnext101': (CoTNeXt, 101),
    'se_cotnetd50': (SECoTNetD, 50),
    'se_cotnetd101': (SECoTNetD, 101),
    'se_cotnetd152': (SECoTNetD, 152),
}
#: Blocks of ``layer3`` -> depth.
DEPTH_BY_LAYER3 = {6: 50, 23: 101, 36: 152}
#: Width of the first CoT layer -> family.
FAMILY_BY_WIDTH = {64: 'cotnet', 96: 'cotnext'}
#: A key only SE-CoTNetD has (its layer1 is SE, not CoT).
SE_COTNETD_KEY = 'layer1.0.conv2.bn0.weight'
FEATURES = 2048
NUM_CLASSES = 1000
BLOCK = 'layer{s:[1-4]}.{b:\\d+}'

BLOCK_RULES: List[Rule] = [
    Rule(BLOCK + '.{m:conv1|bn1|conv3|bn3}.{p}', BLOCK + '.{m}.{p}',
         'bottleneck 1x1 convs and norms'),
    Rule(BLOCK + '.conv2.{m:key_embed|embed}.{i}.{p}',
         BLOCK + '.conv2.{m}.{i}.{p}', 'CoT key conv and weight embedding'),
    Rule(BLOCK + '.conv2.conv1x1.{i}.{p}',
         BLOCK + '.conv2.value_embed.{i}.{p}', 'CoT value conv'),
    Rule(BLOCK + '.conv2.bn.{p}', BLOCK + '.conv2.norm.{p}',
         'CoT norm after aggregation'),
    Rule(BLOCK + '.conv2.se.{i}.{p}', BLOCK + '.conv2.fuse.{i}.{p}',
         'CoT split-attention fusion'),
]
BACKBONE_RULES: List[Rule] = [
    Rule('{m:conv1|bn1}.{p}', '{m}.{p}', 'stem conv and norm'),
    Rule(BLOCK + '.downsample.{i:[01]}.{p}', BLOCK + '.downsample.{i}.{p}',
         'projection shortcut'),
] + BLOCK_RULES
SE_COTNETD_RULES: List[Rule] = [
    Rule('conv1.{i:[0-6]}.{p}', 'stem.{i}.{p}', 'deep stem convs and norms'),
    Rule('bn1.{p}', 'stem.7.{p}', 'deep stem last norm'),
    Rule(BLOCK + '.downsample.{i:[12]}.{p}', BLOCK + '.downsample.{i}.{p}',
         'average-pool shortcut conv and norm'),
] + BLOCK_RULES + [
    Rule(BLOCK + '.conv2.{m:conv|bn0|fc1|bn1|fc2}.{p}',
         BLOCK + '.conv2.{m}.{p}', 'SE conv (radix-1 split attention)'),
]
HEAD_RULES: List[Rule] = [
    Rule('fc.{p:weight|bias}', 'head.fc.{p}', 'ImageNet classifier'),
]


def _check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise ConversionError(f'--arch must be one of {tuple(ARCHS)}, got '
                              f'{arch!r}')


def model_cfg(arch: str, with_head: bool = True,
              num_classes: int = NUM_CLASSES) -> dict:
    """The ``ImageClassifier`` model dict of one architecture.

    It is the ``model`` of the matching ``configs/classification/`` config
    and what the converted file loads into strictly.

    Args:
        arch: A key of :data:`ARCHS`.
        with_head: Include the neck (global average pooling) and the linear
            head; without them the classifier holds the backbone alone.
        num_classes: Classes of the head.

    Returns:
        The model dict. The backbone returns its last stage only and
        trains its BNs (``norm_eval=False``), as ImageNet training needs.

    Raises:
        ConversionError: For an unknown ``arch``.
    """
    _check_arch(arch)
    cls, depth = ARCHS[arch]
    backbone = dict(type=cls.__name__, depth=depth, out_indices=(3, ),
                    norm_eval=False)
    if not with_head:
        return dict(type='ImageClassifier', backbone=backbone)
    return dict(
        type='ImageClassifier',
        backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=FEATURES,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5)))


def count_blocks(state_dict: StateDict, stage: int) -> int:
    """Blocks of official stage ``layer{stage}`` in a state dict."""
    prefix = f'layer{stage}.'
    return len({
        key[len(prefix):].split('.')[0]
        for key in state_dict if key.startswith(prefix)
    })


def detect_arch(state_dict: StateDict) -> Tuple[str, str]:
    """The architecture of an official CoTNet state dict.

    Args:
        state_dict: Official keys (``module.`` already stripped).

    Returns:
        ``(arch, evidence)``.

    Raises:
        ConversionError: If the keys fit no supported architecture.
    """
    blocks = count_blocks(state_dict, 3)
    key = 'layer1.0.conv2.key_embed.0.weight'
    if SE_COTNETD_KEY in state_dict and blocks in DEPTH_BY_LAYER3:
        return f'se_cotnetd{DEPTH_BY_LAYER3[blocks]}', (
            f'{SE_COTNETD_KEY} (SE blocks in layer1), {blocks} blocks in '
            'layer3')
    if key not in state_dict or blocks not in DEPTH_BY_LAYER3:
        raise ConversionError(
            f'not a CoTNet/CoTNeXt/SE-CoTNetD checkpoint: expected {key!r} '
            f'or {SE_COTNETD_KEY!r} and 6, 23 or 36 blocks in layer3, found '
            f'{blocks} blocks (pass --arch to force an architecture)')
    width = state_dict[key].shape[0]
    family = FAMILY_BY_WIDTH.get(width)
    arch = f'{family}{DEPTH_BY_LAYER3[blocks]}'
    if family is None or arch not in ARCHS:
        raise ConversionError(
            f'no supported architecture has {blocks} blocks in layer3 and '
            f'CoT width {width} in layer1 ({key}); supported: '
            f'{tuple(ARCHS)}')
    return arch, (f'{blocks} blocks in layer3, CoT width {width} in '
                  'layer1')


def plan(arch: str, with_head: bool = False,
         state_dict: Optional[StateDict] = None) -> Plan:
    """The conversion of one CoTNet architecture.

    Args:
        arch: A key of :data:`ARCHS`.
        with_head: Keep the classifier (``head.fc.*``); without it the
            official ``fc`` is dropped and the output holds ``backbone.*``
            only.
        state_dict: The official tensors, read for the number of classes
            (1000 when absent).

    Returns:
        The :class:`~mmctx.converters.common.Plan`, whose target is
        :func:`model_cfg`.

    Raises:
        ConversionError: For an unknown ``arch``.
    """
    _check_arch(arch)
    cls = ARCHS[arch][0]
    backbone_rules = SE_COTNETD_RULES if cls is SECoTNetD else BACKBONE_RULES
    rules = [rule.prefixed('backbone.') for rule in backbone_rules]
    if not with_head:
        return Plan(arch, rules + [
            rule.dropped('classifier, kept by --with-head')
            for rule in HEAD_RULES
        ], model_cfg(arch, with_head=False))
    head = (state_dict or {}).get('fc.weight')
    classes = NUM_CLASSES if head is None else int(head.shape[0])
    return Plan(arch, rules + HEAD_RULES,
                model_cfg(arch, num_classes=classes))
