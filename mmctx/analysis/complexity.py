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
from typing import Any, List, Tuple

import torch
from mmengine.analysis import FlopAnalyzer
from torch import nn


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
