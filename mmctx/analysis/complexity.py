"""Parameter and FLOP counts with mmengine's jit-based ``FlopAnalyzer``.

FLOPs follow mmengine (fvcore): one multiply-add counts as one FLOP, the
convention of the ResNet, CoTNet and BoTNet papers. The analyzer has no
handle for two ops our blocks use, so they are counted explicitly:

- ``aten::addcmul_`` (the CoT local aggregation accumulates the k*k shifted
  products in place): one multiply-add per output element per call, so a
  k x k aggregation counts ``k*k*C*H*W``, the same as its unfold form;
- ``aten::scaled_dot_product_attention``: ``Lq*Lk*(E + Ev)`` per batch and
  head, the two matrix products (softmax and the one-hot relative columns of
  MHSA's augmented vectors are counted as they run, with the augmented
  widths ``E``);
- ``ChunkedRelativeAttention`` (AA-Conv's narrow-head attention, one traced
  node): the same two products, ``Lq*Lk*(E + Ev)`` with the real widths
  (its relative-logit adds are elementwise, uncounted as in the explicit
  form).

Elementwise ops (activations, normalisation, softmax) are not counted, as
in mmengine's defaults.
"""
from typing import Any, List, Tuple, Union

import torch
from mmengine.analysis import FlopAnalyzer
from torch import nn

from ..models.checks import check_choice
from ..models.pooling import AttentionPool
from ..registry import MODELS

POOLS = ('avg', 'attention')


def _shape(value: Any) -> List[int]:
    return list(value.type().sizes())


def addcmul_flops(inputs: List[Any], outputs: List[Any]) -> int:
    """One multiply-add per element of the accumulated tensor."""
    return int(torch.tensor(_shape(inputs[0])).prod())


def attention_flops(inputs: List[Any], outputs: List[Any]) -> int:
    """``q k^T`` and ``p v``: ``B*heads*Lq*Lk*(E + Ev)``."""
    query, key, value = (_shape(v) for v in inputs[:3])
    batch = int(torch.tensor(query[:-2]).prod())
    return batch * query[-2] * key[-2] * (query[-1] + value[-1])


@MODELS.register_module()
class ImageNetClassifier(nn.Module):
    """A backbone's last output, global pooling and a linear head, the form
    in which papers report ImageNet parameters and FLOPs, and the model that
    converted ``--with-head`` checkpoints load into.

    Args:
        backbone: Module (or config of one) returning a tuple of feature
            maps.
        channels: Channels of the last map.
        num_classes: Classes of the linear head. Default: 1000.
        pool: ``'avg'`` (global average pooling) or ``'attention'`` (an
            :class:`~mmctx.models.AttentionPool` over ``channels``, as
            PatchConvNet's classifier). Default: ``'avg'``.
        num_tokens: Class tokens of the attention pool: 1, or
            ``num_classes`` for PatchConvNet's multi-class-token model, in
            which class ``c`` is scored from token ``c`` alone by row ``c``
            of ``fc`` (the official per-class ``Linear(D, 1)`` heads).
            Default: 1.
    """

    def __init__(self,
                 backbone: Union[nn.Module, dict],
                 channels: int,
                 num_classes: int = 1000,
                 pool: str = 'avg',
                 num_tokens: int = 1) -> None:
        super().__init__()
        check_choice('pool', pool, POOLS)
        if num_tokens not in (1, num_classes) or (num_tokens > 1
                                                  and pool != 'attention'):
            raise ValueError(f'num_tokens must be 1, or num_classes '
                             f'({num_classes}) with pool=\'attention\', got '
                             f'{num_tokens!r} with pool={pool!r}')
        self.backbone = MODELS.build(backbone) if isinstance(
            backbone, dict) else backbone
        self.pool = AttentionPool(
            channels, num_tokens=num_tokens) if pool == 'attention' else None
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits for images ``x``."""
        features = self.backbone(x)[-1]
        if self.pool is None:
            return self.fc(features.mean((2, 3)))
        features = self.pool(features)
        if features.dim() == 3:  # (N, classes, C): one token per class
            return (features * self.fc.weight).sum(-1) + self.fc.bias
        return self.fc(features)


def count(model: nn.Module, inputs: Tuple[torch.Tensor, ...]) -> Tuple[int,
                                                                       int]:
    """Parameters and FLOPs of ``model`` on ``inputs``.

    Args:
        model: Module to analyse (put in eval mode here).
        inputs: Positional inputs of its forward.

    Returns:
        ``(parameters, flops)``.
    """
    model.eval()
    analyzer = FlopAnalyzer(model, inputs).set_op_handle(
        'aten::addcmul_', addcmul_flops,
        'aten::scaled_dot_product_attention', attention_flops,
        'prim::PythonOp.ChunkedRelativeAttention', attention_flops)
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with torch.no_grad():
        flops = analyzer.total()
    return sum(p.numel() for p in model.parameters()), flops
