"""The classifier of PatchConvNet's multi-class-token model."""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmpretrain.models.heads import ClsHead
from torch import nn

from ...registry import MODELS
from ..checks import check_positive_int


@MODELS.register_module()
class MultiTokenClsHead(ClsHead):
    """Score class ``c`` from class token ``c`` alone.

    With one class token per class (``AttentionPoolNeck(num_tokens=
    num_classes)``, the official ``S60_multi``), the neck gives (N, T, C)
    features and the official model has one ``Linear(C, 1)`` per class. Here
    they are the rows of one ``fc`` (``head.fc.weight`` (T, C), as
    ``LinearClsHead``): ``score[n, c] = fc.weight[c] . x[n, c] +
    fc.bias[c]``.

    Args:
        num_classes: Classes, equal to the neck's class tokens.
        in_channels: Channels ``C`` of each token.
        init_cfg: mmengine init config. Default: normal init of ``fc``
            (std 0.01), as mmpretrain's ``LinearClsHead``.
        **kwargs: mmpretrain ``ClsHead`` arguments (``loss``, ``topk``,
            ``cal_acc``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 init_cfg: Optional[Union[dict, list]] = dict(
                     type='Normal', layer='Linear', std=0.01),
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg, **kwargs)
        check_positive_int('num_classes', num_classes)
        check_positive_int('in_channels', in_channels)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.fc = nn.Linear(in_channels, num_classes)

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """The last neck output, checked to be (N, num_classes, C)."""
        tokens = feats[-1]
        if tokens.dim() != 3 or tokens.shape[1:] != (self.num_classes,
                                                     self.in_channels):
            raise ValueError(
                f'MultiTokenClsHead(num_classes={self.num_classes}, '
                f'in_channels={self.in_channels}) needs one token per class, '
                f'(N, {self.num_classes}, {self.in_channels}), got shape '
                f'{tuple(tokens.shape)}: set the neck\'s num_tokens to '
                'num_classes')
        return tokens

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Class scores (N, num_classes)."""
        tokens = self.pre_logits(feats)
        return (tokens * self.fc.weight).sum(-1) + self.fc.bias
