"""One mechanism for every attention block to report its attention weights.

Blocks inherit :class:`AttentionSource` and call :meth:`report_attention`
only when :attr:`AttentionSource.observed` is true, so observation costs one
attribute check when nobody is listening. Analysis tools attach to a model
with :class:`capture_attention` and never reach into block internals.

Example:
    >>> with capture_attention(model) as maps:
    ...     model(inputs)
    >>> maps['backbone.layer3.0.context_block'][0].weights.shape
"""
from dataclasses import dataclass
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

@dataclass
class AttentionMap:
    """Attention weights of one forward call of one block.

    Args:
        weights: For ``'spatial'`` maps a (N, heads, Q, K) tensor whose row
            ``[n, h, q]`` holds the weights query ``q`` gives to the ``K``
            key positions (a global map has ``Q == 1``). For ``'local'``
            maps (CoT) a (N, groups, k*k, H, W) tensor: each position's
            weights over its k x k window. For ``'channel'`` maps a (N, C)
            tensor of per-channel gates.
        query_hw: Spatial size of the query grid (``(1, 1)`` for a global
            map, the map size for local maps); ``None`` for channel maps.
        key_hw: Spatial size of the key grid; ``None`` for local and
            channel maps.
        kind: ``'spatial'``, ``'local'`` or ``'channel'``.
    """

    weights: torch.Tensor
    query_hw: Optional[Tuple[int, int]]
    key_hw: Optional[Tuple[int, int]]
    kind: str = 'spatial'


Observer = Callable[['AttentionSource', AttentionMap], None]


class AttentionSource:
    """Mixin for modules that can hand their attention weights to observers.

    The class attribute keeps the unobserved path free: no per-instance
    state exists until :class:`capture_attention` attaches an observer.
    """

    _attention_observer: Optional[Observer] = None

    #: Whether the block's forward returns ``input + branch(input)``, the
    #: plug-in form (GC, NL, SNL). Analysis tools that need the branch alone
    #: take ``output - input`` when this is true; mixers, whose output is
    #: the branch itself, keep the default False.
    adds_input: bool = False

    @property
    def observed(self) -> bool:
        """Whether an observer is attached to this module."""
        return self._attention_observer is not None

    def report_attention(self,
                         weights: torch.Tensor,
                         query_hw: Optional[Tuple[int, int]],
                         key_hw: Optional[Tuple[int, int]],
                         kind: str = 'spatial') -> None:
        """Send detached weights to the attached observer, if any.

        Args:
            weights: Attention weights, see :class:`AttentionMap`.
            query_hw: Query grid size, or ``None`` for channel maps.
            key_hw: Key grid size, or ``None`` for channel maps.
            kind: ``'spatial'``, ``'local'`` or ``'channel'``.
        """
        observer = self._attention_observer
        if observer is not None:
            observer(self, AttentionMap(weights.detach(), query_hw, key_hw,
                                        kind))


def attention_sources(model: nn.Module) -> Dict[str, nn.Module]:
    """Return every attention-reporting submodule of ``model`` by name.

    Args:
        model: Any module tree.

    Returns:
        Mapping from qualified module name to module, in definition order.
    """
    return {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, AttentionSource)
    }


class capture_attention:  # noqa: N801 - used as a context manager
    """Record the attention maps of a model's blocks while the context is on.

    Args:
        model: Model whose :class:`AttentionSource` blocks are observed.
        names: Qualified names of the blocks to observe; all when ``None``.
            An unknown name raises ``KeyError`` listing the available ones.

    The context value is a dict from block name to the list of
    :class:`AttentionMap` recorded for it, one per forward call. Captures
    nest: an inner capture also passes each map on to the outer one.
    """

    def __init__(self,
                 model: nn.Module,
                 names: Optional[Sequence[str]] = None) -> None:
        sources = attention_sources(model)
        if names is not None:
            unknown = [name for name in names if name not in sources]
            if unknown:
                raise KeyError(
                    f'no attention block named {unknown}; available: '
                    f'{sorted(sources)}')
            sources = {name: sources[name] for name in names}
        self._sources = sources
        self.maps: Dict[str, List[AttentionMap]] = {
            name: []
            for name in sources
        }

        self._outer: Dict[str, Optional[Observer]] = {}

    def _record(self, name: str, module: AttentionSource,
                attention: AttentionMap) -> None:
        self.maps[name].append(attention)
        outer = self._outer.get(name)
        if outer is not None:
            outer(module, attention)

    def __enter__(self) -> Dict[str, List[AttentionMap]]:
        for name, module in self._sources.items():
            self._outer[name] = module.__dict__.get('_attention_observer')
            module._attention_observer = partial(self._record, name)
        return self.maps

    def __exit__(self, *exc_info) -> None:
        for name, module in self._sources.items():
            outer = self._outer.pop(name)
            if outer is None:
                module.__dict__.pop('_attention_observer', None)
            else:
                module._attention_observer = outer
