"""Synthetic official checkpoints: the key names, shapes and order of the
official models' state dicts, written out from reading their definitions
(JDAI-CV/CoTNet ``models/cotnet.py`` on timm's ``models/resnet.py``;
facebookresearch/deit ``patchconvnet_models.py``), never derived from
mmctx's models. Values are random (BN variances positive) so numerical
comparisons mean something.
"""
import math
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

COT_LAYERS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
PATCHCONVNET = {
    'S60': (384, 60),
    'S120': (384, 120),
    'B60': (768, 60),
    'B120': (768, 120),
    'L120': (1024, 120)
}
Spec = List[Tuple[str, Tuple[int, ...]]]


def _batch_norm(prefix: str, channels: int) -> Spec:
    return [(f'{prefix}.{name}', (channels, ))
            for name in ('weight', 'bias', 'running_mean', 'running_var')
            ] + [(f'{prefix}.num_batches_tracked', ())]


def _cot_layer(prefix: str, dim: int, cardinality: int) -> Spec:
    """``CotLayer`` (cardinality 1) or ``CoXtLayer`` (cardinality 2)."""
    key_groups = 4 if cardinality == 1 else 8
    groups = cardinality  # CoXt's dw_group
    weights = 9 * dim // 8  # k*k * dim / share_planes
    attn = max(dim * 2 // 4, 32)
    return ([(f'{prefix}.key_embed.0.weight', (dim, dim // key_groups, 3,
                                                3))] +
            _batch_norm(f'{prefix}.key_embed.1', dim) +
            [(f'{prefix}.embed.0.weight', (dim // 2, 2 * dim // groups, 1, 1))
             ] + _batch_norm(f'{prefix}.embed.1', dim // 2) +
            [(f'{prefix}.embed.3.weight', (weights, dim // 2 // groups, 1, 1)),
             (f'{prefix}.embed.3.bias', (weights, )),
             (f'{prefix}.embed.4.weight', (weights, )),
             (f'{prefix}.embed.4.bias', (weights, )),
             (f'{prefix}.conv1x1.0.weight', (dim, dim // groups, 1, 1))] +
            _batch_norm(f'{prefix}.conv1x1.1', dim) +
            _batch_norm(f'{prefix}.bn', dim) +
            [(f'{prefix}.se.0.weight', (attn, dim, 1, 1)),
             (f'{prefix}.se.0.bias', (attn, ))] +
            _batch_norm(f'{prefix}.se.1', attn) +
            [(f'{prefix}.se.3.weight', (2 * dim, attn, 1, 1)),
             (f'{prefix}.se.3.bias', (2 * dim, ))])


def cotnet_spec(depth: int = 50, next_: bool = False,
                num_classes: int = 1000) -> Spec:
    """Keys and shapes of ``cotnet{depth}`` or ``cotnext{depth}_2x48d``."""
    cardinality, base_width = (2, 48) if next_ else (1, 64)
    spec = [('conv1.weight', (64, 3, 7, 7))] + _batch_norm('bn1', 64)
    inplanes = 64
    for stage, (planes, blocks) in enumerate(
            zip((64, 128, 256, 512), COT_LAYERS[depth])):
        width = int(math.floor(planes * base_width / 64)) * cardinality
        out = planes * 4
        for block in range(blocks):
            prefix = f'layer{stage + 1}.{block}'
            spec += [(f'{prefix}.conv1.weight', (width, inplanes, 1, 1))]
            spec += _batch_norm(f'{prefix}.bn1', width)
            spec += _cot_layer(f'{prefix}.conv2', width, cardinality)
            spec += [(f'{prefix}.conv3.weight', (out, width, 1, 1))]
            spec += _batch_norm(f'{prefix}.bn3', out)
            if block == 0:  # stride 2, or 64 -> 256 channels in layer1
                spec += [(f'{prefix}.downsample.0.weight',
                          (out, inplanes, 1, 1))]
                spec += _batch_norm(f'{prefix}.downsample.1', out)
            inplanes = out
    return spec + [('fc.weight', (num_classes, 2048)),
                   ('fc.bias', (num_classes, ))]


def patchconvnet_spec(arch: str = 'S60', multi: bool = False,
                      num_classes: int = 1000) -> Spec:
    """Keys and shapes of deit's ``S60`` ... ``L120`` or ``S60_multi``."""
    dim, depth = PATCHCONVNET[arch]
    spec = [('cls_token', (1, num_classes if multi else 1, dim))]
    widths = [3, dim // 8, dim // 4, dim // 2, dim]
    spec += [(f'patch_embed.proj.{2 * i}.0.weight',
              (widths[i + 1], widths[i], 3, 3)) for i in range(4)]
    for i in range(depth):
        p = f'blocks.{i}'
        spec += [(f'{p}.gamma_1', (dim, )), (f'{p}.norm1.weight', (dim, )),
                 (f'{p}.norm1.bias', (dim, )),
                 (f'{p}.attn.qkv_pos.0.weight', (dim, dim, 1, 1)),
                 (f'{p}.attn.qkv_pos.0.bias', (dim, )),
                 (f'{p}.attn.qkv_pos.2.weight', (dim, 1, 3, 3)),
                 (f'{p}.attn.qkv_pos.2.bias', (dim, )),
                 (f'{p}.attn.qkv_pos.4.conv_reduce.weight',
                  (dim // 4, dim, 1, 1)),
                 (f'{p}.attn.qkv_pos.4.conv_reduce.bias', (dim // 4, )),
                 (f'{p}.attn.qkv_pos.4.conv_expand.weight',
                  (dim, dim // 4, 1, 1)),
                 (f'{p}.attn.qkv_pos.4.conv_expand.bias', (dim, )),
                 (f'{p}.attn.qkv_pos.5.weight', (dim, dim, 1, 1)),
                 (f'{p}.attn.qkv_pos.5.bias', (dim, ))]
    t = 'blocks_token_only.0'
    spec += [(f'{t}.gamma_1', (dim, )), (f'{t}.gamma_2', (dim, )),
             (f'{t}.norm1.weight', (dim, )), (f'{t}.norm1.bias', (dim, ))]
    for name in ('q', 'k', 'v', 'proj'):
        spec += [(f'{t}.attn.{name}.weight', (dim, dim)),
                 (f'{t}.attn.{name}.bias', (dim, ))]
    spec += [(f'{t}.norm2.weight', (dim, )), (f'{t}.norm2.bias', (dim, )),
             (f'{t}.mlp.fc1.weight', (3 * dim, dim)),
             (f'{t}.mlp.fc1.bias', (3 * dim, )),
             (f'{t}.mlp.fc2.weight', (dim, 3 * dim)),
             (f'{t}.mlp.fc2.bias', (dim, )), ('norm.weight', (dim, )),
             ('norm.bias', (dim, ))]
    if multi:
        for c in range(num_classes):
            spec += [(f'head.{c}.weight', (1, dim)), (f'head.{c}.bias', (1, ))]
    else:
        spec += [('head.weight', (num_classes, dim)),
                 ('head.bias', (num_classes, ))]
    return spec


def materialize(spec: Spec, seed: int = 0) -> Dict[str, torch.Tensor]:
    """Random tensors for a spec (BN counters are integers, variances > 0).
    """
    generator = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in spec:
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(7)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.2
    return state


def parameter_count(spec: Spec) -> int:
    """Learnable parameters of a spec (BN statistics excluded)."""
    return sum(
        math.prod(shape) for key, shape in spec
        if not key.endswith(('running_mean', 'running_var',
                             'num_batches_tracked')))
