"""Global attention pooling shared by the GC block and the simplified NL.

Both blocks pool a feature map into one context vector with a single,
query-independent softmax map over positions (GCNet, section 3).
"""
from typing import Tuple

import torch


def softmax_pool(x: torch.Tensor,
                 logits: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Pool ``x`` over positions with softmax weights from ``logits``.

    Args:
        x: Features of shape (N, C, H, W).
        logits: Unnormalised position scores of shape (N, 1, H, W).

    Returns:
        ``(context, weights)``: the (N, C, 1, 1) weighted sum of ``x`` and
        the (N, H*W) softmax weights, which sum to one over positions.
    """
    n, c = x.shape[:2]
    weights = logits.flatten(1).softmax(dim=1)
    # (N, C, HW) @ (N, HW, 1) -> (N, C, 1)
    context = torch.bmm(x.flatten(2), weights.unsqueeze(-1))
    return context.view(n, c, 1, 1), weights
