"""Conversion rules for the official PatchConvNet checkpoints
(facebookresearch/deit, ``patchconvnet_models.py``; files hold
``{'model': state_dict}``).

Official layout -> mmctx:

- stem ``patch_embed.proj.{0,2,4,6}.0.weight`` (convs between GELUs) ->
  ``stem.{0..3}.conv.weight``;
- trunk block ``blocks.i``: ``norm1`` -> ``norm``, ``attn.qkv_pos.0`` ->
  ``conv1``, ``.2`` -> ``dwconv``, ``.4.conv_reduce``/``.4.conv_expand``
  (timm's squeeze-excite) -> ``se.squeeze.conv``/``se.excite.conv``,
  ``.5`` -> ``conv2``, ``gamma_1`` -> ``gamma.weight``;
- classifier (kept with ``--with-head``, for
  ``ImageNetClassifier(..., pool='attention')``): ``cls_token``,
  ``blocks_token_only.0.*`` and the final ``norm`` -> the
  :class:`~mmctx.models.AttentionPool` ``pool.*``; ``head`` -> ``fc``. The
  multi-class-token model (``S60_multi``) has one ``head.c`` of shape (1, D)
  per class, stacked into one (classes, D) ``fc.weight`` whose row ``c``
  scores token ``c``.

The feature-pyramid branches of levels 0 and 1 are mmctx's own: they are
reported as new and keep their initialisation.
"""
from typing import Dict, List, Tuple

from ..analysis.complexity import ImageNetClassifier
from ..models.backbones import PatchConvNet
from .common import ConversionError, Plan, Rule, StateDict

#: (embed_dims, depth) -> arch name of :class:`PatchConvNet`.
ARCH_BY_SHAPE: Dict[Tuple[int, int], str] = {
    (dims, depth): name
    for name, (dims, depth, _) in PatchConvNet.arch_settings.items()
}
MULTI_SUFFIX = '_multi'
ARCHS = tuple(PatchConvNet.arch_settings) + ('S60' + MULTI_SUFFIX, )
NUM_CLASSES = 1000
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
    Rule('cls_token', 'pool.cls_token', 'class token(s)'),
    Rule(TOKEN_BLOCK + '.norm1.{p}', 'pool.norm1.{p}',
         'pooling LayerNorm before attention'),
    Rule(TOKEN_BLOCK + '.attn.{m:q|k|v|proj}.{p}', 'pool.{m}.{p}',
         'pooling attention projections'),
    Rule(TOKEN_BLOCK + '.gamma_1', 'pool.gamma1.weight',
         'pooling attention layer scale'),
    Rule(TOKEN_BLOCK + '.norm2.{p}', 'pool.norm2.{p}',
         'pooling LayerNorm before the MLP'),
    Rule(TOKEN_BLOCK + '.mlp.fc1.{p}', 'pool.mlp.layers.0.0.{p}',
         'pooling MLP in'),
    Rule(TOKEN_BLOCK + '.mlp.fc2.{p}', 'pool.mlp.layers.1.{p}',
         'pooling MLP out'),
    Rule(TOKEN_BLOCK + '.gamma_2', 'pool.mlp.gamma2.weight',
         'pooling MLP layer scale'),
    Rule('norm.{p}', 'pool.norm.{p}', 'final LayerNorm'),
]
HEAD_RULES: List[Rule] = [
    Rule('head.{p:weight|bias}', 'fc.{p}', 'linear classifier'),
]
MULTI_HEAD_RULES: List[Rule] = [
    Rule('head.{c:\\d+}.{p:weight|bias}', 'fc.{p}',
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


def plan(arch: str, with_head: bool = False,
         state_dict: StateDict = None) -> Plan:
    """The conversion of one PatchConvNet architecture.

    Args:
        arch: ``'S60'``, ``'S120'``, ``'B60'``, ``'B120'``, ``'L120'`` or a
            name with ``'_multi'`` (multi-class-token pooling).
        with_head: Keep the attention pool and classifier; the output then
            loads into ``ImageNetClassifier(PatchConvNet(arch,
            out_indices=(2,)), D, pool='attention', num_tokens=...)`` (keys
            ``backbone.*``, ``pool.*``, ``fc.*``) instead of the backbone.
        state_dict: The official tensors, read for the number of classes
            (1000 when absent).

    Returns:
        The :class:`~mmctx.converters.common.Plan`.

    Raises:
        ConversionError: For an unknown ``arch``.
    """
    multi = arch.endswith(MULTI_SUFFIX)
    base = arch[:-len(MULTI_SUFFIX)] if multi else arch
    if base not in PatchConvNet.arch_settings:
        raise ConversionError(f'--arch must be one of '
                              f'{tuple(PatchConvNet.arch_settings)}, '
                              f'optionally with {MULTI_SUFFIX!r}, got '
                              f'{arch!r}')
    dims = PatchConvNet.arch_settings[base][0]
    head_rules = POOL_RULES + (MULTI_HEAD_RULES if multi else HEAD_RULES)
    if not with_head:
        rules = BACKBONE_RULES + [
            rule.dropped('classifier, kept by --with-head')
            for rule in head_rules
        ]
        return Plan(arch, rules, f'PatchConvNet(arch={base!r}, '
                    'out_indices=(2, ))', lambda: PatchConvNet(arch=base),
                    new_prefixes=('pyramid.', ))
    classes = _num_classes(state_dict or {}, multi)
    tokens = classes if multi else 1
    rules = [rule.prefixed('backbone.') for rule in BACKBONE_RULES]
    return Plan(
        arch, rules + head_rules,
        f"ImageNetClassifier(PatchConvNet(arch={base!r}, out_indices=(2, "
        f")), {dims}, num_classes={classes}, pool='attention', "
        f'num_tokens={tokens})',
        lambda: ImageNetClassifier(
            PatchConvNet(arch=base, out_indices=(2, )),
            dims,
            num_classes=classes,
            pool='attention',
            num_tokens=tokens))
