"""GCNet's query-independence statistics (Cao et al., 2019, Table 1).

For every block that reports ``'spatial'`` attention maps (NL, SNL, GC,
MHSA, AA, ...) three averages of the cosine distance ``(1 - cos) / 2`` over
pairs of positions are gathered:

- ``input``: between the feature vectors of the block's input;
- ``output``: between those of its output before the residual add, i.e.
  ``output - input`` for blocks with :attr:`AttentionSource.adds_input`
  and the output itself for mixers;
- ``attention``: between the attention rows of different query positions,
  per head, averaged over heads. A global map (one query row, GC, SNL)
  has no pair of rows: its distance is 0 by definition, the
  query-independent extreme.

Pairs are the ``n (n - 1)`` ordered pairs of *distinct* positions, so
identical vectors give 0 and mutually orthogonal ones 0.5. A zero vector has
no direction: two zero vectors count as identical (cos 1) and a zero and a
non-zero vector as orthogonal (cos 0), so a block whose branch outputs the
same vector everywhere, zero included, scores 0. With ``S`` the sum of the
unit vectors, ``m`` the number of non-zero and ``z`` of zero vectors, the sum
of cos over distinct pairs is ``||S||^2 - m + z (z - 1)``: exact, in
O(n * C) time and memory, never an (n x n) matrix.

Features are channels-first, ``(N, C, *spatial)``: positions are the
spatial elements (a (N, C) vector is one position, distance 0). Blocks are
found and observed only through :mod:`mmctx.models.attention.observer`.
"""
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Dict, Iterable, List, Tuple

import torch
from torch import nn

from ..models.attention.observer import (AttentionMap, attention_sources,
                                         capture_attention)

#: Norm, relative to the largest one, below which a vector counts as zero.
ZERO_TOLERANCE = 1e-6


def mean_pair_cosine_distance(vectors: torch.Tensor) -> float:
    """Mean of ``(1 - cos(v_i, v_j)) / 2`` over pairs of distinct rows.

    Args:
        vectors: (n, d) tensor, one vector per row.

    Returns:
        The mean distance in [0, 1]; 0 when ``n < 2`` (no pair).
    """
    if vectors.dim() != 2:
        raise ValueError(f'vectors must be (n, d), got shape '
                         f'{tuple(vectors.shape)}')
    n = vectors.shape[0]
    if n < 2:
        return 0.0
    vectors = vectors.detach().double()
    norms = vectors.norm(dim=1)
    zero = norms <= ZERO_TOLERANCE * norms.max()
    num_zero = int(zero.sum())
    nonzero = vectors[~zero] / norms[~zero, None]
    total = nonzero.sum(0).square().sum() - nonzero.shape[0]
    mean_cos = (float(total) + num_zero * (num_zero - 1)) / (n * (n - 1))
    return min(max((1.0 - mean_cos) / 2.0, 0.0), 1.0)


def feature_distance(feature: torch.Tensor) -> float:
    """Mean pairwise cosine distance between the positions of one map.

    Args:
        feature: (C, *spatial) feature map of one image.

    Returns:
        See :func:`mean_pair_cosine_distance`.
    """
    return mean_pair_cosine_distance(feature.reshape(feature.shape[0], -1).T)


def attention_distance(weights: torch.Tensor) -> float:
    """Mean pairwise cosine distance between query rows, averaged over heads.

    Args:
        weights: (heads, Q, K) attention map of one image.

    Returns:
        The mean over heads; 0 for a global map (``Q == 1``).
    """
    if weights.dim() != 3:
        raise ValueError(f'weights must be (heads, Q, K), got shape '
                         f'{tuple(weights.shape)}')
    return sum(mean_pair_cosine_distance(head)
               for head in weights) / weights.shape[0]


@dataclass
class BlockDistances:
    """Averages of one block over the images it saw.

    Args:
        name: Qualified module name.
        type: Class name of the block.
        input: Mean input distance.
        output: Mean distance of the output before the residual add.
        attention: Mean attention-row distance.
        images: Number of images (times calls) averaged.
    """

    name: str
    type: str
    input: float
    output: float
    attention: float
    images: int


class _Sums:
    """Running sums of the three distances of one block."""

    def __init__(self) -> None:
        self.values: Dict[str, float] = defaultdict(float)
        self.counts: Dict[str, int] = defaultdict(int)

    def add(self, key: str, value: float) -> None:
        self.values[key] += value
        self.counts[key] += 1

    def mean(self, key: str) -> float:
        return self.values[key] / self.counts[key]


def _first_tensor(args: Tuple[Any, ...]) -> torch.Tensor:
    for arg in args:
        if isinstance(arg, torch.Tensor):
            return arg
    raise TypeError('an attention block was called without a tensor input')


def branch_output(module: nn.Module, inputs: torch.Tensor,
                  output: torch.Tensor) -> torch.Tensor:
    """The block's output before its residual add.

    Args:
        module: An :class:`AttentionSource`.
        inputs: Its input.
        output: Its output.

    Returns:
        ``output - inputs`` when ``module.adds_input``, else ``output``.
    """
    if not getattr(module, 'adds_input', False):
        return output
    if output.shape != inputs.shape:
        raise ValueError(
            f'{type(module).__name__} sets adds_input but maps '
            f'{tuple(inputs.shape)} to {tuple(output.shape)}')
    return output - inputs


class QueryIndependenceMeter:
    """Accumulate :class:`BlockDistances` over forward passes of a model.

    Args:
        model: Model whose attention blocks are measured.

    Use as a context manager around the forward passes and call
    :meth:`results` after it:

    >>> meter = QueryIndependenceMeter(model)
    >>> with meter:
    ...     for batch in batches:
    ...         model(batch)
    ...         meter.step()
    >>> rows, notes = meter.results()
    """

    def __init__(self, model: nn.Module) -> None:
        self.sources: Dict[str, nn.Module] = attention_sources(model)
        if not self.sources:
            raise ValueError(f'{type(model).__name__} has no attention block '
                             '(no AttentionSource submodule)')
        self._capture = capture_attention(model)
        self._maps: Dict[str, List[AttentionMap]] = {}
        self._handles: List[Any] = []
        self._inputs: Dict[str, torch.Tensor] = {}
        self._sums: Dict[str, _Sums] = defaultdict(_Sums)
        self._kinds: Dict[str, str] = {}
        self._global: Dict[str, bool] = {}

    def _pre_hook(self, name: str, module: nn.Module,
                  args: Tuple[Any, ...]) -> None:
        # a copy: the block might modify its input in place
        self._inputs[name] = _first_tensor(args).detach().clone()

    def _hook(self, name: str, module: nn.Module, args: Tuple[Any, ...],
              output: Any) -> None:
        inputs = self._inputs.pop(name)
        branch = branch_output(module, inputs, output)
        sums = self._sums[name]
        for feature in inputs:
            sums.add('input', feature_distance(feature))
        for feature in branch:
            sums.add('output', feature_distance(feature))

    def __enter__(self) -> 'QueryIndependenceMeter':
        self._handles = []
        for name, module in self.sources.items():
            self._handles += [
                module.register_forward_pre_hook(
                    partial(self._pre_hook, name)),
                module.register_forward_hook(partial(self._hook, name))
            ]
        self._maps = self._capture.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._capture.__exit__(*exc_info)

    def step(self) -> None:
        """Fold the attention maps recorded since the last step into the
        sums and drop them (call after every forward pass)."""
        for name, maps in self._maps.items():
            for attention in maps:
                self._kinds.setdefault(name, attention.kind)
                if attention.kind == 'spatial':
                    self._global[name] = attention.weights.shape[2] == 1
                    for weights in attention.weights:
                        self._sums[name].add('attention',
                                             attention_distance(weights))
            maps.clear()

    def results(self) -> Tuple[List[BlockDistances], List[str]]:
        """Per-block averages, and notes on the blocks left out.

        Returns:
            ``(rows, notes)``: a row for every block that ran and reported
            ``'spatial'`` maps, in definition order; a note for each other
            block left out (local or channel maps, no map reported, never
            called) and for each global map (attention distance 0).
        """
        rows, notes = [], []
        for name, module in self.sources.items():
            kind = self._kinds.get(name)
            sums = self._sums.get(name)
            if sums is None:
                notes.append(f'{name}: never called, skipped')
            elif kind is None:
                notes.append(f'{name}: reported no attention map, skipped')
            elif kind != 'spatial':
                notes.append(f'{name}: {kind!r} attention is not non-local '
                             'style, skipped')
            else:
                if self._global[name]:
                    notes.append(f'{name}: global map (one query row), '
                                 'attention distance 0 by definition')
                rows.append(
                    BlockDistances(name, type(module).__name__,
                                   sums.mean('input'), sums.mean('output'),
                                   sums.mean('attention'),
                                   sums.counts['input']))
        return rows, notes


def measure(model: nn.Module, batches: Iterable[Any],
            forward: Callable[[nn.Module, Any], Any]
            ) -> Tuple[List[BlockDistances], List[str]]:
    """Run ``forward(model, batch)`` on every batch under a meter.

    Args:
        model: Model to measure (put in eval mode, run without grad).
        batches: Inputs, one per forward pass.
        forward: Runs the model on one batch.

    Returns:
        See :meth:`QueryIndependenceMeter.results`.
    """
    model.eval()
    meter = QueryIndependenceMeter(model)
    with meter, torch.no_grad():
        for batch in batches:
            forward(model, batch)
            meter.step()
    return meter.results()


def markdown_table(rows: Iterable[BlockDistances]) -> str:
    """The rows as a markdown table."""
    lines = [
        '| block | type | input | output | attention | images |',
        '|---|---|---|---|---|---|'
    ]
    lines += [
        f'| {r.name} | {r.type} | {r.input:.4f} | {r.output:.4f} | '
        f'{r.attention:.4f} | {r.images} |' for r in rows
    ]
    return '\n'.join(lines)
