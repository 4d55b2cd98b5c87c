"""PatchConvNet's attention pooling as an mmpretrain neck."""
from typing import Sequence, Tuple, Union

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
    ``neck.q.weight``, ...), and it reports its attention map to observers
    under the neck's name, as every attention block does.
    """

    def forward(
        self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]
    ) -> Union[torch.Tensor, Tuple[torch.Tensor]]:
        """Pool a backbone's last map (N, C, H, W).

        Args:
            inputs: The backbone's outputs (a tuple, of which the last is
                pooled) or one map.

        Returns:
            A one-tuple for a tuple input, the pooled tensor for a tensor:
            (N, C) with one class token, (N, T, C) with ``T``.

        Raises:
            ValueError: For an empty sequence of maps.
        """
        if isinstance(inputs, torch.Tensor):
            return super().forward(inputs)
        if len(inputs) == 0:
            raise ValueError('AttentionPoolNeck needs at least one feature '
                             'map, got an empty sequence')
        return (super().forward(inputs[-1]), )
