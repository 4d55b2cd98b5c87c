"""PatchConvNet's attention pooling as an mmpretrain neck."""
from typing import Sequence, Tuple

import torch

from ...registry import MODELS
from ..pooling import AttentionPool


@MODELS.register_module()
class AttentionPoolNeck(AttentionPool):
    """:class:`~mmctx.models.AttentionPool` over the last of a backbone's
    outputs, in place of mmpretrain's ``GlobalAveragePooling``.

    It takes :class:`~mmctx.models.AttentionPool`'s arguments
    (``in_channels``, ``num_tokens``, ``layer_scale_init``, ...). Its
    parameters sit directly under the neck (``neck.cls_token``,
    ``neck.attn...``), and it reports its attention map to observers under
    the neck's name, as every attention block does.
    """

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Pool the last of ``inputs`` (N, C, H, W).

        Returns:
            A one-tuple: (N, C) with one class token, (N, T, C) with ``T``.
        """
        return (super().forward(inputs[-1]), )
