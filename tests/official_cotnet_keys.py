"""Key names and shapes of official JDAI-CV/CoTNet checkpoints, written out
from reading the official model definitions (never imported), for synthetic
checkpoints in the converter and backbone tests.

SE-CoTNetD (official ``models/cotnet_hybrid.py``, ``se_cotnetd_50/101/152``):

- stem ``conv1`` = Sequential(3x3 s2 conv, BN, ReLU, 3x3 conv, BN, ReLU,
  3x3 conv) with ``stem_width`` 32 (50) or 64 (101/152) and ``2 *
  stem_width`` output channels, then ``bn1``; no max-pool;
- four stages of bottlenecks (3-4-6-3, 3-4-23-3, 3-8-36-3), each stage
  starting with stride 2 and an average-pool shortcut ``downsample.0``
  (pool, no weights), ``downsample.1`` (1x1 conv), ``downsample.2`` (BN);
- ``conv2`` of each bottleneck is a CoT layer in stage 4 and in the even
  blocks of stage 3, and a radix-1 split-attention conv (3x3 conv ``conv``,
  ``bn0``, and an SE gate ``fc1``/``bn1``/``fc2`` of width
  ``max(C // 4, 32)``) elsewhere; no ``bn2``;
- ``fc``: the 1000-class classifier on 2048 channels.
"""
from collections import OrderedDict
from typing import Dict, Iterator, Tuple

import torch

Shape = Tuple[int, ...]

SE_COTNETD_LAYERS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
SE_COTNETD_STEM_WIDTH = {50: 32, 101: 64, 152: 64}
BUFFER_SUFFIXES = ('running_mean', 'running_var', 'num_batches_tracked')


def _bn(prefix: str, channels: int) -> Iterator[Tuple[str, Shape]]:
    for name in ('weight', 'bias', 'running_mean', 'running_var'):
        yield f'{prefix}.{name}', (channels, )
    yield f'{prefix}.num_batches_tracked', ()


def _conv(prefix: str, cout: int, cin: int, kernel: int = 1,
          bias: bool = False) -> Iterator[Tuple[str, Shape]]:
    yield f'{prefix}.weight', (cout, cin, kernel, kernel)
    if bias:
        yield f'{prefix}.bias', (cout, )


def _split_attn_radix1(prefix: str, dim: int) -> Iterator[Tuple[str, Shape]]:
    attn = max(dim // 4, 32)
    yield from _conv(f'{prefix}.conv', dim, dim, 3)
    yield from _bn(f'{prefix}.bn0', dim)
    yield from _conv(f'{prefix}.fc1', attn, dim, 1, bias=True)
    yield from _bn(f'{prefix}.bn1', attn)
    yield from _conv(f'{prefix}.fc2', dim, attn, 1, bias=True)


def _cot_layer(prefix: str, dim: int) -> Iterator[Tuple[str, Shape]]:
    weights = 9 * dim // 8  # k*k weights for each of dim/8 groups
    attn = max(dim // 2, 32)
    yield f'{prefix}.key_embed.0.weight', (dim, dim // 4, 3, 3)
    yield from _bn(f'{prefix}.key_embed.1', dim)
    yield from _conv(f'{prefix}.embed.0', dim // 2, 2 * dim)
    yield from _bn(f'{prefix}.embed.1', dim // 2)
    yield from _conv(f'{prefix}.embed.3', weights, dim // 2, bias=True)
    yield f'{prefix}.embed.4.weight', (weights, )  # GroupNorm
    yield f'{prefix}.embed.4.bias', (weights, )
    yield from _conv(f'{prefix}.conv1x1.0', dim, dim)
    yield from _bn(f'{prefix}.conv1x1.1', dim)
    yield from _bn(f'{prefix}.bn', dim)
    yield from _conv(f'{prefix}.se.0', attn, dim, bias=True)
    yield from _bn(f'{prefix}.se.1', attn)
    yield from _conv(f'{prefix}.se.3', 2 * dim, attn, bias=True)


def se_cotnetd_uses_cot(stage: int, block: int) -> bool:
    """Whether block ``block`` of stage ``stage`` (0-based) is a CoT block
    in the official SE-CoTNetD (else a split-attention/SE block)."""
    return stage == 3 or (stage == 2 and block % 2 == 0)


def se_cotnetd_shapes(depth: int = 50,
                      with_head: bool = True) -> Dict[str, Shape]:
    """Official SE-CoTNetD state-dict keys and shapes, in module order.

    Args:
        depth: 50, 101 or 152.
        with_head: Include the classifier ``fc``. Default: True.

    Returns:
        Ordered ``{key: shape}`` (BN buffers included).
    """
    stem = SE_COTNETD_STEM_WIDTH[depth]
    shapes = OrderedDict()
    shapes.update(_conv('conv1.0', stem, 3, 3))
    shapes.update(_bn('conv1.1', stem))
    shapes.update(_conv('conv1.3', stem, stem, 3))
    shapes.update(_bn('conv1.4', stem))
    shapes.update(_conv('conv1.6', 2 * stem, stem, 3))
    shapes.update(_bn('bn1', 2 * stem))
    inplanes = 2 * stem
    for stage, blocks in enumerate(SE_COTNETD_LAYERS[depth]):
        width = 64 * 2**stage
        for block in range(blocks):
            prefix = f'layer{stage + 1}.{block}'
            shapes.update(_conv(f'{prefix}.conv1', width, inplanes))
            shapes.update(_bn(f'{prefix}.bn1', width))
            if se_cotnetd_uses_cot(stage, block):
                shapes.update(_cot_layer(f'{prefix}.conv2', width))
            else:
                shapes.update(_split_attn_radix1(f'{prefix}.conv2', width))
            shapes.update(_conv(f'{prefix}.conv3', 4 * width, width))
            shapes.update(_bn(f'{prefix}.bn3', 4 * width))
            if block == 0:
                shapes.update(
                    _conv(f'{prefix}.downsample.1', 4 * width, inplanes))
                shapes.update(_bn(f'{prefix}.downsample.2', 4 * width))
            inplanes = 4 * width
    if with_head:
        shapes['fc.weight'] = (1000, 2048)
        shapes['fc.bias'] = (1000, )
    return shapes


def num_parameters(shapes: Dict[str, Shape]) -> int:
    """Parameters (BN running statistics excluded) of a ``{key: shape}``."""
    total = 0
    for key, shape in shapes.items():
        if not key.endswith(BUFFER_SUFFIXES):
            total += int(torch.Size(shape).numel())
    return total


def synthetic_state_dict(shapes: Dict[str, Shape],
                         seed: int = 0) -> 'OrderedDict[str, torch.Tensor]':
    """Random tensors with the given keys and shapes (positive running
    variances, integer batch counters), as a checkpoint would hold.

    Args:
        shapes: ``{key: shape}``, e.g. from :func:`se_cotnetd_shapes`.
        seed: Random seed. Default: 0.

    Returns:
        Ordered ``{key: tensor}``.
    """
    generator = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in shapes.items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(1000)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.1
    return state
